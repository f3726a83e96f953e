"""Finished runs per hour of a study on this machine, four ways side by side: one run after
another (today's `danqrepro study`), two Ray workers of one thread each (`--workers 2`), the
faster step (the LSTM unrolled), and both.

The runs are a fixed set of `cpu`-preset dropout runs (danq-cpu, both arms, batches 100 and
1000, seed 100: not a study seed) cut to ``--max-epochs`` epochs; each way trains
them into a fresh run cache in a fresh process. Also measures Ray's start-up seconds and the
memory of its processes. Writes ``benchmarks/results/study_throughput.json``.

    python benchmarks/study_throughput.py [--max-epochs 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import save

ROOT = Path(__file__).resolve().parents[1]
WAYS = {"one after another": (1, False), "2 workers": (2, False), "unrolled LSTM": (1, True),
        "2 workers, unrolled": (2, True)}

DRIVER = """
import json, sys, time
from dataclasses import replace
from danqrepro.executor import train_many
from danqrepro.replication import experiments
from danqrepro.replication.presets import get_preset
from danqrepro.runcache import RunCache
root, workers, unroll, max_epochs, n_train, seeds = json.loads(sys.argv[1])
p = get_preset("cpu")
data = experiments.data_path(p)
configs = [replace(c, max_epochs=max_epochs, patience=max_epochs, unroll=unroll, n_train=n_train)
           for batch in (p.small_batch, p.large_batch)
           for c in experiments.dropout_arms(p, data, batch, len(seeds), len(seeds), first_seed=seeds[0])]
started = time.perf_counter()
records = train_many(RunCache(root), configs, workers=workers, threads=1 if workers > 1 else None, log=None)
print(json.dumps({"seconds": time.perf_counter() - started, "runs": len(records),
                  "losses": [[e["loss"] for e in r["epochs"]] for r in records]}))
"""

RAY_PROBE = """
import json, time, psutil, ray
started = time.perf_counter()
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
startup = time.perf_counter() - started
ray.get(ray.remote(lambda: 1).remote())
me = psutil.Process()
def ray_rss(p):
    try:
        return p.memory_info().rss if "ray" in " ".join(p.cmdline() or []) and p.pid != me.pid else 0
    except psutil.Error:  # ended, or not ours to read
        return 0
rss = sum(ray_rss(p) for p in psutil.process_iter()) / 2**20
ray.shutdown()
print(json.dumps({"startup_seconds": startup, "ray_processes_rss_mib": rss}))
"""


def child(code: str, *args: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "1",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=None, help="training subset (default: the preset's)")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 4,000 samples")
    args = parser.parse_args(argv)
    max_epochs, n_train = (1, 4000) if args.quick else (args.max_epochs, args.n_train)
    rows, baseline, losses = [], None, {}
    for way, (workers, unroll) in WAYS.items():
        root = tempfile.mkdtemp(prefix="danqrepro-throughput-")
        r = child(DRIVER, json.dumps([root, workers, unroll, max_epochs, n_train, [100]]))
        runs_per_hour = r["runs"] / (r["seconds"] / 3600)
        baseline = baseline or runs_per_hour
        losses[way] = r["losses"]
        rows.append({"way": way, "workers": workers, "unrolled": unroll, "runs": r["runs"],
                     "epochs_per_run": max_epochs, "seconds": round(r["seconds"], 1),
                     "runs_per_hour": round(runs_per_hour, 2),
                     "over_one_after_another": round(runs_per_hour / baseline, 3)})
        print(json.dumps(rows[-1]), flush=True)
    # what the faster step changes in the numbers: the largest relative loss difference
    unrolled = max(abs(a - b) / abs(a) for ra, rb in zip(losses["one after another"], losses["unrolled LSTM"])
                   for a, b in zip(ra, rb))
    workers_diff = max(abs(a - b) / abs(a) for ra, rb in zip(losses["one after another"], losses["2 workers"])
                       for a, b in zip(ra, rb))
    ray = child(RAY_PROBE)
    save("study_throughput", rows, {"ray": ray, "max_relative_loss_difference": {
        "unrolled vs loop": unrolled, "2 one-thread workers vs one run on all cores": workers_diff},
        "cores": os.cpu_count()}, quick=args.quick)


if __name__ == "__main__":
    main()
