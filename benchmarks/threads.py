"""Study throughput on a small CPU: one training process using every core against one
process per core, each pinned to one thread, side by side.

    python benchmarks/threads.py [--quick]

The study's narrow DanQ (``danq-cpu``) trains with ``fit`` on in-memory batches of random
one-hot sequences and labels (speed does not depend on the data) at the study's two batch
sizes. ``one process`` lets TensorFlow use all cores (its default: intra- and inter-op pools
as wide as the machine); ``N processes x 1 thread`` starts one process per core at once,
each with both pools at one thread, and sums their rates. The ratio between the two, measured
in one run, says whether a study trains faster as several single-thread runs at once.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from common import save

CHILD = r"""
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
threads, batch, steps, start_at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
import numpy as np, tensorflow as tf, keras
if threads:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
from danqrepro.models import build_model
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = np.eye(4, dtype="float32")[rng.integers(0, 4, (batch * 4, 1000))]
y = (rng.random((batch * 4, 919)) < 0.05).astype("float32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).repeat()
model = build_model("danq-cpu")
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
late = time.time() > start_at  # processes side by side start timing together
time.sleep(max(start_at - time.time(), 0))
start = time.perf_counter()
model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
seconds = time.perf_counter() - start
print(json.dumps({"samples_s": batch * steps / seconds, "seconds": seconds, "late": late}))
"""


WARM_UP_S = 40  # time to import TensorFlow, build and trace before the timed steps


def launch(threads: int, batch: int, steps: int, start_at: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(threads), str(batch), str(steps),
                             str(start_at)],
                            stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])


def rates(procs) -> list[float]:
    import json
    out = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    if any(o["late"] for o in out):
        raise RuntimeError(f"a process warmed up after the common start; raise WARM_UP_S ({WARM_UP_S})")
    return [o["samples_s"] for o in out]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count()
    rows = []
    for batch, steps in ((100, 20 if args.quick else 120), (1000, 3 if args.quick else 15)):
        for rnd in range(1 if args.quick else 2):
            one = rates([launch(0, batch, steps, time.time() + WARM_UP_S)])[0]
            start_at = time.time() + WARM_UP_S
            many = rates([launch(1, batch, steps, start_at) for _ in range(cores)])
            rows.append({"batch": batch, "round": rnd + 1, "one_process_samples_s": one,
                         "processes": cores, "per_process_samples_s": sum(many) / cores,
                         "all_processes_samples_s": sum(many), "ratio": sum(many) / one})
    save("threads", rows, {"cores": cores, "model": "danq-cpu"}, quick=args.quick)


if __name__ == "__main__":
    main()
