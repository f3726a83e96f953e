"""What ran where: package versions, git commit and hardware, recorded with every run."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("danqrepro", "tensorflow", "jax", "jaxlib", "torch", "keras", "numpy", "h5py", "scipy",
            "scikit-learn", "pyjaspar", "papermill", "jupyter-book")


def versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(path: str | os.PathLike | None = None,
               pathspecs: tuple[str, ...] = (".",)) -> dict[str, str | bool | None]:
    """The commit of the repository holding ``path`` (default: this package), and whether
    the files ``pathspecs`` name (relative to ``path``; default: all under it) differ
    from that commit."""
    cwd = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                     "--", *pathspecs],
                                    cwd=cwd, capture_output=True, text=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


# The modules a training run executes: their source, with the versions of the packages
# that compute, is a run's code fingerprint (equal fingerprints, equal computations).
TRAINING_MODULES = ("config.py", "train.py", "runs.py", "backend.py", "models.py", "dropout.py", "evaluate.py", "files.py",
                    "sequence.py", "data/__init__.py", "data/deepsea.py", "data/store.py",
                    "data/pipeline.py")
COMPUTING_PACKAGES = ("keras", "numpy", "scikit-learn")  # and the backend's (backend.versions)


def code_fingerprint() -> str:
    """sha256 of the training path's source (:data:`TRAINING_MODULES`), the Keras backend and
    the versions of :data:`COMPUTING_PACKAGES` and the backend's packages: two runs with the
    same fingerprint ran the same code."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in TRAINING_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    from . import backend
    found = versions()
    computing = {k: found.get(k) for k in COMPUTING_PACKAGES} | backend.versions()
    digest.update(json.dumps({"backend": backend.name(), **computing}, sort_keys=True).encode())
    return digest.hexdigest()


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
    from . import backend
    info["gpus"] = backend.gpus()
    return info


# Environment variables that change speed or rounding (see danqrepro.backend.prefer_onednn).
SETTINGS = ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS", "GLIBC_TUNABLES", "CUDA_VISIBLE_DEVICES")


def provenance() -> dict:
    return {"versions": versions(), "git": git_commit(), "code_fingerprint": code_fingerprint(),
            "hardware": hardware(), "settings": {name: os.environ.get(name) for name in SETTINGS}}
