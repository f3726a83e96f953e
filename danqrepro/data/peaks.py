"""Peak-only data into a store, the field's way: bound sequences (ChIP-seq peaks) against
dinucleotide-shuffled negatives, as DeepBind and deepRAM trained.

Sources are DeepBind's tables (tab-separated, header ``FoldID EventID seq Bound``, plain or
gzipped: ``Bound`` 1 for a peak, 0 for a negative) or FASTA files of positives. A source
that holds negatives (a test table) is taken as it is; a source of positives only gains
``shuffled_negatives`` dinucleotide shuffles of each positive
(:func:`~danqrepro.data.shuffle.dinucleotide_shuffle`), seeded by ``seed`` and the
positive's place, so one seed gives one store. Without a ``valid`` source the validation
split is a seeded draw of ``valid_fraction`` of the training positives, each with its own
negatives (never a positive in one split and its shuffles in another). The store has one
target (``target``, 1 for a peak); how its negatives were made is in its manifest.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np

from ..files import DataError
from ..sequence import INVALID_CODE, encode, write_fasta
from .shuffle import dinucleotide_shuffle

TABLE_COLUMNS = ("EventID", "seq", "Bound")


def _open_text(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gzipped else open(path)


def read_table(path: str | os.PathLike) -> list[tuple[str, str, int]]:
    """``(name, sequence, bound)`` of each row of a DeepBind table. Raises DataError naming
    the file, line and column of a missing column, a short row, a ``Bound`` other than 0
    or 1, a character other than ACGTN or a repeated name."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such peak table")
    rows, seen = [], {}
    with _open_text(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        missing = [c for c in TABLE_COLUMNS if c not in header]
        if missing:
            raise DataError(f"{path}: line 1: no column {missing[0]!r} (expected a DeepBind "
                            f"table with columns {' '.join(TABLE_COLUMNS)}, tab-separated)")
        at = {c: header.index(c) for c in TABLE_COLUMNS}
        for lineno, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < len(header):
                raise DataError(f"{path}: line {lineno}: {len(fields)} columns, the header has "
                                f"{len(header)}")
            name, seq, bound = (fields[at[c]] for c in TABLE_COLUMNS)
            if bound not in ("0", "1"):
                raise DataError(f"{path}: line {lineno}, column 'Bound': {bound!r} (expected 0 or 1)")
            bad = np.flatnonzero(encode(seq) == INVALID_CODE)
            if bad.size or not seq:
                what = f"character {seq[bad[0]]!r}" if bad.size else "no bases"
                raise DataError(f"{path}: line {lineno}, column 'seq': {what} (expected A, C, G, "
                                "T or N)")
            if name in seen:
                raise DataError(f"{path}: line {lineno}: name {name!r} already on line {seen[name]}")
            seen[name] = lineno
            rows.append((name, seq.upper(), int(bound)))
    if not rows:
        raise DataError(f"{path}: no rows after the header")
    return rows


def read_source(path: str | os.PathLike) -> list[tuple[str, str, int]]:
    """A table (:func:`read_table`, plain or gzipped) or a plain FASTA file of positives
    (every record bound)."""
    path = Path(path)
    with _open_text(path) if path.is_file() else open(os.devnull) as f:
        is_fasta = f.read(1) == ">"
    if not is_fasta:
        return read_table(path)
    from .fasta import FastaFile
    fasta = FastaFile(path)
    try:
        for name in fasta.names:
            fasta.check(name)
        return [(name, fasta.sequence(name).upper(), 1) for name in fasta.names]
    finally:
        fasta.close()


def with_negatives(rows: list[tuple[str, str, int]], per_positive: int, seed: int,
                   split_id: int) -> list[tuple[str, str, int]]:
    """``rows``, and where they hold no negative, ``per_positive`` dinucleotide shuffles of
    each positive after it (named ``NAME_shuffleK``), each drawn from
    ``(seed, split_id, row, K)``."""
    if any(bound == 0 for _, _, bound in rows) or per_positive == 0:
        return list(rows)
    out = []
    for i, (name, seq, bound) in enumerate(rows):
        out.append((name, seq, bound))
        for k in range(per_positive):
            rng = np.random.default_rng([seed, split_id, i, k])
            out.append((f"{name}_shuffle{k}", dinucleotide_shuffle(seq, rng), 0))
    return out


def convert_peaks(sources: dict[str, str | os.PathLike], store_dir: str | os.PathLike,
                  shuffled_negatives: int = 1, length: int | None = None,
                  valid_fraction: float = 0.1, seed: int = 0, target: str | None = None,
                  progress: bool = True, overwrite: bool = False):
    """Write peak tables or FASTA files of positives into a one-target store.

    Parameters
    ----------
    sources : path by split: ``train`` required; ``valid`` and ``test`` optional.
    store_dir : the store to create (the rules of ``danqrepro convert``: refused where
        something else stands, replaced only with ``overwrite``).
    shuffled_negatives : dinucleotide shuffles per positive of a source without negatives.
    length : centre and crop or N-pad every sequence to this length (None: all equal).
    valid_fraction, seed : the validation draw (without a ``valid`` source) and the shuffles.
    target : the target's name (default: the training file's name up to its first ``_``).

    Returns
    -------
    Store with 2 x rows samples per split (forward, then reverse complements).
    """
    from .fasta import _describe, convert_fasta
    unknown = sorted(set(sources) - {"train", "valid", "test"})
    if unknown or "train" not in sources:
        raise DataError(f"peak sources for {sorted(sources)}: expected train (required), valid "
                        "and test")
    if shuffled_negatives < 0:
        raise DataError(f"shuffled_negatives={shuffled_negatives}: expected a whole number >= 0")
    if not 0 <= valid_fraction < 1 or ("valid" not in sources and valid_fraction == 0):
        raise DataError(f"valid_fraction={valid_fraction}: expected a fraction in (0, 1) without "
                        "a valid source")
    paths = {split: Path(p) for split, p in sources.items()}
    read = {split: read_source(p) for split, p in paths.items()}  # every file checked first
    if "valid" not in read:
        draw = np.random.default_rng([seed, 99]).random(len(read["train"]))
        read["valid"] = [r for r, d in zip(read["train"], draw) if d < valid_fraction]
        read["train"] = [r for r, d in zip(read["train"], draw) if d >= valid_fraction]
    target = target or paths["train"].name.split("_")[0].split(".")[0]
    splits = {split: with_negatives(rows, shuffled_negatives, seed, i)
              for i, (split, rows) in enumerate(sorted(read.items()))}
    out = Path(store_dir)
    with tempfile.TemporaryDirectory(prefix="danqrepro-peaks-") as tmp:
        fastas = {split: Path(tmp) / f"{split}.fa" for split in splits}
        for split, rows in splits.items():
            write_fasta(fastas[split], ((name, seq) for name, seq, _ in rows))
        labels = Path(tmp) / "labels.tsv"
        with open(labels, "w") as f:
            f.write(f"name\t{target}\n")
            f.writelines(f"{name}\t{bound}\n" for rows in splits.values() for name, _, bound in rows)
        source = {"kind": "peaks",
                  "files": {f"peaks:{split}": _describe(p) for split, p in paths.items()},
                  "negatives": {"method": "dinucleotide shuffle (Altschul-Erickson)",
                                "per_positive": shuffled_negatives, "seed": seed,
                                "splits": sorted(s for s in read
                                                 if all(b == 1 for _, _, b in read[s]))},
                  "valid": ({"by": "file"} if "valid" in sources else
                            {"by": "random", "valid_fraction": valid_fraction, "seed": seed})}
        return convert_fasta(fastas, labels, out, length=length, progress=progress,
                             overwrite=overwrite, source=source)
