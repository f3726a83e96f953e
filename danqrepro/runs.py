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


def load_run(run_dir: str | os.PathLike) -> dict | None:
    """The record in ``run_dir/run.json``, or None where there is none; a broken file raises
    :class:`danqrepro.files.DataError` naming it."""
    path = Path(run_dir) / RUN_FILE
    return read_json(path, "run record") if path.is_file() else None


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
        raise DataError(f"{path}: no weights file; the run has not finished an epoch "
                        "(re-run training)")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: weights file truncated or not from a {model.name} of this "
                        f"shape ({type(err).__name__}); re-run training or remove the run") from err


def run_shape(record: dict) -> tuple[int, int]:
    """``(seq_len, n_targets)`` of the data a run trained on, from its record."""
    manifest = record["data"]["manifest"]
    return manifest["seq_len"], manifest["n_targets"]


def load_run_model(run_dir: str | os.PathLike) -> tuple:
    """``(model, record)``: a run's model with its best weights, built from the record
    alone (the run's data is not opened)."""
    from .models import build_model
    record = require_run(run_dir)
    seq_len, n_targets = run_shape(record)
    model = build_model(record["config"]["model"], seq_len, n_targets)
    load_weights(model, Path(run_dir) / BEST_WEIGHTS)
    return model, record


def run_store(record: dict, data: str | os.PathLike | None = None):
    """The store a run trained on (or ``data``, a store, instead), opened as it is."""
    from .data.store import open_store
    return open_store(data or record["data"]["path"])
