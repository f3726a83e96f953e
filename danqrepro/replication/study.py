"""The study's tables over a :class:`danqrepro.runcache.RunCache`: where each run stands,
the hours spent and left, one row per run, and the cost of reaching a validation loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import read_json
from ..runcache import RunCache
from ..runs import TERMINAL
from ..train import TrainConfig


def progress(configs: list[TrainConfig], cache: RunCache, records_only: bool = False):
    """Where each run of a study stands, without training anything: one row per config
    with its data (the store's name), settings, state (``missing``, ``running`` or a finished status), epochs, whether it is
    censored, its test ROC AUC mean, wall seconds so far, and the process training it now
    (``worker``: the pid holding its lock; empty when none is). ``records_only``: runs
    found from their records (:meth:`RunCache.find`), no data opened."""
    import pandas as pd
    from ..files import lock_holder
    from ..runs import load_run
    rows = []
    for config in configs:
        run_dir = cache.find(config) if records_only else cache.path(config)
        r = (load_run(run_dir) if run_dir else None) or {}
        holder = lock_holder(run_dir) if run_dir else None
        rows.append({"data": Path(config.data).name, "model": config.model, "optimizer": config.optimizer,
                     "learning_rate": config.learning_rate, "dropout": config.dropout,
                     "batch": config.batch, "seed": config.seed,
                     "state": r.get("status", "missing"), "epochs": r.get("epochs_trained", 0),
                     "censored": r.get("stop_reason") == "max_epochs",
                     "test_roc_mean": r.get("test", {}).get("all", {}).get("roc_mean"),
                     "wall_seconds": sum(e["seconds"] for e in r.get("epochs", [])),
                     "worker": f"pid {holder}" if holder else ""})
    return pd.DataFrame(rows)


# the peers that price an unfinished run, closest first (always on the same data: a
# 200-bp ChIP-seq set costs a fraction of the 1000-bp benchmark)
PRICE_KEYS = (("data", "model", "optimizer", "learning_rate", "batch"),
              ("data", "model", "optimizer", "batch"), ("data", "model", "batch"))


def hours_left(progress_table, skip_unpriced: bool = False) -> float:
    """Training hours a study still needs, from :func:`progress`'s table: each run not
    finished is taken to cost the mean of its closest finished peers (the same model,
    optimiser, learning rate and batch size on the same data; failing those, the same
    model, optimiser and batch size; failing those, the same model and batch size), less
    what it has trained;
    nan while a run has no finished peer at all (``skip_unpriced``: such runs left out;
    :func:`unpriced` counts them)."""
    t = progress_table
    finished = t[t.state.isin(TERMINAL)]
    means = [(keys, finished.groupby(list(keys)).wall_seconds.mean()) for keys in PRICE_KEYS]
    left = 0.0
    for row in t[~t.state.isin(TERMINAL)].to_dict("records"):
        costs = [m[key] for keys, m in means if (key := tuple(row[k] for k in keys)) in m.index]
        if not costs:
            if skip_unpriced:
                continue
            return float("nan")
        left += max(costs[0] - row["wall_seconds"], 0.0)
    return float(left) / 3600


def unpriced(progress_table) -> int:
    """Runs not finished that :func:`hours_left` cannot price: no finished run of the same
    model and batch size on the same data yet."""
    t, keys = progress_table, list(PRICE_KEYS[-1])
    finished = set(map(tuple, t[t.state.isin(TERMINAL)][keys].to_numpy().tolist()))
    waiting = t[~t.state.isin(TERMINAL)][keys].to_numpy().tolist()
    return sum(tuple(w) not in finished for w in waiting)


def machine(hardware: dict) -> str:
    """A run record's ``provenance.hardware`` in words: the CPU, its cores, any GPUs."""
    gpus = hardware.get("gpus")
    return (f"{hardware.get('cpu', '?')} ({hardware.get('cpu_count', '?')} cores)"
            + (", " + ", ".join(gpus) if gpus else ""))


def compute_used(root: str | Path, retired: list[dict] | None = None):
    """Training time every run record under ``root`` holds, finished or not, and that of
    ``retired`` records (:func:`retired_records`: runs since removed): one row per record
    set (``kept`` or ``retired``), data kind, model, optimiser, learning rate and batch size
    with the runs, how many finished and were censored, epochs trained, hours (the sum of
    epoch times) and the machines."""
    import pandas as pd
    rows = []
    kept = [read_json(path) for path in sorted(Path(root).glob("*/run.json"))]
    for state, records in (("kept", kept), ("retired", retired or [])):
        for r in records:
            c = TrainConfig.from_dict(r["config"])  # fills the defaults a record leaves out
            rows.append({"runs/": state, "data": r.get("data", {}).get("kind"), "model": c.model,
                         "optimizer": c.optimizer, "learning_rate": c.learning_rate, "batch": c.batch,
                         "finished": r["status"] in TERMINAL, "censored": r.get("stop_reason") == "max_epochs",
                         "epochs": len(r.get("epochs", [])),
                         "hours": sum(e["seconds"] for e in r.get("epochs", [])) / 3600,
                         "machine": machine(r.get("provenance", {}).get("hardware", {}))})
    columns = ["runs/", "data", "model", "optimizer", "learning_rate", "batch"]
    if not rows:
        return pd.DataFrame(columns=columns + ["runs", "finished", "censored", "epochs", "hours", "machines"])
    return (pd.DataFrame(rows).groupby(columns)
            .agg(runs=("epochs", "size"), finished=("finished", "sum"), censored=("censored", "sum"),
                 epochs=("epochs", "sum"), hours=("hours", "sum"),
                 machines=("machine", lambda m: "; ".join(sorted(set(m)))))
            .reset_index())


def retired_records(runs_dir: str | Path) -> list[dict]:
    """Run records that the git history of the checkout holding ``runs_dir`` kept and that
    were later removed from that directory (retrained, or retired with the settings they
    ran), each as it stood just before its removal, with ``retired_in``: the removing
    commit's short hash, date and subject. Empty where ``runs_dir`` is in no git checkout
    (a source archive, a scratch run cache)."""
    import json
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(runs_dir), *args], capture_output=True, text=True,
                              check=True).stdout
    try:
        inside = git("rev-parse", "--show-prefix").strip()  # runs_dir relative to the checkout
        log = git("log", "--diff-filter=D", "--format=@%h %ad %s", "--date=short", "--name-only",
                  "--relative", "--", "*/run.json")
    except (OSError, subprocess.CalledProcessError):
        return []
    out, commit = [], None
    for line in log.splitlines():
        if line.startswith("@"):
            commit = line[1:]
        elif line.strip():
            record = json.loads(git("show", f"{commit.split()[0]}^:{inside}{line}"))
            out.append(record | {"retired_in": commit})
    return out


def computation(records: list[dict]) -> dict:
    """The one computation a set of runs shares: the training code's fingerprint that every
    record carries (``fingerprint``), with the commits (``commits``, short hashes, a ``+``
    after a commit with uncommitted changes) and the machines (``machines``) the runs were
    trained on. Raises ValueError naming the runs when they carry more than one fingerprint
    or none: results from two computations must not be pooled."""
    by_print: dict = {}
    for r in records:
        by_print.setdefault(r.get("provenance", {}).get("code_fingerprint"), []).append(r)
    if len(by_print) != 1 or None in by_print:
        listed = "; ".join(f"{str(k)[:8]}: {len(v)} runs, e.g. seed {v[0]['config']['seed']}"
                           for k, v in by_print.items())
        raise ValueError(f"{len(records)} runs carry {len(by_print)} training-code fingerprints "
                         f"({listed or 'no runs'}): expected one computation")
    git = [r["provenance"].get("git", {}) for r in records]
    hw = [r["provenance"].get("hardware", {}) for r in records]
    return {"fingerprint": next(iter(by_print)), "n_runs": len(records),
            "commits": sorted({g.get("commit", "?")[:7] + ("+" if g.get("dirty") else "") for g in git}),
            "machines": sorted({machine(h) for h in hw})}


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
