"""The runs behind each chapter, built from a preset, so notebooks, tests and the
book runner ask for exactly the same (cached) runs."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

from ..data import cache_dir, data_kind, resolve_store, synthetic_store
from ..runcache import distinct
from ..runs import TERMINAL
from .presets import Preset
from ..train import TrainConfig


def check_parameters(data: str | None = None, **counts: int | None) -> None:
    """Check a notebook's papermill parameters before any data is generated or trained:
    ``data`` must be a store or a bundle, and every count (batch sizes, runs per arm) a
    whole number >= 1 or None (the preset's). Raises ValueError naming the parameter."""
    problems = [f"{name}={value!r} (expected a whole number >= 1, or None for the preset's)"
                for name, value in counts.items()
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 1)]
    if problems:
        raise ValueError("invalid notebook parameters: " + "; ".join(problems))
    if data is not None:
        data_kind(data)


def synthetic_name(spec, order=None) -> str:
    """The data cache's name for the synthetic bundle of ``spec`` (and its store), as
    :func:`danqrepro.data.synthetic_store` names it; with ``order`` (an
    :class:`~danqrepro.data.synthetic.OrderSpec`), C1's benchmark. (Kept here rather than
    in the data package while the study runs: the training path's code stays as its runs
    recorded it; ``tests/test_study.py`` holds the two names equal.)"""
    import hashlib
    import json
    from dataclasses import asdict

    from ..data.synthetic import GENERATOR_VERSION
    described = {"generator_version": GENERATOR_VERSION, **asdict(spec)}
    if order is not None:
        described["order"] = asdict(order)
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:10]
    kind = "synthetic-order" if order is not None else "synthetic"
    return f"{kind}-s{spec.seed}-n{spec.n_train}-{digest}"


def data_path(preset: Preset, data: str | None = None, generate: bool = True) -> str:
    """The store to train on: ``data`` (a bundle or store) if given, else the preset's
    synthetic bundle, generated and converted into the cache on first use (with
    ``generate=False``, only where it would be: for reading run records)."""
    if data:
        return str(resolve_store(data).path)
    if not generate:
        return str(cache_dir() / "stores" / synthetic_name(preset.synthetic))
    return str(synthetic_store(preset.synthetic, progress=False).path)


def dropout_arms(preset: Preset, data: str, batch: int, n_runs_random: int | None = None,
                 n_runs_fixed: int | None = None, first_seed: int = 0) -> list[TrainConfig]:
    """Fixed and random dropout at one batch size, seeds ``first_seed`` upwards."""
    n_random = preset.n_runs_random if n_runs_random is None else n_runs_random
    n_fixed = preset.n_runs_fixed if n_runs_fixed is None else n_runs_fixed
    common = preset.recipe(data=data, batch=batch)
    return ([TrainConfig(dropout="random", seed=first_seed + i, **common) for i in range(n_random)]
            + [TrainConfig(dropout="fixed", seed=first_seed + i, **common) for i in range(n_fixed)])


def full_data_runs(preset: Preset, data: str, batch: int, seed: int = 0) -> list[TrainConfig]:
    """DanQ and the DeepSEA CNN on the whole training split, fixed dropout, trained alike
    (at the preset's ``comparison_learning_rate`` where it sets one)."""
    return [TrainConfig(**preset.recipe(data=data, model=model, batch=batch, n_train=None,
                                        max_epochs=preset.full_max_epochs, seed=seed,
                                        learning_rate=preset.c1_learning_rate))
            for model in (preset.model, preset.baseline)]


def optimizer_control(preset: Preset, data: str) -> TrainConfig | None:
    """DanQ trained as DanQ was (RMSprop at lr 1e-3, output biases at zero) at the small
    batch, seed 0: the evidence for a preset that trains otherwise (None where the preset
    already does)."""
    danq_way = dict(optimizer="rmsprop", learning_rate=1e-3, output_bias="zero")
    if all(getattr(preset, k) == v for k, v in danq_way.items()):
        return None
    return replace(dropout_arms(preset, data, preset.small_batch, 0, 1)[0], **danq_way)


def positive_controls(preset: Preset, data: str) -> list[TrainConfig]:
    """The study's DanQ (fixed dropout, seed 0, small batch, as in the arms), then DanQ and
    the CNN of the C1 comparison on the whole split (the first is the study's DanQ where the
    arms train on the whole split at the comparison's rate too)."""
    study_danq = dropout_arms(preset, data, preset.small_batch, 0, 1)[0]
    comparison = full_data_runs(preset, data, preset.small_batch)
    return [study_danq] + [c for c in comparison if c != study_danq]


def study_configs(preset: Preset, data: str) -> list[TrainConfig]:
    """Every run of a preset's study in the order to train them: the positive controls
    first (:func:`positive_controls`, then the optimiser control); then seed 0 of every
    dropout arm (so that a study part way renders every chapter); then the seeds both
    dropout arms run, at the large batch (C2, the paper's main claim, is testable from six
    such pairs), then at the small batch (C3); then the seeds only the random arm runs
    (C5's spreads, the paper's 14 against 6), large batch first. Within each seed the
    fixed run comes first, so a study stopped part way holds whole pairs."""
    large = dropout_arms(preset, data, preset.large_batch)
    small = dropout_arms(preset, data, preset.small_batch)
    paired = set(range(preset.n_runs_fixed))
    control = optimizer_control(preset, data)
    ordered = positive_controls(preset, data)
    ordered += [control] if control and control not in ordered else []
    for group in ([c for c in large + small if c.seed == 0],
                  [c for c in large if c.seed in paired], [c for c in small if c.seed in paired],
                  [c for c in large + small if c.seed not in paired]):
        ordered += [c for c in sorted(group, key=lambda c: (c.seed, -c.batch, c.dropout))
                    if c not in ordered]
    return ordered


# -- the registered study (danqrepro.replication.plan) ----------------------------------

def learning_rate_grid(preset: Preset, data: str, batches: tuple[int, ...] | None = None
                       ) -> list[TrainConfig]:
    """The runs of the plan's learning-rate rule (``preset.plan``): the fixed arm at each
    of ``batches`` (default: the preset's large and small batch), at every rate of
    ``lr_grid``, on the rule's seeds (none of them a study seed), each stopped at
    ``lr_grid_epochs`` (or the preset's cap, if lower)."""
    plan = preset.plan
    cap = min(plan.lr_grid_epochs, preset.max_epochs)
    return [TrainConfig(dropout="fixed", seed=seed,
                        **preset.recipe(data=data, batch=batch, learning_rate=rate, max_epochs=cap))
            for batch in batches or (preset.large_batch, preset.small_batch)
            for rate in plan.lr_grid for seed in plan.lr_seeds]


def chosen_learning_rates(grid: list[TrainConfig], records: list[dict | None],
                          by: str = "batch") -> dict | None:
    """The plan's rule applied to the grid's records: per value of the config field ``by``
    (the batch size for the dropout arms, the model for C1), the rate whose runs reach the
    lowest mean best validation loss (the smaller rate on a tie; a run that diverged before
    any finite loss counts as infinitely bad). None until every grid run has ended."""
    if any(r is None or r["status"] not in TERMINAL for r in records):
        return None
    losses: dict = {}
    for config, record in zip(grid, records):
        loss = record["best_val_loss"]
        losses.setdefault(getattr(config, by), {}).setdefault(config.learning_rate, []).append(
            float("inf") if loss is None else loss)
    return {key: min(sorted(by_rate), key=lambda rate: sum(by_rate[rate]) / len(by_rate[rate]))
            for key, by_rate in losses.items()}


def registered_study(preset: Preset, data: str, rates: dict[int, float]) -> list[TrainConfig]:
    """The dropout arms of the registered study (``preset.plan``), in the order to train
    them: seed by seed from ``plan.first_seed``, the fixed and random runs at each batch
    size of ``rates`` (batch -> its rate from :func:`chosen_learning_rates`), the largest
    first, so that a study stopped part way holds whole pairs at every size."""
    plan = preset.plan
    seeds = range(plan.first_seed, plan.first_seed + plan.pairs_per_batch)
    return [TrainConfig(dropout=dropout, seed=seed,
                        **preset.recipe(data=data, batch=batch, learning_rate=rates[batch]))
            for seed in seeds for batch in sorted(rates, reverse=True)
            for dropout in ("fixed", "random")]


STUDIES = ("registered", "first")


def dropout_arm_runs(preset: Preset, data: str, batch: int, cache, which: str = "registered",
                     n_runs_random: int | None = None, n_runs_fixed: int | None = None,
                     train: bool = True) -> list[TrainConfig]:
    """The dropout arms a chapter shows at ``batch``.

    ``which``: ``"registered"``, the registered study's arms (:func:`registered_study`, the
    plan's pairs at the rate its learning-rate rule chose at this batch size, the rule's
    grid trained first where ``train``); ``"first"``, the first study's (the preset's seeds
    per arm from 0, at the preset's rate: the pilot that sized the plan). ``n_runs_*``
    keep the first seeds of an arm (None: all of them). Raises ValueError naming the
    parameter for an unknown study, and, without ``train``, where the rule's grid at this
    batch has not ended."""
    if which not in STUDIES:
        raise ValueError(f"study={which!r}: expected one of {', '.join(STUDIES)}")
    if which == "first":
        return dropout_arms(preset, data, batch, n_runs_random, n_runs_fixed)
    grid = learning_rate_grid(preset, data, (batch,))
    records = cache.train_all(grid, log=None) if train else cache.records(grid)
    rates = chosen_learning_rates(grid, records)
    if rates is None:
        done = sum(bool(r) and r["status"] in TERMINAL for r in records)
        raise ValueError(f"study='registered', batch={batch}: the learning-rate rule's grid has "
                         f"{done} of its {len(grid)} runs ended, so the arms' rate is not fixed "
                         "yet (run `danqrepro study`, or render with finished_only=False)")
    first = preset.plan.first_seed
    limit = {"random": n_runs_random, "fixed": n_runs_fixed}
    return [c for c in registered_study(preset, data, rates)
            if limit[c.dropout] is None or c.seed < first + limit[c.dropout]]


def registered(preset: Preset, cache, data: str | None = None) -> dict:
    """The registered study as its records stand, opening no data and training nothing:
    :func:`study_runs`'s phases, configs and rates, with ``records`` (one per config, None
    where it never started)."""
    found = study_runs(preset, data_path(preset, data, generate=False),
                       order_data_path(preset, generate=False), cache.found_records,
                       real_data=lambda tf: real_data_path(preset, tf, generate=False))
    return found | {"records": cache.found_records(found["configs"])}


def registered_records(registered: dict, configs) -> list[dict | None]:
    """The records :func:`registered` found for ``configs`` (some of its own)."""
    by_config = dict(zip(map(repr, registered["configs"]), registered["records"]))
    return [by_config.get(repr(c)) for c in configs]


def phase_counts(registered: dict):
    """One row per phase of the registered study: its runs, how many of them an earlier
    phase holds too (trained once, for both), and how many have finished."""
    import pandas as pd
    rows, earlier = [], set()
    records = iter(registered["records"])  # one per config, phase by phase
    for name, configs in registered["phases"].items():
        keys = list(map(repr, configs))
        rows.append({"phase": name, "runs": len(configs),
                     "also in an earlier phase": sum(k in earlier for k in keys),
                     "finished": sum(bool(r) and r["status"] == "finished"
                                     for r in (next(records) for _ in configs))})
        earlier.update(keys)
    return pd.DataFrame(rows)


def sensitivity_arm(preset: Preset, data: str) -> list[TrainConfig]:
    """The plan's sensitivity arm: DanQ trained as published (``plan.sensitivity_recipe``)
    at both batch sizes, ``plan.sensitivity_pairs`` pairs each, seed by seed."""
    plan = preset.plan
    seeds = range(plan.first_seed, plan.first_seed + plan.sensitivity_pairs)
    return [TrainConfig(dropout=dropout, seed=seed,
                        **preset.recipe(data=data, batch=batch, **dict(plan.sensitivity_recipe)))
            for seed in seeds for batch in (preset.large_batch, preset.small_batch)
            for dropout in ("fixed", "random")]


def order_data_path(preset: Preset, generate: bool = True) -> str:
    """C1's benchmark: the preset's synthetic bundle with order rules
    (:data:`~danqrepro.replication.presets.C1_ORDER`), generated and converted into the
    data cache on first use (``generate=False``: only where it would be)."""
    from ..data import convert
    from ..data import generate as generate_bundle
    from .presets import C1_ORDER
    name = synthetic_name(preset.synthetic, C1_ORDER)
    if not generate:
        return str(cache_dir() / "stores" / name)
    bundle = generate_bundle(cache_dir() / "bundles" / name, preset.synthetic, progress=False,
                             order=C1_ORDER)
    return str(convert(bundle, cache_dir() / "stores" / name, progress=False).path)


def c1_learning_rate_grid(preset: Preset, data: str, models: tuple[str, str] | None = None
                          ) -> list[TrainConfig]:
    """The learning-rate rule's runs for C1: each of ``models`` (default ``plan.c1_models``;
    fixed dropout, at ``plan.c1_batch``) at every rate of the grid, on the rule's seeds."""
    plan = preset.plan
    cap = min(plan.lr_grid_epochs, preset.max_epochs)
    return [TrainConfig(dropout="fixed", seed=seed,
                        **preset.recipe(data=data, model=model, batch=plan.c1_batch,
                                        learning_rate=rate, max_epochs=cap))
            for model in models or plan.c1_models for rate in plan.lr_grid for seed in plan.lr_seeds]


def c1_runs(preset: Preset, data: str, rates: dict[str, float]) -> list[TrainConfig]:
    """C1's runs: DanQ and the capacity-matched CNN (``plan.c1_models``), each at its rate
    from the rule (``rates``: model -> rate), ``plan.c1_seeds`` seeds from the study's
    first, seed by seed, on C1's benchmark (``data``: :func:`order_data_path`)."""
    return _model_comparison(preset, [data], preset.plan.c1_models, rates)


def _model_comparison(preset: Preset, datasets: list[str], models: tuple[str, ...],
                      rates: dict[str, float]) -> list[TrainConfig]:
    """Each of ``models`` at its rate on each of ``datasets``, fixed dropout at
    ``plan.c1_batch``, ``plan.c1_seeds`` seeds from the study's first: seed by seed, so that
    a study part way holds every data set at its first seeds."""
    plan = preset.plan
    return [TrainConfig(dropout="fixed", seed=seed,
                        **preset.recipe(data=data, model=model, batch=plan.c1_batch,
                                        learning_rate=rates[model]))
            for seed in range(plan.first_seed, plan.first_seed + plan.c1_seeds)
            for data in datasets for model in models]


def study_runs(preset: Preset, data: str, c1_data: str, train, after_c1=None,
               real_data=None) -> dict:
    """Every run of the registered study, phase by phase, and trained in two steps.

    First every learning-rate grid at once: the dropout arms' (on ``data``); with
    ``real_data`` (TF -> its store's path, asked only for the TFs a phase reaches), the
    real data's C1 grid and dropout arms' grid; C1's grid (on C1's benchmark ``c1_data``). Then the runs at the rates the grids chose, seed by seed
    over the phases (:func:`seed_by_seed`: the dropout arms, C1, the real data's C1 over
    the TFs and its dropout arms on ``plan.real_arms_tf``, the sensitivity arm), so that
    a study stopped part way holds every claim's evidence at its first seeds.

    ``train(configs)`` returns their records (training them, or reading them:
    ``RunCache.records``); a phase whose grid has not ended adds no runs;
    ``after_c1(configs)``, where given, is called with C1's runs before and after the
    training (scoring the finished ones: :func:`danqrepro.replication.order.score_missing`).
    Returns ``phases`` (name -> configs), ``configs`` (all of them, phase by phase),
    ``runs`` (the same, a run two phases share once), the ``rates`` and ``c1_rates`` the
    grids chose, and with ``real_data`` ``real_c1_rates`` and ``real_rates``."""
    plan = preset.plan
    grids = {"learning-rate grid": learning_rate_grid(preset, data)}
    if real_data is not None:
        grids["real C1 grid"] = c1_learning_rate_grid(preset, real_data(plan.real_grid_tf),
                                                      plan.real_models)
        grids["real arms grid"] = learning_rate_grid(preset, real_data(plan.real_arms_tf))
    grids["C1 grid"] = c1_learning_rate_grid(preset, c1_data)
    records = iter(train([c for grid in grids.values() for c in grid]))
    grid_records = {name: [next(records) for _ in grid] for name, grid in grids.items()}

    def chosen(name, by="batch"):
        return chosen_learning_rates(grids[name], grid_records[name], by=by)

    out = {"rates": chosen("learning-rate grid"), "c1_rates": chosen("C1 grid", by="model")}
    phases = {"learning-rate grid": grids["learning-rate grid"],
              "dropout arms": registered_study(preset, data, out["rates"]) if out["rates"] else [],
              "C1 grid": grids["C1 grid"],
              "C1": c1_runs(preset, c1_data, out["c1_rates"]) if out["c1_rates"] else []}
    if real_data is not None:
        out |= {"real_c1_rates": chosen("real C1 grid", by="model"),
                "real_rates": chosen("real arms grid")}
        tfs = plan.real_tfs or tuple(real_tables())
        phases |= {"real C1 grid": grids["real C1 grid"],
                   "real C1": (real_c1_runs(preset, {tf: real_data(tf) for tf in tfs},
                                            out["real_c1_rates"]) if out["real_c1_rates"] else []),
                   "real arms grid": grids["real arms grid"],
                   "real dropout arms": (registered_study(preset, real_data(plan.real_arms_tf),
                                                          out["real_rates"])
                                         if out["real_rates"] else [])}
    phases["sensitivity arm"] = sensitivity_arm(preset, data)
    if after_c1:
        after_c1(phases["C1"])
    train(seed_by_seed([configs for name, configs in phases.items() if name not in grids]))
    if after_c1:
        after_c1(phases["C1"])
    configs = [c for p in phases.values() for c in p]
    return out | {"phases": phases, "configs": configs, "runs": distinct(configs)}


def seed_by_seed(phases: list[list[TrainConfig]]) -> list[TrainConfig]:
    """The runs of several phases in one training order: every phase's runs at the lowest
    seed, then at the next seed, and so on; within a seed the phases in the given order,
    each in its own order (whole pairs stay together)."""
    return sorted((config for phase in phases for config in phase), key=lambda c: c.seed)  # stable


# -- the real-data study (DeepBind's ENCODE ChIP-seq sets) ------------------------------

def real_tables() -> dict[str, tuple[Path, Path]]:
    """The shipped ChIP-seq sets (``data/deepbind-encode`` of the checkout): TF -> (training
    table, test table), in the TFs' alphabetical order."""
    from .project import root
    folder = root() / "data" / "deepbind-encode"
    tables = {path.name.split("_")[0]: path for path in sorted(folder.glob("*_AC.seq.gz"))}
    if not tables:
        raise FileNotFoundError(f"{folder}: no *_AC.seq.gz tables (the checkout ships them)")
    return {tf: (train, train.with_name(train.name.replace("_AC.", "_B."))) for tf, train in tables.items()}


def real_data_path(preset: Preset, tf: str, generate: bool = True) -> str:
    """The store of one TF's peaks against shuffled negatives, made by the plan's rule
    (``real_length``, ``real_negatives``, ``real_data_seed``, ``real_valid_fraction``),
    converted into the data cache on first use (``generate=False``: only where it would
    be). Its name holds the TF, the rule and the tables' contents."""
    from ..data.peaks import convert_peaks
    plan = preset.plan
    train, test = real_tables()[tf]
    digest = _real_store_digest(train, test, (plan.real_length, plan.real_negatives,
                                              plan.real_data_seed, plan.real_valid_fraction))
    path = cache_dir() / "stores" / f"chip-{tf}-{plan.real_length}bp-{digest}"
    if generate and not (path / "manifest.json").is_file():
        convert_peaks({"train": train, "test": test}, path, shuffled_negatives=plan.real_negatives,
                      length=plan.real_length, valid_fraction=plan.real_valid_fraction,
                      seed=plan.real_data_seed, target=tf, progress=False)
    return str(path)


@functools.lru_cache(maxsize=None)
def _real_store_digest(train: Path, test: Path, rule: tuple) -> str:
    """The tables' contents and the plan's rule, hashed once per process (the study asks
    for every TF's store at each phase)."""
    import hashlib
    return hashlib.sha256(b"".join(p.read_bytes() for p in (train, test))
                          + repr(rule).encode()).hexdigest()[:10]


def real_c1_runs(preset: Preset, data_by_tf: dict[str, str], rates: dict[str, float]) -> list[TrainConfig]:
    """C1 on real data: both models of ``plan.real_models`` at their rates, ``c1_seeds``
    seeds from the study's first, on every TF (seed by seed)."""
    return _model_comparison(preset, list(data_by_tf.values()), preset.plan.real_models, rates)
