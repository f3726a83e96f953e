"""Training throughput and model-FLOPs utilisation (MFU) of DanQ: the project's runner
beside a plain in-memory Keras fit and a PyTorch DanQ, in one run.

    python benchmarks/training.py [--quick] [--rounds N]

Variants, each in its own process (op determinism and the allocator are per process),
taken in turn round after round so that drift of the machine shows between rounds:

- ``keras-plain``: ``model.fit(x, y)`` on float32 arrays in memory, with TensorFlow's
  own default for its oneDNN kernels on this CPU (on only with AVX512-VNNI or newer).
- ``keras-plain-onednn``: the same with oneDNN on, as danqrepro sets it.
- ``keras-runner``: :func:`danqrepro.train.fit_epoch`, what ``danqrepro train`` runs:
  batches streamed from the store and decoded in the tf.data graph, op determinism on,
  random dropout redrawn by the callback. The same process drains the pipeline alone.
- ``torch`` and ``torch-tuned``: ``benchmarks/torch_danq.py`` with glibc's default
  allocator, and with the allocator told to keep its large buffers
  (``GLIBC_TUNABLES``, below); skipped when PyTorch is not installed.

Every process first measures the fp32 matmul peak (best of 2048 and 4096 square
matmuls in TensorFlow under its settings; PyTorch's own too in its processes). For each
batch size it runs one warm-up call (tracing), then a timed call of ``steps`` steps:
``samples_s`` is samples over the wall time of that call (what an epoch costs),
``step_samples_s`` the batch over the median step. MFU is ``samples_s`` times DanQ's
training FLOPs per sample (:func:`danqrepro.models.flops_per_sample`) over the highest
peak measured in the run. The runner process also times whole epochs of ``danq-small``
at several training-set sizes and batch sizes (how the cost grows).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save

TUNED_MALLOC = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"

def _tensorflow_default_onednn() -> str:
    """TensorFlow turns oneDNN on by itself on x86 CPUs with these (AVX512-VNNI or newer)."""
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    return "1" if {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile"} & set(flags) else "0"


VARIANTS = {"keras-plain": {"TF_ENABLE_ONEDNN_OPTS": _tensorflow_default_onednn()},
            "keras-plain-onednn": {"TF_ENABLE_ONEDNN_OPTS": "1"},
            "keras-runner": {"TF_ENABLE_ONEDNN_OPTS": None},  # what danqrepro sets
            "torch": {}, "torch-tuned": {"GLIBC_TUNABLES": TUNED_MALLOC}}


def matmul_peak_gflops(sizes=(2048, 4096), reps: int = 5, framework: str = "tensorflow") -> float:
    """Best fp32 square-matmul rate over ``sizes`` and ``reps`` tries, in GFLOP/s."""
    import numpy as np

    rng = np.random.default_rng(0)
    best = 0.0
    for n in sizes:
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        if framework == "torch":
            import torch
            a, b = torch.from_numpy(a), torch.from_numpy(b)
            matmul = torch.matmul
        else:
            import tensorflow as tf
            a, b = tf.constant(a), tf.constant(b)
            tf_matmul = tf.function(tf.matmul)

            def matmul(a, b):
                return tf_matmul(a, b).numpy()
        matmul(a, b)
        for _ in range(reps):
            start = time.perf_counter()
            matmul(a, b)
            best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def _step_clock():
    """A Keras callback that records each training step's duration in ``.steps``."""
    import keras

    class StepClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.steps.append(time.perf_counter() - self.start)

    return StepClock()


def _measure(fit, batch: int, steps: int) -> dict:
    """Time ``fit(n_steps)`` (which returns its step durations) after a one-step warm-up."""
    fit(1)
    start = time.perf_counter()
    durations = fit(steps)
    wall = time.perf_counter() - start
    return {"samples_s": batch * steps / wall, "step_samples_s": batch / statistics.median(durations),
            "wall_s": wall, "steps": steps}


def keras_worker(variant: str, batches: list[int], steps: dict, growth: dict | None) -> dict:
    import keras
    import numpy as np

    from danqrepro.data import SyntheticSpec, synthetic_store
    from danqrepro.models import build_model, flops_per_sample
    from danqrepro.train import TrainConfig, fit_epoch, prepare_model

    store = synthetic_store(SyntheticSpec(n_train=20_000), progress=False)
    split = store.split("train")
    peak = matmul_peak_gflops()
    rows = []
    if variant.startswith("keras-plain"):
        keras.utils.set_random_seed(0)
        model = build_model("danq", store.seq_len, store.n_targets, seed=0)
        model.compile(keras.optimizers.RMSprop(1e-3, rho=0.9), "binary_crossentropy")
        n = max(b * steps[b] for b in batches)
        x, y = (a.astype(np.float32) for a in split.read(0, n))  # one-hot (n, length, 4), labels
        for b in batches:
            def fit(n_steps, b=b):
                clock = _step_clock()
                model.fit(x[:b * n_steps], y[:b * n_steps], batch_size=b, verbose=0, callbacks=[clock])
                return clock.steps
            rows.append({"batch": b, **_measure(fit, b, steps[b])})
    else:
        from danqrepro.data.pipeline import train_dataset

        config = TrainConfig(data=str(store.path), model="danq", dropout="random")
        model, callbacks = prepare_model(config, store)
        epoch = iter(range(10_000))
        for b in batches:
            run = dataclasses.replace(config, batch=b)
            indices = np.arange(b * steps[b])

            def fit(n_steps, b=b, run=run, indices=indices):
                clock = _step_clock()
                fit_epoch(model, [*callbacks, clock], run, split, indices[:b * n_steps], next(epoch))
                return clock.steps

            row = {"batch": b, **_measure(fit, b, steps[b])}
            start, drained = time.perf_counter(), 0
            for x, _ in train_dataset(split, np.arange(split.n), b, seed=0, epoch=0):
                drained += int(x.shape[0])
            row["pipeline_samples_s"] = drained / (time.perf_counter() - start)
            rows.append(row)
    flops = flops_per_sample(model)
    result = {"rows": rows, "peak_gflops": peak, "flops_per_sample": flops}
    if growth:
        result["growth"] = _growth(store, **growth)
    return result


def _growth(store, sizes: list[int], batches: list[int]) -> list[dict]:
    """Wall time of one training epoch of danq-small through the runner, per size and batch
    (after a warm-up epoch at each batch size, which traces the step)."""
    from danqrepro.data.pipeline import subset_indices
    from danqrepro.train import TrainConfig, fit_epoch, prepare_model

    split = store.split("train")
    rows = []
    for b in batches:
        config = TrainConfig(data=str(store.path), model="danq-small", dropout="random", batch=b)
        model, callbacks = prepare_model(config, store)
        fit_epoch(model, callbacks, config, split, subset_indices(split.n, 2 * b, 0), 0)
        for epoch, n in enumerate(sizes, start=1):
            start = time.perf_counter()
            fit_epoch(model, callbacks, config, split, subset_indices(split.n, n, 0), epoch)
            rows.append({"model": "danq-small", "batch": b, "n_train": n,
                         "epoch_s": time.perf_counter() - start})
    return rows


def torch_worker(batches: list[int], steps: dict) -> dict:
    import torch
    from torch_danq import training_step

    torch.set_num_threads(os.cpu_count())
    peak = matmul_peak_gflops()
    rows = []
    for b in batches:
        step, n_params = training_step(b)

        def fit(n_steps, step=step):
            durations = []
            for _ in range(n_steps):
                start = time.perf_counter()
                step()
                durations.append(time.perf_counter() - start)
            return durations

        rows.append({"batch": b, **_measure(fit, b, steps[b])})
    return {"rows": rows, "peak_gflops": peak, "parameters": n_params,
            "torch": torch.__version__, "torch_peak_gflops": matmul_peak_gflops(framework="torch")}


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, one round, small growth")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # one variant in this process; the spec and result travel as JSON files
        spec = json.loads(Path(args.spec).read_text())
        steps = {int(k): v for k, v in spec["steps"].items()}
        if args.worker.startswith("torch"):
            result = torch_worker(spec["batches"], steps)
        else:
            result = keras_worker(args.worker, spec["batches"], steps, spec.get("growth"))
        Path(spec["out"]).write_text(json.dumps(result))
        return

    batches = [100, 1000]
    steps = {100: 3, 1000: 1} if args.quick else {100: 12, 1000: 4}
    rounds = args.rounds or (1 if args.quick else 2)
    growth = ({"sizes": [1000, 2000], "batches": [1000]} if args.quick else
              {"sizes": [1000, 2000, 4000, 8000], "batches": [100, 250, 500, 1000]})
    variants = [v for v in VARIANTS if not v.startswith("torch") or _torch_available()]
    rows, peaks, extra = [], [], {"growth": [], "skipped": sorted(set(VARIANTS) - set(variants))}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for variant in variants:
                out = Path(tmp) / f"{variant}-{r}.json"
                spec = {"batches": batches, "steps": steps, "out": str(out),
                        "growth": growth if variant == "keras-runner" and r == 0 else None}
                spec_path = out.with_suffix(".spec")
                spec_path.write_text(json.dumps(spec))
                env = {k: v for k, v in {**os.environ, **VARIANTS[variant]}.items() if v is not None}
                print(f"round {r + 1}/{rounds}: {variant}", flush=True)
                subprocess.run([sys.executable, __file__, "--worker", variant, "--spec", str(spec_path)],
                               check=True, env=env)
                result = json.loads(out.read_text())
                peaks.append(result["peak_gflops"])
                extra["growth"] += result.get("growth", [])
                if "flops_per_sample" in result:
                    extra["flops_per_sample"] = result["flops_per_sample"]
                if "parameters" in result:
                    extra["torch_parameters"], extra["torch"] = result["parameters"], result["torch"]
                rows += [{"round": r + 1, "variant": variant, "peak_gflops": result["peak_gflops"],
                          "torch_peak_gflops": result.get("torch_peak_gflops"), **row}
                         for row in result["rows"]]
    peak = max(peaks)
    for row in rows:
        row["mfu"] = row["samples_s"] * extra["flops_per_sample"] / (peak * 1e9)
    summary = {}
    for b in batches:
        best = {v: statistics.median(r["samples_s"] for r in rows if r["variant"] == v and r["batch"] == b)
                for v in variants}
        runner = best["keras-runner"]
        summary[str(b)] = {"samples_s": best, "mfu": runner * extra["flops_per_sample"] / (peak * 1e9),
                           **{f"runner_over_{v}": runner / best[v] for v in variants if v != "keras-runner"}}
    extra.update(peak_gflops=peak, summary=summary, steps=steps, rounds=rounds)
    save("training", rows, extra, quick=args.quick)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
