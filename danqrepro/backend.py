"""What differs between Keras backends, in one place: determinism, distribution over
devices, XLA compilation, the devices present, and the versions that compute.

TensorFlow is the default backend and the book's; JAX and PyTorch run the same model code
(``KERAS_BACKEND=jax`` or ``torch`` before Keras is imported). Nothing here imports a
backend that is not the one Keras runs on.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os


def prefer_onednn() -> None:
    """Ask TensorFlow for its oneDNN CPU kernels before it loads. It turns them on by itself
    only on CPUs with AVX512-VNNI or newer; elsewhere they train DanQ about 1.5x faster than
    the Eigen kernels (benchmarks/training.py). An explicit setting (0 or 1) is kept. Called
    by the entry points that train (the CLI, a chapter, a Ray worker), never on import."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def name() -> str:
    """The Keras backend in use: ``"tensorflow"``, ``"jax"`` or ``"torch"``."""
    import keras
    return keras.backend.backend()


def versions() -> dict[str, str | None]:
    """The backend's package versions (the backend, and jaxlib beside jax)."""
    packages = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}
    out = {}
    for package in packages.get(name(), ()):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def set_determinism() -> None:
    """Make the backend's kernels deterministic, so that a seed fixes a run on one machine.

    TensorFlow: op determinism (process-wide; it stays on). JAX: deterministic on CPU; on a
    GPU, XLA's deterministic ops must be asked for before JAX starts (``XLA_FLAGS``), which
    :func:`is_deterministic` reports. PyTorch: ``use_deterministic_algorithms``."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def is_deterministic() -> bool:
    """Whether the backend's kernels are deterministic now."""
    backend = name()
    if backend == "tensorflow":
        from tensorflow.python.framework.config import is_op_determinism_enabled
        return bool(is_op_determinism_enabled())
    if backend == "jax":
        return not gpus() or "--xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", "")
    import torch
    return bool(torch.are_deterministic_algorithms_enabled())


def set_threads(n: int) -> None:
    """Pin the backend's CPU threads to ``n``, in a process where it has not run yet.

    TensorFlow: intra- and inter-op threads (it refuses once started: a ValueError names
    why). PyTorch: ``torch.set_num_threads``. JAX: XLA's CPU client takes its thread pool
    from the cores it may use, so a pinned run relies on Ray's CPU affinity (or on
    ``taskset``) rather than on a setting."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError as err:
            if threads() != n:
                raise ValueError(f"threads={n}: TensorFlow has started with {threads()} threads "
                                 "in this process; pin threads in a fresh process") from err
    elif backend == "torch":
        import torch
        torch.set_num_threads(n)


def threads() -> int:
    """The CPU threads the backend computes with (all cores where it was not pinned)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1
    if backend == "torch":
        import torch
        return torch.get_num_threads()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def jit_compile(requested: bool) -> bool:
    """What ``model.compile(jit_compile=...)`` gets: on TensorFlow the config's choice (off
    by default: DanQ keeps the cuDNN LSTM); on JAX always (uncompiled, JAX runs DanQ op by
    op, about 20x slower); on PyTorch never (``torch.compile`` costs more than it saves on
    runs of this length)."""
    return {"tensorflow": requested, "jax": True}.get(name(), False)


def distribution(distribute: bool):
    """A context in which to build and compile a model: all GPUs of the machine when
    ``distribute`` (TensorFlow's MirroredStrategy; JAX's ``DataParallel``), else one
    device. PyTorch has no such strategy in Keras: asking for one is an error."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf
        return (tf.distribute.MirroredStrategy() if distribute else tf.distribute.get_strategy()).scope()
    if distribute and backend == "jax":
        import keras
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    elif distribute:
        raise ValueError(f"distribute=True: the {backend} backend has no data-parallel "
                         "strategy in Keras; train on one GPU, or use the tensorflow or jax backend")
    return contextlib.nullcontext()


def replicas(model, distribute: bool) -> int:
    """How many devices share each batch."""
    backend = name()
    if backend == "tensorflow":
        return int(model.distribute_strategy.num_replicas_in_sync)
    if backend == "jax" and distribute:
        import keras
        return len(keras.distribution.distribution().device_mesh.devices.flatten())
    return 1


def gpus() -> list[str]:
    """The names of the GPUs the backend sees (empty on a CPU machine)."""
    backend = name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf
            return [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                    for g in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax
            return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        import torch
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # no driver: a CPU machine
        return []
