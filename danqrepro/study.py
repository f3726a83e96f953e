"""Sets of runs: one directory per (configuration, seed), reused when finished.

A run's directory name is a hash of its configuration (the model's architecture
included) with the data path replaced by the data's content fingerprint, so a study can
grow across notebook runs and machines:
rerunning a notebook trains only the runs that are missing, and resumes interrupted ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .data import Store, resolve_store
from .files import read_json
from .train import BEST_WEIGHTS, TERMINAL, TrainConfig, load_run, train

# where a run whose committed record lacks its weights is trained again (not committed)
RETRAINED = ".retrained"


def run_key(config: TrainConfig, store: Store) -> str:
    """``model-dropout-bBATCH-sSEED-digest``: the digest covers the config, the data's
    fingerprint and the model preset's architecture, so a preset redefined in
    :data:`danqrepro.models.PRESETS` never reuses the runs of its old shape."""
    from .models import get_config
    d = config.to_dict()
    d["data"] = store.fingerprint
    d["architecture"] = get_config(config.model).to_dict()
    digest = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]
    return f"{config.model}-{config.dropout}-b{config.batch}-s{config.seed}-{digest}"


def run_metrics(config: TrainConfig, store: Store, root: str | Path, split: str = "test") -> dict:
    """The per-target metrics a finished run wrote (``metrics-<split>.json``)."""
    return read_json(Path(root) / run_key(config, store) / f"metrics-{split}.json", "run metrics")


def run_all(configs: list[TrainConfig], root: str | Path, verbose: int = 0,
            log=print) -> list[dict]:
    """Train (or reuse) every config; return the records in the same order. ``log``
    receives a line per run (None: silent, as the chapters run)."""
    root = Path(root)
    records = []
    stores: dict[str, Store] = {}
    for i, config in enumerate(configs, start=1):
        if config.data not in stores:
            stores[config.data] = resolve_store(config.data, progress=False)
        store = stores[config.data]
        out = root / run_key(config, store)
        cached = load_run(out)
        state = "cached" if cached and cached["status"] in TERMINAL else (
            "resuming" if cached else "training")
        if log:
            log(f"[{i}/{len(configs)}] {out.name}: {state}")
        # another process (a second notebook) may be training this run: wait for it
        records.append(train(config, out, verbose=verbose, wait=True))
    return records


def runs_with_weights(configs: list[TrainConfig], root: str | Path) -> list[Path]:
    """The directory of each config's finished run that holds its best weights, for the
    chapters that read a trained model.

    Run records are committed without weights (tens of MB each), so on a fresh clone a
    finished record has none: the run is then trained again under ``root/.retrained/``,
    leaving the committed record, which the study's statistics read, as it is. The seed
    fixes a run on one machine; a CPU whose kernels round otherwise may end the retrained
    run an epoch or more away from the record (compare the two ``run.json``)."""
    root = Path(root)
    run_all(configs, root, log=None)  # trains whatever has no record yet
    stores = {data: resolve_store(data, progress=False) for data in {c.data for c in configs}}
    dirs = []
    for config in configs:
        out = root / run_key(config, stores[config.data])
        if not (out / BEST_WEIGHTS).is_file():
            out = root / RETRAINED / out.name
            train(config, out, verbose=0, wait=True)
        dirs.append(out)
    return dirs


def records_so_far(configs: list[TrainConfig], root: str | Path) -> list[dict | None]:
    """Each config's run record as it stands, finished or not (None where it never
    started), training nothing: what a rendering of a study part way reads."""
    stores: dict[str, Store] = {}
    out = []
    for config in configs:
        if config.data not in stores:
            stores[config.data] = resolve_store(config.data, progress=False)
        out.append(load_run(Path(root) / run_key(config, stores[config.data])))
    return out


def finished_prefix(configs: list[TrainConfig], root: str | Path) -> list[TrainConfig]:
    """The configs a rendering of a study part way can take without training anything:
    in each arm (model, dropout, batch), the runs of consecutive seeds from its first
    whose records are finished (or otherwise terminal); a seed not yet finished ends its
    arm's run of seeds. The given order is kept."""
    stores: dict[str, Store] = {}
    open_arms: dict[tuple, bool] = {}
    done = set()
    for config in sorted(configs, key=lambda c: c.seed):
        arm = (config.data, config.model, config.dropout, config.batch)
        if not open_arms.get(arm, True):
            continue
        if config.data not in stores:
            stores[config.data] = resolve_store(config.data, progress=False)
        record = load_run(Path(root) / run_key(config, stores[config.data]))
        open_arms[arm] = bool(record) and record["status"] in TERMINAL
        if open_arms[arm]:
            done.add(repr(config))
    return [c for c in configs if repr(c) in done]


def progress(configs: list[TrainConfig], root: str | Path):
    """Where each run of a study stands, without training anything: one row per config
    with its state (``missing``, ``running`` or a finished status), epochs, whether it is
    censored, its test ROC AUC mean and wall seconds so far."""
    import pandas as pd
    rows, stores = [], {}
    for config in configs:
        if config.data not in stores:
            stores[config.data] = resolve_store(config.data, progress=False)
        r = load_run(Path(root) / run_key(config, stores[config.data])) or {}
        rows.append({"model": config.model, "optimizer": config.optimizer,
                     "learning_rate": config.learning_rate, "dropout": config.dropout,
                     "batch": config.batch, "seed": config.seed,
                     "state": r.get("status", "missing"), "epochs": r.get("epochs_trained", 0),
                     "censored": r.get("stop_reason") == "max_epochs",
                     "test_roc_mean": r.get("test", {}).get("all", {}).get("roc_mean"),
                     "wall_seconds": sum(e["seconds"] for e in r.get("epochs", []))})
    return pd.DataFrame(rows)


# the peers that price an unfinished run, closest first
PRICE_KEYS = (("model", "optimizer", "learning_rate", "batch"), ("model", "optimizer", "batch"),
              ("model", "batch"))


def hours_left(progress_table) -> float:
    """Training hours a study still needs, from :func:`progress`'s table: each run not
    finished is taken to cost the mean of its closest finished peers (the same model,
    optimiser, learning rate and batch size; failing those, the same model, optimiser and
    batch size; failing those, the same model and batch size), less what it has trained;
    nan while a run has no finished peer at all."""
    t = progress_table
    finished = t[t.state.isin(TERMINAL)]
    means = [(keys, finished.groupby(list(keys)).wall_seconds.mean()) for keys in PRICE_KEYS]
    left = 0.0
    for row in t[~t.state.isin(TERMINAL)].to_dict("records"):
        costs = [m[key] for keys, m in means if (key := tuple(row[k] for k in keys)) in m.index]
        if not costs:
            return float("nan")
        left += max(costs[0] - row["wall_seconds"], 0.0)
    return float(left) / 3600


def compute_used(root: str | Path):
    """Training time every run record under ``root`` holds, finished or not: one row per
    data kind, model, optimiser, learning rate and batch size with the runs, how many
    finished and were censored, epochs trained, hours (the sum of epoch times) and the
    machines."""
    import pandas as pd
    rows = []
    for path in sorted(Path(root).glob("*/run.json")):
        r = read_json(path)
        c = TrainConfig.from_dict(r["config"])  # fills the defaults a record leaves out
        hw = r.get("provenance", {}).get("hardware", {})
        rows.append({"data": r.get("data", {}).get("kind"), "model": c.model,
                     "optimizer": c.optimizer, "learning_rate": c.learning_rate, "batch": c.batch,
                     "finished": r["status"] in TERMINAL, "censored": r.get("stop_reason") == "max_epochs",
                     "epochs": len(r.get("epochs", [])),
                     "hours": sum(e["seconds"] for e in r.get("epochs", [])) / 3600,
                     "machine": f"{hw.get('cpu', '?')} ({hw.get('cpu_count', '?')} cores)"
                                + (", " + ", ".join(hw["gpus"]) if hw.get("gpus") else "")})
    columns = ["data", "model", "optimizer", "learning_rate", "batch"]
    if not rows:
        return pd.DataFrame(columns=columns + ["runs", "finished", "censored", "epochs", "hours", "machines"])
    return (pd.DataFrame(rows).groupby(columns)
            .agg(runs=("epochs", "size"), finished=("finished", "sum"), censored=("censored", "sum"),
                 epochs=("epochs", "sum"), hours=("hours", "sum"),
                 machines=("machine", lambda m: "; ".join(sorted(set(m)))))
            .reset_index())


def val_loss_jitter(record: dict) -> float:
    """How much a run's validation loss moves from one epoch to the next once it has
    settled: the median absolute epoch-to-epoch change over the second half of its epochs
    (NaN under three epochs). A patience rule stops a jittery run sooner: a patience's
    worth of epochs without a new best comes by chance before the loss has stopped falling."""
    losses = np.array([e["val_loss"] for e in record["epochs"] if e["val_loss"] is not None])
    if len(losses) < 3:
        return float("nan")
    changes = np.abs(np.diff(losses))
    return float(np.median(changes[len(changes) // 2:]))


def table(records: list[dict]):
    """One row per run: config fields, epochs, best epoch, losses, validation-loss jitter
    (:func:`val_loss_jitter`), time, test AUC means."""
    import pandas as pd
    rows = []
    for r in records:
        c, best = r["config"], r["best_epoch"]
        best_row = r["epochs"][best - 1] if best else {}
        test = r.get("test", {}).get("all", {})
        rows.append({
            "model": c["model"], "dropout": c["dropout"], "batch": c["batch"], "seed": c["seed"],
            "learning_rate": c.get("learning_rate"),
            "epochs": r["epochs_trained"], "best_epoch": best,
            "best_val_loss": r["best_val_loss"], "train_loss_at_best": best_row.get("loss"),
            "val_loss_jitter": val_loss_jitter(r),
            "wall_seconds": r["wall_seconds"],
            "seconds_per_epoch": r["wall_seconds"] / max(r["epochs_trained"], 1),
            "samples_per_second": sum(e["samples_per_second"] for e in r["epochs"]) / max(len(r["epochs"]), 1),
            "test_roc_mean": test.get("roc_mean"), "test_pr_mean": test.get("pr_mean"),
            "status": r["status"], "stop_reason": r.get("stop_reason"),
            # reached the epoch cap: its epoch count is a lower bound, not a stop
            "censored": r.get("stop_reason") == "max_epochs",
        })
    return pd.DataFrame(rows)


def time_to_target(record: dict, target_loss: float) -> dict | None:
    """Cost of reaching a validation loss: the first epoch whose validation loss is at or
    below ``target_loss``, with the optimiser steps, training samples and wall seconds spent
    until its end. None if the run never reaches it.

    Epochs are the granularity (validation runs once per epoch), so steps and samples are
    those of whole epochs."""
    config, seconds = record["config"], 0.0
    n_train = record["data"]["n_train"]
    steps_per_epoch = -(-n_train // config["batch"])
    for e in record["epochs"]:
        seconds += e["seconds"]
        if e["val_loss"] is not None and e["val_loss"] <= target_loss:
            return {"epochs": e["epoch"], "steps": e["epoch"] * steps_per_epoch,
                    "samples": e["epoch"] * n_train, "seconds": seconds}
    return None


def seconds_to_reach(record: dict, target_loss: float) -> float | None:
    """Wall seconds until validation loss first reaches ``target_loss`` (None if never)."""
    hit = time_to_target(record, target_loss)
    return None if hit is None else hit["seconds"]


def loss_target(table, margin: float = 0.01) -> float:
    """A time-to-result target set from the fixed-dropout arm alone (before looking at the
    random arm): its median best validation loss plus ``margin`` (relative), a quality most
    fixed runs reach."""
    fixed = table.loc[table.dropout == "fixed", "best_val_loss"]
    if fixed.empty:
        raise ValueError("no fixed-dropout run to set the loss target from")
    return float(fixed.median() * (1 + margin))


def with_time_to_target(records: list[dict], table, target_loss: float):
    """``table`` with ``target_epochs``, ``target_steps``, ``target_samples`` and
    ``target_seconds`` (NaN where the run never reached ``target_loss``)."""
    out = table.copy()
    hits = [time_to_target(r, target_loss) or {} for r in records]
    for key in ("epochs", "steps", "samples", "seconds"):
        out[f"target_{key}"] = [h.get(key, float("nan")) for h in hits]
    return out


def target_summary(timed):
    """Per batch size and arm of a :func:`with_time_to_target` table: ``runs``, ``reached``
    (runs that reached the target) and the mean ``epochs``, ``steps``, ``samples`` and
    ``seconds`` to the target over the runs that reached it (NaN where none did: a mean over
    the others alone would make a rarely reached target look cheap)."""
    return (timed.groupby(["batch", "dropout"])
            .agg(runs=("seed", "size"), reached=("target_epochs", "count"),
                 epochs=("target_epochs", "mean"), steps=("target_steps", "mean"),
                 samples=("target_samples", "mean"), seconds=("target_seconds", "mean"))
            .reset_index())
