"""The compact store: one byte per base, packed labels and a manifest.

A store is a directory::

    manifest.json            counts, targets, checksums, source, positive rates
    {split}.codes.npy        uint8 (n, length): 0..3 for A, G, C, T; 4 for N
    {split}.labels.npy       uint8 (n, ceil(targets / 8)): labels, np.packbits on axis 1
    {split}.oracle.npy       float16 (n, targets), synthetic bundles only

``.npy`` files open as memory maps, so any sample is a 1000-byte read and the training
set is never loaded whole. :func:`convert` streams a bundle into a store in slabs along
the sample axis, so its memory is bounded by the slab size whatever N is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from ..files import DataError, Marker, atomic_directory, read_json, write_json_atomic
from ..sequence import ALPHABET, codes_to_one_hot
from .deepsea import SPLITS, MatSplit, class_ranges, is_bundle, open_mat_split

MANIFEST = "manifest.json"
STORE_FORMAT = "danqrepro-store/1"
SYNTHETIC_META = "synthetic.json"
STORE_MARKER = Marker(MANIFEST, "format", STORE_FORMAT)  # what makes a directory a store
ORACLE_FILE = "oracle.h5"
def n_first(n: int, limit: int | None) -> int:
    """How many samples of a split of ``n`` are read when the first ``limit`` are asked for
    (None: all): validation and evaluation read a split's head, in file order."""
    return n if limit is None else min(limit, n)


class NpyWriter:
    """Write a C-order ``.npy`` file of known shape slab by slab with plain file writes,
    hashing as it goes. Unlike a writable memory map, its pages never count against the
    process's memory, so a conversion's peak RSS does not grow with N."""

    def __init__(self, path: Path, dtype, shape: tuple[int, ...]):
        self.path, self.dtype, self.shape = path, np.dtype(dtype), shape
        self.rows = 0
        self.sha256 = hashlib.sha256()
        self._file = open(path, "wb")
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                     "fortran_order": False, "shape": shape})
        self._write(header.getvalue())

    def _write(self, data) -> None:
        self._file.write(data)
        self.sha256.update(data)

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.shape[1:]:
            raise ValueError(f"{self.path}: rows of shape {rows.shape[1:]}, expected {self.shape[1:]}")
        self._write(memoryview(rows).cast("B"))
        self.rows += rows.shape[0]

    def close(self) -> str:
        """Close the file; return its sha256."""
        self._file.close()
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.path}: wrote {self.rows} rows, expected {self.shape[0]}")
        return self.sha256.hexdigest()


def sha256_file(path: str | os.PathLike, block: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class StoreSplit:
    """One split of a store, memory-mapped.

    Attributes
    ----------
    codes : uint8 memmap (n, length)
    labels_packed : uint8 memmap (n, ceil(n_targets / 8))
    oracle : float16 memmap (n, n_targets) or None
    """

    name: str
    codes: np.ndarray
    labels_packed: np.ndarray
    n_targets: int
    oracle: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.codes.shape[0]

    def labels(self, index) -> np.ndarray:
        """Unpacked uint8 labels (k, n_targets) of ``index`` (a slice or integer array)."""
        return np.unpackbits(self.labels_packed[index], axis=1, count=self.n_targets)

    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``x`` uint8 (n, length, 4) one-hot A,G,C,T and ``y`` uint8 (n, targets)."""
        index = slice(start, self.n if stop is None else min(stop, self.n))
        return codes_to_one_hot(np.asarray(self.codes[index])), self.labels(index)


class Store:
    """A converted dataset: :attr:`manifest` plus memory-mapped splits."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise DataError(f"{self.path}: not a danqrepro store (no {MANIFEST}); "
                            "convert a bundle with 'danqrepro convert BUNDLE_DIR STORE_DIR'")
        self.manifest = read_json(manifest_path, "store manifest")
        if self.manifest.get("format") != STORE_FORMAT:
            raise DataError(f"{manifest_path}: format {self.manifest.get('format')!r}, "
                            f"expected {STORE_FORMAT!r}")
        self._splits: dict[str, StoreSplit] = {}

    @property
    def n_targets(self) -> int:
        return self.manifest["n_targets"]

    @property
    def seq_len(self) -> int:
        return self.manifest["seq_len"]

    @property
    def fingerprint(self) -> str:
        """A content hash of the store: equal stores have equal fingerprints."""
        return self.manifest["fingerprint"]

    @property
    def target_classes(self) -> dict[str, range]:
        """DeepSEA's DNase / TF / histone column ranges for a bundle's store (synthetic or
        DeepSEA); none for a store of your own labels (its targets are only "all")."""
        return {} if self.manifest.get("targets") else class_ranges(self.n_targets)

    @property
    def is_synthetic(self) -> bool:
        return self.manifest["source"]["kind"] == "synthetic"

    def split(self, name: str) -> StoreSplit:
        if name not in self.manifest["splits"]:
            raise DataError(f"{self.path}: no split {name!r}; it has "
                            f"{sorted(self.manifest['splits'])}")
        if name not in self._splits:
            files = self.manifest["splits"][name]["files"]
            arrays = {}
            for key, file in files.items():
                try:
                    arrays[key] = np.load(self.path / file, mmap_mode="r")
                except (OSError, ValueError) as err:
                    raise DataError(f"{self.path / file}: cannot open ({err})") from err
            self._splits[name] = StoreSplit(name, arrays["codes"], arrays["labels"],
                                            self.n_targets, arrays.get("oracle"))
        return self._splits[name]


def _source_description(bundle: Path) -> dict:
    files = {}
    for split in SPLITS:
        p = bundle / f"{split}.mat"
        if p.is_file():
            st = p.stat()
            files[p.name] = {"bytes": st.st_size, "mtime": int(st.st_mtime)}
    meta_path = bundle / SYNTHETIC_META
    source = {"path": str(bundle.resolve()), "files": files,
              "kind": "synthetic" if meta_path.is_file() else "deepsea"}
    return source


def convert(bundle_dir: str | os.PathLike, store_dir: str | os.PathLike,
            slab: int = 8192, progress: bool = True, overwrite: bool = False) -> Store:
    """Stream a DeepSEA-layout bundle into a compact store.

    Every split present in ``bundle_dir`` is validated before any is converted. Each
    split is read in slabs of ``slab`` samples along its sample axis, so peak memory is
    a few times ``slab * length * 4`` bytes whatever the split size. Files go to a
    temporary directory beside ``store_dir`` that is renamed at the end: an interrupted
    conversion leaves nothing that looks finished, and rerunning it starts clean.

    Parameters
    ----------
    bundle_dir : directory with ``train.mat``, ``valid.mat``, ``test.mat`` (any subset).
    store_dir : the store to create.
    slab : samples per read.
    overwrite : replace an existing store at ``store_dir``.

    Returns
    -------
    Store
    """
    bundle, target = Path(bundle_dir), Path(store_dir)
    if not is_bundle(bundle):
        raise DataError(f"{bundle}: not a DeepSEA bundle directory (expected train.mat, "
                        "valid.mat and/or test.mat)")
    if (target / MANIFEST).is_file() and not overwrite:
        existing = Store(target)
        if existing.manifest["source"] == _source_description(bundle):
            return existing
        raise DataError(f"{target}: a store from another source exists; pass overwrite=True "
                        "(CLI: --overwrite) to replace it")
    readers: dict[str, MatSplit] = {}
    try:
        for split in SPLITS:
            if (bundle / f"{split}.mat").is_file():
                readers[split] = open_mat_split(bundle / f"{split}.mat", split)
        shapes = {(r.seq_len, r.n_targets) for r in readers.values()}
        if len(shapes) != 1:
            raise DataError(f"{bundle}: splits disagree on (length, targets): "
                            + ", ".join(f"{s}={(r.seq_len, r.n_targets)}" for s, r in readers.items()))
        oracle_file = bundle / ORACLE_FILE
        oracle = h5py.File(oracle_file, "r") if oracle_file.is_file() else None
        try:
            with atomic_directory(target, (STORE_MARKER,), overwrite, inputs=(bundle,)) as tmp:
                _write_store(tmp, bundle, readers, oracle, slab, progress)
        finally:
            if oracle is not None:
                oracle.close()
    finally:
        for r in readers.values():
            r.close()
    return Store(target)


def _write_split(tmp: Path, bundle: Path, split: str, reader: MatSplit, oracle, slab: int,
                 progress: bool, pool: ThreadPoolExecutor) -> dict:
    """Stream one split into its files; return its manifest entry."""
    n, seq_len, n_targets = reader.n, reader.seq_len, reader.n_targets
    files = {"codes": f"{split}.codes.npy", "labels": f"{split}.labels.npy"}
    writers = {"codes": NpyWriter(tmp / files["codes"], np.uint8, (n, seq_len)),
               "labels": NpyWriter(tmp / files["labels"], np.uint8, (n, (n_targets + 7) // 8))}
    oracle_ds = oracle[split] if oracle is not None and split in oracle else None
    if oracle_ds is not None:
        if oracle_ds.shape != (n, n_targets):
            raise DataError(f"{bundle / ORACLE_FILE}: '{split}' has shape {oracle_ds.shape}, "
                            f"expected {(n, n_targets)}")
        files["oracle"] = f"{split}.oracle.npy"
        writers["oracle"] = NpyWriter(tmp / files["oracle"], np.float16, (n, n_targets))
    positives = np.zeros(n_targets, np.int64)
    bar = tqdm(total=n, desc=f"convert {split}", unit="seq", unit_scale=True, disable=not progress)
    # The next slab is read and decoded in a thread while this one is packed, hashed and
    # written: h5py's reads, NumPy, hashlib and file writes release the GIL for large blocks.
    starts = list(range(0, n, slab))
    pending = pool.submit(reader.read_codes, 0, min(slab, n))
    for i, start in enumerate(starts):
        stop = min(start + slab, n)
        codes, y = pending.result()
        if i + 1 < len(starts):
            pending = pool.submit(reader.read_codes, stop, min(stop + slab, n))
        writers["codes"].append(codes)
        writers["labels"].append(np.packbits(y, axis=1))
        positives += y.sum(axis=0, dtype=np.int64)
        if oracle_ds is not None:
            writers["oracle"].append(oracle_ds[start:stop])
        bar.update(stop - start)
    bar.close()
    checksums = {key: writer.close() for key, writer in writers.items()}
    return {"n": n, "files": files, "sha256": checksums,
            "positive_rate": (positives / n).round(6).tolist()}


def _write_store(tmp: Path, bundle: Path, readers: dict[str, MatSplit], oracle,
                 slab: int, progress: bool) -> None:
    seq_len, n_targets = next(iter(readers.values())).seq_len, next(iter(readers.values())).n_targets
    started = time.time()
    splits = {}
    with ThreadPoolExecutor(1) as pool:
        for split, reader in readers.items():
            splits[split] = _write_split(tmp, bundle, split, reader, oracle, slab, progress, pool)
    meta_path = bundle / SYNTHETIC_META
    write_manifest(tmp, seq_len, n_targets, splits, _source_description(bundle), started,
                   synthetic=read_json(meta_path, "synthetic bundle description")
                   if meta_path.is_file() else None)


def write_manifest(directory: Path, seq_len: int, n_targets: int, splits: dict, source: dict,
                   started: float, synthetic: dict | None = None,
                   targets: list[str] | None = None) -> None:
    """A store's ``manifest.json``. ``splits``: what each split's writer returned (its
    ``sha256`` checksums make the store's fingerprint); ``started``: ``time.time()`` when
    the conversion began."""
    fingerprint = hashlib.sha256(json.dumps(
        {s: v["sha256"] for s, v in splits.items()}, sort_keys=True).encode()).hexdigest()
    write_json_atomic(directory / MANIFEST, {
        "format": STORE_FORMAT, "alphabet": ALPHABET, "seq_len": seq_len, "n_targets": n_targets,
        **({"targets": targets} if targets is not None else {}),
        "splits": splits, "source": source, "synthetic": synthetic, "fingerprint": fingerprint,
        "convert_seconds": round(time.time() - started, 3)})


def open_store(path: str | os.PathLike) -> Store:
    """Open a store written by :func:`convert`."""
    return Store(path)
