"""Reading a run directory: its record, its best weights, its model, its store.

Nothing here trains or converts data: a run is read as it lies on disk, so that
``predict``, ``variant-effect``, ``evaluate`` and ``motifs`` can never start a conversion.
"""

from __future__ import annotations

import os
from pathlib import Path

from .files import DataError, read_json

RUN_FILE = "run.json"
BEST_WEIGHTS = "best.weights.h5"
# A run in one of these states is done: rerunning it returns its record.
TERMINAL = ("finished", "nan", "diverged")


# what every record holds; a run.json without them is not one of danqrepro's
RECORD_KEYS = ("config", "status", "epochs", "model", "data")


def load_run(run_dir: str | os.PathLike) -> dict | None:
    """The record in ``run_dir/run.json``, or None where there is none; a broken or foreign
    file raises :class:`danqrepro.files.DataError` naming it."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return None
    record = read_json(path, "run record")
    if not isinstance(record, dict) or not all(k in record for k in RECORD_KEYS):
        raise DataError(f"{path}: not a danqrepro run record (expected an object with "
                        f"{', '.join(RECORD_KEYS)}); use another directory")
    return record


def require_run(run_dir: str | os.PathLike) -> dict:
    """:func:`load_run`, or a DataError where ``run_dir`` holds no run."""
    record = load_run(run_dir)
    if record is None:
        raise DataError(f"{Path(run_dir) / RUN_FILE}: no run record (is it a run directory?)")
    return record


def load_weights(model, path: str | os.PathLike) -> None:
    """Load a run's weights; a missing, truncated or foreign file raises
    :class:`danqrepro.files.DataError` naming it and what to do."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no weights file; the run has no best epoch yet (train it), "
                        "or its record was kept without its weights")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: weights file truncated or not from a {model.name} of this "
                        f"shape ({type(err).__name__}); re-run training or remove the run") from err


def run_shape(record: dict) -> tuple[int, int]:
    """``(seq_len, n_targets)`` of the data a run trained on, from its record."""
    manifest = record["data"]["manifest"]
    return manifest["seq_len"], manifest["n_targets"]


def check_finished(run_dir: str | os.PathLike, record: dict) -> None:
    """Refuse a run that is still training or did not finish: its best weights may still
    change, or never be the run's result (a DataError says which, and what to pass)."""
    from .files import lock_holder
    holder = lock_holder(Path(run_dir))
    if holder:
        raise DataError(f"{run_dir}: the run is being trained (pid {holder}, epoch "
                        f"{record['epochs_trained']}); wait for it, or pass --allow-unfinished "
                        "to use its best weights so far")
    if record["status"] not in TERMINAL:
        raise DataError(f"{run_dir}: the run is unfinished (status {record['status']}, epoch "
                        f"{record['epochs_trained']}); finish it (train again with the same "
                        "command), or pass --allow-unfinished to use its best weights so far")


def identity(run_dir: str | os.PathLike, record: dict) -> dict:
    """What an output made from a run says about it: the run, its status, the epoch whose
    weights were used."""
    return {"run": str(Path(run_dir).resolve()), "status": record["status"],
            "best_epoch": record.get("best_epoch"), "epochs_trained": record["epochs_trained"]}


def load_run_model(run_dir: str | os.PathLike, allow_unfinished: bool = False) -> tuple:
    """``(model, record)``: a run's model with its best weights, built from the record
    alone (the run's data is not opened). An unfinished run is refused unless
    ``allow_unfinished`` (:func:`check_finished`)."""
    from .models import build_model
    record = require_run(run_dir)
    if not allow_unfinished:
        check_finished(run_dir, record)
    seq_len, n_targets = run_shape(record)
    model = build_model(record["config"]["model"], seq_len, n_targets)
    load_weights(model, Path(run_dir) / BEST_WEIGHTS)
    return model, record


def run_store(record: dict, data: str | os.PathLike | None = None):
    """The store a run trained on (or ``data``, a store, instead), opened as it is."""
    from .data.store import open_store
    return open_store(data or record["data"]["path"])
