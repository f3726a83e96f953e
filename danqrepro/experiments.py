"""The runs behind each chapter, built from a preset, so notebooks, tests and the
book runner ask for exactly the same (cached) runs."""

from __future__ import annotations

from pathlib import Path

from .data import DataError, resolve_store, synthetic_store
from .data.deepsea import is_bundle
from .data.store import MANIFEST
from .presets import Preset
from .train import TrainConfig


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
    if data is not None and not ((Path(data) / MANIFEST).is_file() or is_bundle(Path(data))):
        raise DataError(f"data={data!r}: neither a store nor a DeepSEA bundle directory")


def data_path(preset: Preset, data: str | None = None) -> str:
    """The store to train on: ``data`` (a bundle or store) if given, else the preset's
    synthetic bundle, generated and converted into the cache on first use."""
    store = resolve_store(data) if data else synthetic_store(preset.synthetic, progress=False)
    return str(store.path)


def dropout_arms(preset: Preset, data: str, batch: int, n_runs_random: int | None = None,
                 n_runs_fixed: int | None = None, first_seed: int = 0) -> list[TrainConfig]:
    """Fixed and random dropout at one batch size, seeds ``first_seed`` upwards."""
    n_random = preset.n_runs_random if n_runs_random is None else n_runs_random
    n_fixed = preset.n_runs_fixed if n_runs_fixed is None else n_runs_fixed
    common = dict(data=data, model=preset.model, batch=batch, n_train=preset.n_train,
                  n_valid=preset.n_valid, max_epochs=preset.max_epochs, patience=preset.patience)
    return ([TrainConfig(dropout="random", seed=first_seed + i, **common) for i in range(n_random)]
            + [TrainConfig(dropout="fixed", seed=first_seed + i, **common) for i in range(n_fixed)])


def full_data_runs(preset: Preset, data: str, batch: int, seed: int = 0) -> list[TrainConfig]:
    """DanQ and the DeepSEA CNN on the whole training split, fixed dropout."""
    return [TrainConfig(data=data, model=model, batch=batch, n_train=None, n_valid=preset.n_valid,
                        max_epochs=preset.full_max_epochs, patience=preset.patience, seed=seed)
            for model in (preset.model, preset.baseline)]
