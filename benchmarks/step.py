"""The small models' train step on CPU, four ways, side by side in one run: TensorFlow as
the study trains (op determinism, the LSTM as a loop), the LSTM unrolled over its steps,
XLA (``jit_compile``, which needs op determinism off), and the JAX backend (always XLA).

Each variant runs in a fresh process (the backend and determinism are process-wide) on
random one-hot inputs, for ``--steps`` timed steps after three warm-up steps; the variants
take turns ``--rounds`` times so that a slow moment of the machine falls on all of them.
Writes ``benchmarks/results/step.json``: seconds per step (the best round) and speedups
over the first variant.

    python benchmarks/step.py [--model danq-cpu] [--batches 100 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from common import save

VARIANTS = {  # name: (KERAS_BACKEND, unroll, jit_compile, deterministic)
    "tensorflow": ("tensorflow", False, False, True),
    "tensorflow, unrolled": ("tensorflow", True, False, True),
    "tensorflow, XLA": ("tensorflow", False, True, False),
    "jax": ("jax", False, True, True),
}

PROBE = """
import json, sys, time
import numpy as np
import keras
from danqrepro import backend
from danqrepro.models import build_model
model_name, batch, steps, unroll, jit, deterministic = {args}
if deterministic:
    backend.set_determinism()
keras.utils.set_random_seed(0)
model = build_model(model_name, 1000, 919, seed=0, unroll=unroll)
model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy",
              jit_compile=backend.jit_compile(jit))
rng = np.random.default_rng(0)
x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (batch, 1000))]
y = (rng.random((batch, 919)) < 0.05).astype(np.float32)
for _ in range(3):
    model.train_on_batch(x, y)
started = time.perf_counter()
for _ in range(steps):
    loss = model.train_on_batch(x, y)
print(json.dumps({{"seconds_per_step": (time.perf_counter() - started) / steps,
                  "jit_compile": bool(model.jit_compile)}}))
"""


def time_variant(variant: str, model: str, batch: int, steps: int) -> dict:
    backend, unroll, jit, deterministic = VARIANTS[variant]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "TF_ENABLE_ONEDNN_OPTS": "1"}
    code = PROBE.format(args=repr((model, batch, steps, unroll, jit, deterministic)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="danq-cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round of few steps")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    rows = []
    for batch in args.batches:
        steps = (3 if args.quick else 20) if batch >= 1000 else (5 if args.quick else 40)
        times = {v: [] for v in VARIANTS}
        for _ in range(rounds):
            for variant in VARIANTS:
                times[variant].append(time_variant(variant, args.model, batch, steps)["seconds_per_step"])
        base = min(times["tensorflow"])
        for variant, t in times.items():
            rows.append({"model": args.model, "batch": batch, "variant": variant, "steps": steps,
                         "rounds": rounds, "seconds_per_step": min(t), "all_rounds": t,
                         "speedup_over_tensorflow": base / min(t)})
            print(json.dumps(rows[-1]), flush=True)
    save("step", rows, quick=args.quick)


if __name__ == "__main__":
    main()
