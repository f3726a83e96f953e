"""``danqrepro study``: the replication's subcommand, added to the toolkit's CLI through
the ``danqrepro.commands`` entry point (the toolkit never imports this package)."""

from __future__ import annotations

from pathlib import Path


def add_study(sub) -> None:
    p = sub.add_parser("study", help="train (or reuse) every run of the registered study: "
                                     "the learning-rate grids, then every phase seed by seed")
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
    """The registered study (:func:`experiments.study_runs`): the learning-rate grids, then
    the runs at the rates they chose; ``--limit N`` trains the first N runs."""
    from ..runcache import RunCache
    from ..runs import TERMINAL
    from . import experiments, project, study
    from .presets import get_preset
    preset = get_preset(args.preset)
    experiments.check_parameters(args.data)
    cache = RunCache(Path(args.runs) if args.runs else project.runs_dir())
    if args.status:  # from the records alone: no data generated or opened
        print(status_report(experiments.registered(preset, cache, args.data), cache))
        return
    data = experiments.data_path(preset, args.data)
    c1_data = experiments.order_data_path(preset)
    from ..executor import train_many
    budget = [args.limit]
    # runs left under way by an interrupted call resume first, in the first call, before
    # any phase starts new ones
    found = experiments.registered(preset, cache, args.data)
    resume = [c for c, r in zip(found["configs"], found["records"]) if r and r["status"] not in TERMINAL]

    def train(configs):
        """Train the configs within the limit; the records (None for those beyond it)."""
        listed = resume + configs
        resume.clear()
        now = listed if budget[0] is None else listed[:budget[0]]
        if budget[0] is not None:
            budget[0] = max(0, budget[0] - len(listed))
        records = train_many(cache, now, workers=args.workers, address=args.address,
                             threads=args.threads, gpus_per_run=args.gpus_per_run,
                             verbose=args.verbose) if now else []
        return (records + [None] * (len(listed) - len(now)))[len(listed) - len(configs):]

    from .order import score_missing
    runs = experiments.study_runs(preset, data, c1_data, train,
                                  after_c1=lambda configs: score_missing(cache, configs),
                                  real_data=lambda tf: experiments.real_data_path(preset, tf))
    print(_rates_line(runs))
    records = [r for r in cache.records(runs["configs"]) if r]
    print(study.table(records).to_string(index=False))


def _rates_line(runs: dict) -> str:
    parts = [f"batch {b}: {r:g}" for b, r in sorted((runs["rates"] or {}).items())]
    parts += [f"{m}: {r:g}" for m, r in sorted((runs["c1_rates"] or {}).items())]
    parts += [f"real {m}: {r:g}" for m, r in sorted((runs.get("real_c1_rates") or {}).items())]
    parts += [f"real batch {b}: {r:g}" for b, r in sorted((runs.get("real_rates") or {}).items())]
    return ("Learning rates by the plan's rule: " + ", ".join(parts) if parts else
            "No learning-rate grid has finished: the study's runs are not fixed yet")


def status_report(runs: dict, cache) -> str:
    """Where each run of :func:`experiments.study_runs` stands, then one paragraph: the
    rates chosen, runs finished per phase, the dropout arms' AUC, hours spent and left."""
    import pandas as pd

    from . import study
    table = study.progress(runs["configs"], cache, records_only=True)
    phase = [name for name, configs in runs["phases"].items() for _ in configs]
    table.insert(0, "phase", phase)
    finished = table.state == "finished"
    once = table[~pd.Series(list(map(repr, runs["configs"]))).duplicated().to_numpy()]  # shared runs once
    counts = "; ".join(f"{name} {int(done.sum())} of {len(done)}"
                       for name, done in finished.groupby(table.phase, sort=False))
    arms = table[finished & (table.phase == "dropout arms")]
    arms_line = (f" The dropout arms' finished runs: {int(arms.censored.sum())} at the epoch cap, "
                 f"mean test ROC AUC {arms.test_roc_mean.mean():.4f}." if len(arms) else "")
    left, unpriced = study.hours_left(once, skip_unpriced=True), study.unpriced(once)
    left_line = (f"about {left:.1f} h left (each unfinished run at the mean of its finished peers; "
                 "phases not yet fixed by their grid not counted"
                 + (f"; {unpriced} runs of kinds that have not finished once not counted either)"
                    if unpriced else ")"))
    return (table.to_string(index=False)
            + f"\n\n{_rates_line(runs)}. Finished: {counts}.{arms_line} "
            f"{once.wall_seconds.sum() / 3600:.2f} h of training so far; {left_line}")
