"""`danqrepro train` itself on the Keras backends a machine has (JAX, PyTorch; TensorFlow
where installed): DanQ and danq-cpu at batches 100 and 1000, a few epochs each, timed by the
runner's own records. Writes one JSON the performance chapter reads.

Made for a GPU machine that has PyTorch and JAX but no TensorFlow and no network:
``benchmarks/gpu/run.sh`` installs the carried wheels (keras, optree, namex), makes a small
store if none was carried, and calls this script with the repository on ``PYTHONPATH``
(pyproject pins TensorFlow, so the project itself is not installed there). Each run is its
own process (the backend is chosen when Keras loads), as a user would run it.

    python benchmarks/gpu/backends.py --store STORE --out results.json [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = ("jax", "torch", "tensorflow")
SHAPES = [("danq", 100), ("danq", 1000), ("danq-cpu", 100), ("danq-cpu", 1000)]


def available(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def train_one(store: str, backend: str, model: str, batch: int, n_train: int, epochs: int,
              runs: Path) -> dict:
    """One `danqrepro train` in its own process; the epoch times from its run record."""
    out = runs / f"{backend}-{model}-b{batch}"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "danqrepro.cli", "train", "--data", store, "--model", model,
               "--batch", str(batch), "--n-train", str(n_train), "--max-epochs", str(epochs),
               "--patience", str(epochs), "--no-evaluate", "--nondeterministic", "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    row = {"backend": backend, "model": model, "batch": batch, "n_train": n_train,
           "wall_seconds": round(time.perf_counter() - started, 2), "returncode": done.returncode}
    if done.returncode:
        return row | {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"}
    record = json.loads((out / "run.json").read_text())
    epochs_run = record["epochs"]
    row.update(execution=record["execution"], parameters=record["model"]["parameters"],
               gpus=record["provenance"]["hardware"]["gpus"],
               versions={k: v for k, v in record["provenance"]["versions"].items()
                         if k in ("keras", "jax", "jaxlib", "torch", "tensorflow") and v},
               # the first epoch carries the compilation; the last is the steady state
               first_epoch_seconds=epochs_run[0]["train_seconds"],
               epoch_seconds=epochs_run[-1]["train_seconds"],
               samples_per_second=epochs_run[-1]["samples_per_second"],
               validation_seconds=round(epochs_run[-1]["seconds"] - epochs_run[-1]["train_seconds"], 3))
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--n-train", type=int, default=8000, help="training samples per epoch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="danq-cpu only, 512 samples, 2 epochs: to try the script on a CPU")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    args = parser.parse_args(argv)
    shapes = [s for s in SHAPES if s[0] == "danq-cpu"] if args.quick else SHAPES
    n_train = 512 if args.quick else args.n_train
    rows, runs = [], Path(tempfile.mkdtemp(prefix="danqrepro-backends-"))
    for backend in args.backends:
        if not available(backend):
            rows.append({"backend": backend, "skipped": "not installed"})
            continue
        for model, batch in shapes:
            row = train_one(args.store, backend, model, batch, n_train, args.epochs, runs)
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {"machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                          "cpu_count": os.cpu_count()},
              "n_train": n_train, "epochs": args.epochs, "quick": args.quick, "runs": rows}
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
