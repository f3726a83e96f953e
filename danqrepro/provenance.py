"""What ran where: package versions, git commit and hardware, recorded with every run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("danqrepro", "tensorflow", "keras", "numpy", "h5py", "scipy", "scikit-learn",
            "pyjaspar", "papermill", "jupyter-book", "torch")


def versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(path: str | os.PathLike | None = None) -> dict[str, str | bool | None]:
    """The commit of the repository holding this package, and whether its code differs
    from that commit."""
    cwd = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()
        # Only what defines a computation counts; outputs (book/, runs/) change as it runs.
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                     "--", ":/danqrepro", ":/notebooks", ":/pyproject.toml",
                                     ":/benchmarks", ":(top,exclude)benchmarks/results"],
                                    cwd=cwd, capture_output=True, text=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def hardware() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"machine": platform.machine(), "system": platform.system(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "gpus": []}
    try:
        import psutil
        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        import tensorflow as tf
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            info["gpus"].append(details.get("device_name", gpu.name))
    except Exception:  # no TF or no driver: a CPU machine
        pass
    return info


# Environment variables that change speed or rounding (see danqrepro/__init__.py).
SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "GLIBC_TUNABLES", "CUDA_VISIBLE_DEVICES")


def provenance() -> dict:
    return {"versions": versions(), "git": git_commit(), "hardware": hardware(),
            "settings": {name: os.environ.get(name) for name in SETTINGS}}
