"""A cache of runs: one directory per (configuration, seed), reused when finished.

A run's directory name is a hash of its configuration (the model's architecture
included) with the data path replaced by the data's content fingerprint, so a set of runs
can grow across sessions and machines: asking again trains only the runs that are missing,
and resumes interrupted ones. :class:`RunCache` owns the stores its runs read (each data
path resolved once) and the run directories.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .data import Store, resolve_store
from .files import read_json
from .runs import BEST_WEIGHTS, TERMINAL, load_run
from .train import TrainConfig, train

# where a run whose record lacks its weights (committed without them) is trained again
RETRAINED = ".retrained"


def distinct(configs: list[TrainConfig]) -> list[TrainConfig]:
    """``configs`` with repeats dropped (the first kept): one per run, where two phases of
    a study share a run."""
    return list({repr(c): c for c in configs}.values())


def run_key(config: TrainConfig, store: Store) -> str:
    """``model-dropout-bBATCH-sSEED-digest``: the digest covers the config, the data's
    fingerprint, the model preset's architecture (so a preset redefined in
    :data:`danqrepro.models.PRESETS` never reuses the runs of its old shape) and the Keras
    backend where it is not TensorFlow (runs on other backends are other runs)."""
    from . import backend
    from .models import get_config
    d = config.to_dict()
    d["data"] = store.fingerprint
    d["architecture"] = get_config(config.model).to_dict()
    if backend.name() != "tensorflow":  # absent for TensorFlow: the keys of earlier runs hold
        d["backend"] = backend.name()
    digest = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]
    return f"{config.model}-{config.dropout}-b{config.batch}-s{config.seed}-{digest}"


class RunCache:
    """The runs under ``root``, keyed by :func:`run_key`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._stores: dict[str, Store] = {}

    def store(self, data: str) -> Store:
        """The store of a data path (a bundle is converted once, into the data cache)."""
        if data not in self._stores:
            self._stores[data] = resolve_store(data, progress=False)
        return self._stores[data]

    def path(self, config: TrainConfig) -> Path:
        return self.root / run_key(config, self.store(config.data))

    def record(self, config: TrainConfig) -> dict | None:
        """The run's record as it stands, finished or not (None where it never started)."""
        return load_run(self.path(config))

    def records(self, configs: list[TrainConfig]) -> list[dict | None]:
        """:meth:`record` of each config, training nothing."""
        return [self.record(c) for c in configs]

    def find(self, config: TrainConfig) -> Path | None:
        """The directory of ``config``'s run found from the records alone, opening no data
        (a data cache may not hold the store, say in a fresh checkout): the run with the
        same settings on data of the same name (the store's directory name), or None."""
        want = config.to_dict()
        name = Path(want.pop("data")).name
        prefix = f"{config.model}-{config.dropout}-b{config.batch}-s{config.seed}-"
        for run_dir in sorted(self.root.glob(prefix + "*")):
            record = load_run(run_dir)
            if record is None:
                continue
            held = TrainConfig.from_dict(record["config"]).to_dict()
            if Path(held.pop("data")).name == name and held == want:
                return run_dir
        return None

    def found_records(self, configs: list[TrainConfig]) -> list[dict | None]:
        """The records of :meth:`find`'s runs (None where there is none), opening no data."""
        return [load_run(d) if (d := self.find(c)) else None for c in configs]

    def metrics(self, config: TrainConfig, split: str = "test") -> dict:
        """The per-target metrics a finished run wrote (``metrics-<split>.json``)."""
        return read_json(self.path(config) / f"metrics-{split}.json", "run metrics")

    def train(self, config: TrainConfig, out: Path | None = None, verbose: int = 0) -> dict:
        """Train (or reuse, or resume) one run; waits for another process training it."""
        store = self.store(config.data)
        return train(config, out or self.path(config), verbose=verbose, wait=True, store=store)

    def train_all(self, configs: list[TrainConfig], verbose: int = 0, log=print) -> list[dict]:
        """Train (or reuse) every config; return the records in the same order. ``log``
        receives a line per run (None: silent)."""
        records = []
        for i, config in enumerate(configs, start=1):
            if log:
                cached = self.record(config)
                state = "cached" if cached and cached["status"] in TERMINAL else (
                    "resuming" if cached else "training")
                log(f"[{i}/{len(configs)}] {self.path(config).name}: {state}")
            records.append(self.train(config, verbose=verbose))
        return records

    def with_weights(self, configs: list[TrainConfig]) -> list[Path]:
        """The directory of each config's finished run that holds its best weights.

        Records may be kept (say, in git) without their weights: such a run is trained
        again under ``root/.retrained/``, leaving the record as it is. The seed fixes a run
        on one machine; a CPU whose kernels round otherwise may end the retrained run an
        epoch or more away from the record (compare the two ``run.json``)."""
        self.train_all(configs, log=None)  # whatever has no record yet
        dirs = []
        for config in configs:
            out = self.path(config)
            if not (out / BEST_WEIGHTS).is_file():
                out = self.root / RETRAINED / out.name
                self.train(config, out)
            dirs.append(out)
        return dirs

    def finished_prefix(self, configs: list[TrainConfig]) -> list[TrainConfig]:
        """The configs a rendering of a set part way can take without training anything:
        in each arm (data, model, dropout, batch), the runs of consecutive seeds from its
        first whose records are terminal; a seed not yet finished ends its arm's seeds.
        The given order is kept."""
        open_arms: dict[tuple, bool] = {}
        done = set()
        for config in sorted(configs, key=lambda c: c.seed):
            arm = (config.data, config.model, config.dropout, config.batch)
            if not open_arms.get(arm, True):
                continue
            record = self.record(config)
            open_arms[arm] = bool(record) and record["status"] in TERMINAL
            if open_arms[arm]:
                done.add(repr(config))
        return [c for c in configs if repr(c) in done]
