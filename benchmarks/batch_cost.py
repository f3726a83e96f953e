"""C4 on one machine: what an epoch of the study's model costs at the small and at the large
batch, timed side by side.

    python benchmarks/batch_cost.py [--quick] [--rounds 3] [--samples 20000] [--threads N]

The study's run records cannot answer C4 alone: a run's epochs took whatever the machine of
its session gave (the records name the CPU family, not its speed), so seconds pooled over
runs compare machines. Here one process trains the study's model (the ``cpu`` preset's
``danq-cpu``, random dropout, Adam) through the project's runner (:func:`fit_epoch`: batches
streamed from the preset's store, the dropout callback), at the small and the large batch
in turn, round after round, so that drift of the machine shows between rounds. Each timed
call trains ``samples`` samples after a warm-up call that traces the step; a 40,000-sample
epoch's seconds are scaled from it. The load average before each call is kept: another
process on the machine (a study training) would show there.

The book's C4 multiplies these seconds per epoch by the epochs each arm ran to its stop or
to a common validation loss (counts that do not depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import save  # noqa: E402  (puts the checkout on sys.path)

from danqrepro import backend

EPOCH = 40_000  # the study's training set: the paper's subset size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke preset, one round, few samples")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20_000, help="samples per timed call")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    args = parser.parse_args()
    threads = args.threads or os.cpu_count() or 1
    backend.set_threads(threads)

    import numpy as np

    from danqrepro.data import resolve_store
    from danqrepro.data.pipeline import subset_indices
    from danqrepro.replication import experiments
    from danqrepro.replication.presets import get_preset
    from danqrepro.train import TrainConfig, fit_epoch, prepare_model

    preset = get_preset("smoke" if args.quick else "cpu")
    rounds, samples = (1, 2 * preset.large_batch) if args.quick else (args.rounds, args.samples)
    store = resolve_store(experiments.data_path(preset))
    split = store.split("train")
    batches = (preset.small_batch, preset.large_batch)
    runner = {}
    for b in batches:
        config = TrainConfig(dropout="random", seed=0, **preset.recipe(data=str(store.path), batch=b))
        model, callbacks = prepare_model(config, store)
        fit_epoch(model, callbacks, config, split, subset_indices(split.n, 2 * b, 0), 0)  # traces the step
        runner[b] = (config, model, callbacks)
    rows, epoch = [], iter(range(1, 10_000))
    for r in range(rounds):
        for b in batches:
            config, model, callbacks = runner[b]
            indices = subset_indices(split.n, min(samples, split.n), r)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            fit_epoch(model, callbacks, config, split, indices, next(epoch))
            seconds = time.perf_counter() - start
            rows.append({"round": r, "batch": b, "samples": int(indices.size), "seconds": seconds,
                         "s_per_epoch": seconds * EPOCH / indices.size, "load_before": load})
    per_epoch = {b: statistics.median(x["s_per_epoch"] for x in rows if x["batch"] == b) for b in batches}
    ratios = [np.divide(*[x["s_per_epoch"] for x in rows if x["round"] == r]) for r in range(rounds)]
    summary = {"model": preset.model, "preset": preset.name, "threads": threads,
               "small_batch": batches[0], "large_batch": batches[1],
               "s_per_epoch": {str(b): v for b, v in per_epoch.items()},
               "epoch_time_ratio": statistics.median(float(x) for x in ratios),
               "epoch_time_ratio_rounds": [float(x) for x in ratios],
               "max_load_before": max(x["load_before"] for x in rows)}
    save("batch_cost", rows, {"summary": summary}, quick=args.quick)
    print(f"small over large batch, seconds per epoch: {summary['epoch_time_ratio']:.2f} "
          f"(rounds: {', '.join(f'{x:.2f}' for x in summary['epoch_time_ratio_rounds'])})")


if __name__ == "__main__":
    main()
