"""Data: the DeepSEA bundle, the compact store, the input pipeline, the synthetic benchmark.

The one entry point most code needs is :func:`load_split`, which reads any slice of a
split of either a DeepSEA-layout bundle or a converted store in the same form, and
:func:`resolve_store`, which turns a bundle into a (cached) store for training.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .deepsea import (CLASS_SIZES, N_TARGETS, SEQ_LEN, SPLITS, DataError, class_ranges,
                      is_bundle, open_mat_split)
from .store import MANIFEST, Store, convert, open_store
from .synthetic import GENERATOR_VERSION, SyntheticSpec, generate

__all__ = ["CLASS_SIZES", "N_TARGETS", "SEQ_LEN", "SPLITS", "DataError",
           "Store", "SyntheticSpec", "cache_dir", "check_split_sizes", "data_kind", "class_ranges", "convert", "generate",
           "is_bundle", "load_split", "open_store", "resolve_store", "synthetic_store"]


def cache_dir() -> Path:
    """Where generated bundles and stores live: ``$DANQREPRO_CACHE``, else
    ``~/.cache/danqrepro``."""
    return Path(os.environ.get("DANQREPRO_CACHE", Path.home() / ".cache" / "danqrepro"))


def data_kind(path: str | os.PathLike) -> str:
    """``"store"`` or ``"bundle"``: what ``path`` holds; anything else raises
    :class:`DataError` naming it."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return "store"
    if is_bundle(path):
        return "bundle"
    raise DataError(f"{path}: neither a store nor a DeepSEA bundle (no {MANIFEST}; no "
                    "train.mat, valid.mat or test.mat)")


def load_split(path: str | os.PathLike, split: str, start: int = 0,
               stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``start:stop`` of one split of a bundle or a store.

    Parameters
    ----------
    path : a DeepSEA-layout bundle directory or a store directory.
    split : ``"train"``, ``"valid"`` or ``"test"``.
    start, stop : sample range; ``stop=None`` reads to the end.

    Returns
    -------
    x : uint8 (n, length, 4), one-hot in A, G, C, T order (the file's order).
    y : uint8 (n, targets).
    """
    path = Path(path)
    if data_kind(path) == "store":
        return open_store(path).split(split).read(start, stop)
    reader = open_mat_split(path / f"{split}.mat", split)
    try:
        return reader.read(start, stop)
    finally:
        reader.close()


def check_split_sizes(path: str | os.PathLike, wanted: dict[str, int | None]) -> None:
    """Check subset sizes against the splits of a store or bundle before anything is
    converted or trained; raises :class:`DataError` naming the parameter and the sizes.

    ``wanted`` maps a split to a requested size (None: the whole split). Only the train
    split is checked in a bundle (its HDF5 header is cheap to read; the v5 files are not).
    """
    path = Path(path)
    if data_kind(path) == "store":
        sizes = {s: v["n"] for s, v in open_store(path).manifest["splits"].items()}
    else:
        sizes = {}
        if (path / "train.mat").is_file():
            reader = open_mat_split(path / "train.mat", "train")
            sizes["train"] = reader.n
            reader.close()
    for split, n in wanted.items():
        if split == "train" and n is not None and split in sizes and n > sizes[split]:
            raise DataError(f"n_train={n} exceeds the {sizes[split]} training samples of {path}")


def resolve_store(path: str | os.PathLike, progress: bool = True) -> Store:
    """A store for ``path``: the store itself, or a bundle converted once into the cache."""
    path = Path(path)
    if data_kind(path) == "store":
        return open_store(path)
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return convert(path, cache_dir() / "stores" / f"{path.name}-{key}", progress=progress)


def synthetic_store(spec: SyntheticSpec, progress: bool = True) -> Store:
    """The synthetic bundle of ``spec``, generated and converted into the cache on first use."""
    # the generator's version is part of the name: a newer generator never reuses a bundle
    described = {"generator_version": GENERATOR_VERSION, **asdict(spec)}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:10]
    name = f"synthetic-s{spec.seed}-n{spec.n_train}-{digest}"
    bundle = generate(cache_dir() / "bundles" / name, spec, progress=progress)
    return convert(bundle, cache_dir() / "stores" / name, progress=progress)
