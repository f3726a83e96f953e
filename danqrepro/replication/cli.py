"""``danqrepro study``: the replication's subcommand, added to the toolkit's CLI through
the ``danqrepro.commands`` entry point (the toolkit never imports this package)."""

from __future__ import annotations

from pathlib import Path


def add_study(sub) -> None:
    p = sub.add_parser("study", help="train (or reuse) every run of a preset's study, "
                                     "positive controls first")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--data", default=None, help="store or bundle (default: the preset's synthetic)")
    p.add_argument("--runs", default=None, help="run cache (default: runs/ of the checkout)")
    p.add_argument("--limit", type=int, default=None, help="only the first N runs")
    p.add_argument("--verbose", type=int, default=2, help="Keras progress: 0, 1 or 2")
    p.add_argument("--status", action="store_true",
                   help="print where each run stands (finished, censored, AUC, hours, the worker "
                        "training it) and exit")
    p.add_argument("--workers", type=int, default=1,
                   help="runs at once on a local Ray instance started for the command (1: one "
                        "after another, no Ray)")
    p.add_argument("--address", default=None,
                   help="HOST:PORT of a running Ray cluster to send the runs to (or RAY_ADDRESS)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per run on Ray (default: the cores shared among --workers)")
    p.add_argument("--gpus-per-run", type=float, default=0,
                   help="GPUs per run on Ray; fractions let small runs share one")
    p.set_defaults(func=study_command)


def study_command(args) -> None:
    """The registered study (:mod:`danqrepro.replication.plan`): first the learning-rate
    rule's grid, then, at the rates it chose, the study's runs."""
    from ..runcache import RunCache
    from . import experiments, project, study
    from .presets import get_preset
    preset = get_preset(args.preset)
    experiments.check_parameters(args.data)
    data = experiments.data_path(preset, args.data)
    cache = RunCache(Path(args.runs) if args.runs else project.runs_dir())
    grid = experiments.learning_rate_grid(preset, data)
    if args.status:
        rates = experiments.chosen_learning_rates(grid, cache.records(grid))
        runs = experiments.registered_study(preset, data, rates) if rates else []
        print(status_report(grid, runs, rates, cache))
        return
    from ..executor import train_many
    options = dict(workers=args.workers, address=args.address, threads=args.threads,
                   gpus_per_run=args.gpus_per_run, verbose=args.verbose)
    rates = experiments.chosen_learning_rates(grid, train_many(cache, grid, **options))
    print("learning rates by the plan's rule: "
          + ", ".join(f"batch {b}: {r:g}" for b, r in sorted(rates.items())))
    records = train_many(cache, experiments.registered_study(preset, data, rates)[:args.limit],
                         **options)
    print(study.table(records).to_string(index=False))


def status_report(grid, runs, rates: dict[int, float] | None, cache) -> str:
    """Where each run stands (the learning-rate grid, then the study), then one paragraph:
    the rates chosen, runs finished and censored, the study arms' AUC, hours spent and left."""
    from . import study
    table = study.progress(grid + runs, cache)
    done = table[table.state == "finished"]
    arms = table.iloc[len(grid):]
    arms_done = arms[arms.state == "finished"]
    arms_line = (f", {int(arms_done.censored.sum())} censored ({arms_done.censored.mean():.0%}), "
                 f"mean test ROC AUC {arms_done.test_roc_mean.mean():.4f}" if len(arms_done) else "")
    rates_line = ("Learning rates by the plan's rule: "
                  + ", ".join(f"batch {b}: {r:g}" for b, r in sorted(rates.items())) if rates else
                  "The learning-rate grid has not finished: the study's runs are not fixed yet")
    return (table.to_string(index=False)
            + f"\n\n{rates_line}. {len(done)} of {len(table)} runs finished, "
            f"{int(done.censored.sum())} at the epoch cap (the grid's by design). "
            f"Study: {len(arms_done)} of {len(arms)} finished{arms_line}. "
            f"{table.wall_seconds.sum() / 3600:.2f} h of training so far, about "
            f"{study.hours_left(table):.1f} h left (each unfinished run at the mean of its "
            "finished peers)")
