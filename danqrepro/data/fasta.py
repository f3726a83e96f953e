"""Your own sequences: FASTA files and a labels table into a store (``danqrepro convert
--fasta``), and the sequence reading that prediction shares.

The store is the one the DeepSEA converter writes (:mod:`danqrepro.data.store`), so the
pipeline, models and runner use it unchanged:

- Each split holds its sequences in FASTA order, then their reverse complements in the
  same order (the DeepSEA layout); the labels of a reverse complement are its sequence's.
- Bases are coded A, G, C, T = 0..3 (the DeepSEA channel order) and N = 4, an all-zero
  one-hot row; lower case is read as upper case (soft-masking); any other character is
  refused, naming the file, record and line.
- Sequences must share one length, or are centred and cropped or padded with N to
  ``length`` when it is given (the crop or the padding split evenly, the odd base on
  the right).
- Labels: a tab-separated table whose first column names the sequences (the FASTA
  record names, the header's first word) and whose other columns are the targets, 0 or
  1. Every FASTA record needs a row and every row a record.
- Splits: one FASTA per split (``train`` and ``valid`` required, ``test`` optional); or
  one FASTA split by a seeded random draw of ``valid_fraction`` and ``test_fraction``;
  or one FASTA whose record names carry coordinates (``chr7:1000-2000``) split by
  chromosome, as DeepSEA held out chr7 (part, validation) and chr8 and chr9 (test).

Everything is checked before the store is written: the FASTA indexes (pyfaidx) give
names and lengths, the labels are read once in chunks into a packed temporary file, and
the sequences are scanned for bad characters. Memory grows with the number of records
(their names), not with their length; the store's files are written slab by slab under
a temporary name and renamed at the end. With ``length``, only each record's centred
window is read, so a chromosome-sized record costs ``length`` bytes; without it, a
store row holds a whole record, and records longer than :data:`MAX_WHOLE_RECORD` are
refused (pass ``length``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..files import DataError, atomic_directory, atomic_file
from ..sequence import INVALID_CODE, encode, fit_length, reverse_complement_codes
from .deepsea import SPLITS
from .store import STORE_MARKER, NpyWriter, sha256_file, write_manifest

# the longest record stored whole (without a length): a store row per record and strand
MAX_WHOLE_RECORD = 100_000
COORDINATES = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>\d+)-(?P<end>\d+)")


def _line_of(path: Path, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of ``path`` (for error messages only)."""
    lines, read = 1, 0
    with open(path, "rb") as f:
        while read < offset:
            block = f.read(min(1 << 20, offset - read))
            if not block:
                break
            lines += block.count(b"\n")
            read += len(block)
    return lines


def write_index(path: Path, out: Path) -> None:
    """Write the samtools-style index (``.fai``: name, length, offset, bases and bytes per
    line) of the FASTA file ``path`` to ``out``, reading a line at a time: memory is bounded
    by the longest line, not by a record (pyfaidx's own indexer keeps every line's length).
    Raises DataError naming the line of a sequence before any header, a header without a
    name, or a record whose lines are not of one width (the last one may be shorter)."""
    def problem(lineno: int, what: str) -> DataError:
        return DataError(f"{path}: line {lineno}: {what}; not a well-formed FASTA file")

    with open(path, "rb") as fasta, atomic_file(out) as tmp, open(tmp, "w") as index:
        offset, record = 0, None  # record: [name, length, offset, bases/line, bytes/line, ended]
        for lineno, line in enumerate(fasta, start=1):
            if line.startswith(b">"):
                if record:
                    index.write("\t".join(map(str, record[:5])) + "\n")
                words = line[1:].split()
                if not words:
                    raise problem(lineno, "a header without a name")
                record = [words[0].decode(errors="replace"), 0, offset + len(line), 0, 0, False]
            elif record is None:
                if line.strip():
                    raise problem(lineno, "sequence before the first header")
            else:
                bases = len(line.rstrip(b"\r\n"))
                if record[5] and bases:
                    raise problem(lineno, f"record {record[0]!r} has lines of unequal width")
                if not record[3]:
                    record[3], record[4] = bases, len(line)
                elif bases != record[3]:
                    if bases > record[3]:
                        raise problem(lineno, f"record {record[0]!r} has lines of unequal width")
                    record[5] = True  # a shorter line ends the record
                record[5] = record[5] or bases == 0
                record[1] += bases
            offset += len(line)
        if record:
            index.write("\t".join(map(str, record[:5])) + "\n")


def _index_of(path: Path) -> Path:
    """The index to read ``path`` with: its own ``.fai`` where one is newer than it, else
    one written into the data cache (never beside the input: its directory may be read-only
    or not the user's to write in)."""
    import hashlib

    from . import cache_dir
    beside = path.with_name(path.name + ".fai")
    stat = path.stat()
    if beside.is_file() and beside.stat().st_mtime_ns >= stat.st_mtime_ns:
        return beside
    key = hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    index = cache_dir() / "fai" / f"{path.name}-{key}.fai"
    if not index.is_file():
        index.parent.mkdir(parents=True, exist_ok=True)
        write_index(path, index)
    return index


class FastaFile:
    """A FASTA file opened through pyfaidx: record names in file order, their lengths and
    sequences by name, with errors that name the file, record and line."""

    def __init__(self, path: str | os.PathLike):
        import pyfaidx
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: no such FASTA file")
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), indexname=str(_index_of(self.path)),
                                        as_raw=True, read_long_names=False,
                                        duplicate_action="stop", rebuild=False, build_index=False)
        except ValueError as err:  # pyfaidx: 'Duplicate key "name"'
            raise DataError(f"{self.path}: record names must be unique ({err})") from err
        except pyfaidx.FastaIndexingError as err:
            raise DataError(f"{self.path}: not a well-formed FASTA file ({err})") from err
        self.names = list(self._fasta.keys())
        if not self.names:
            raise DataError(f"{self.path}: no FASTA records")

    def length(self, name: str) -> int:
        return self._fasta.faidx.index[name].rlen

    def sequence(self, name: str, start: int = 0, end: int | None = None) -> str:
        return self._fasta[name][start:end]

    def line_of(self, name: str, position: int | None = None) -> int:
        """The file line of record ``name``'s header, or of its base ``position``."""
        entry = self._fasta.faidx.index[name]
        first_base = _line_of(self.path, entry.offset)
        return first_base - 1 if position is None else first_base + position // entry.lenc

    def codes(self, name: str, length: int | None = None) -> np.ndarray:
        """The record's codes, or with ``length`` its centred window of that many bases
        (:func:`~danqrepro.sequence.fit_length`; only the window is read, so memory is
        bounded by ``length``, not by the record); a character other than ACGTN raises
        DataError naming it."""
        if length is None:
            return self._encoded(name, 0, None)
        n = self.length(name)
        start = max(0, (n - length) // 2)
        return fit_length(self._encoded(name, start, start + min(n, length)), length)

    def check(self, name: str, block: int = 1 << 18) -> None:
        """Refuse a character other than ACGTN anywhere in the record, reading it ``block``
        bases at a time (bounded memory for any record length)."""
        for start in range(0, self.length(name), block):
            self._encoded(name, start, start + block)

    def _encoded(self, name: str, start: int, end: int | None) -> np.ndarray:
        codes = encode(self.sequence(name, start, end))
        bad = np.flatnonzero(codes == INVALID_CODE)
        if bad.size:
            at = start + int(bad[0])
            char = self.sequence(name, at, at + 1)
            raise DataError(f"{self.path}: record {name!r}, line {self.line_of(name, at)}: "
                            f"character {char!r} at position {at + 1} (expected A, C, G, T or N)")
        return codes

    def close(self) -> None:
        self._fasta.close()


def read_labels(path: str | os.PathLike, packed_out: Path, values_per_chunk: int = 2_000_000
                ) -> tuple[list[str], dict[str, int]]:
    """Read a labels table in chunks into a packed uint8 ``.npy`` (rows, ceil(targets / 8)).

    Returns the target names (the header after the first column) and the row of each
    sequence name. Raises DataError naming the file and line of a value other than 0 or 1,
    a duplicate name, a missing value or a malformed row. Chunks hold about
    ``values_per_chunk`` labels, parsed as numbers, so memory does not grow with the rows.
    """
    import pandas as pd
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such labels file")
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    if len(header) < 2:
        raise DataError(f"{path}: line 1 must be a tab-separated header: the sequence-name "
                        "column, then one column per target")
    targets = header[1:]
    if len(set(header)) != len(header):
        raise DataError(f"{path}: line 1 names a column twice")
    rows: dict[str, int] = {}
    parts = []
    try:
        reader = pd.read_csv(path, sep="\t", dtype={header[0]: str}, na_filter=False,
                             chunksize=max(1, values_per_chunk // len(targets)))
        for block in reader:
            first_line = len(rows) + 2  # the header is line 1
            values = block.iloc[:, 1:].to_numpy()
            if values.dtype == object:  # a column with anything but numbers: compare as text
                values = values.astype(str)
            ones, zeros = ("1", "0") if values.dtype.kind == "U" else (1, 0)
            bad = ~np.isin(values, (zeros, ones))
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise DataError(f"{path}: line {first_line + r}, target {targets[c]!r}: "
                                f"{str(values[r, c])!r} (labels must be 0 or 1)")
            for i, name in enumerate(block.iloc[:, 0]):
                if name in rows:
                    raise DataError(f"{path}: line {first_line + i}: sequence {name!r} already "
                                    f"on line {rows[name] + 2}")
                rows[name] = len(rows)
            parts.append(np.packbits(values == ones, axis=1))
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: {err}") from err
    if not rows:
        raise DataError(f"{path}: no label rows after the header")
    np.save(packed_out, np.concatenate(parts))
    return targets, rows


def _split_names(fastas: dict[str, FastaFile], valid_fraction: float, test_fraction: float,
                 chromosomes: dict[str, list[str]] | None, seed: int) -> dict[str, list[tuple[str, str]]]:
    """(fasta key, record name) pairs of each split, in FASTA order."""
    if set(fastas) != {"all"}:
        return {split: [(split, n) for n in fastas[split].names] for split in fastas}
    fasta = fastas["all"]
    if chromosomes:
        where = {c: split for split, cs in chromosomes.items() for c in cs}
        splits = {s: [] for s in SPLITS}
        for name in fasta.names:
            match = COORDINATES.match(name)
            if match is None:
                raise DataError(f"{fasta.path}: record {name!r} (line {fasta.line_of(name)}) has no "
                                "chr:start-end coordinates to split by chromosome")
            splits[where.get(match["chrom"], "train")].append(("all", name))
        return splits
    if not (0 <= valid_fraction < 1 and 0 <= test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise DataError(f"valid_fraction={valid_fraction}, test_fraction={test_fraction}: expected "
                        "fractions in [0, 1) that sum to less than 1")
    draw = np.random.default_rng(seed).random(len(fasta.names))
    split_of = np.where(draw < valid_fraction, "valid",
                        np.where(draw < valid_fraction + test_fraction, "test", "train"))
    return {s: [("all", n) for n, t in zip(fasta.names, split_of) if t == s] for s in SPLITS}


def convert_fasta(fasta: str | os.PathLike | dict[str, str | os.PathLike], labels: str | os.PathLike,
                  store_dir: str | os.PathLike, length: int | None = None,
                  valid_fraction: float = 0.1, test_fraction: float = 0.1,
                  chromosomes: dict[str, list[str]] | None = None, seed: int = 0,
                  slab: int = 4096, progress: bool = True, overwrite: bool = False,
                  source: dict | None = None):
    """Write FASTA sequences and their labels into a store.

    Parameters
    ----------
    fasta : one FASTA file (split by ``chromosomes`` or by the fractions), or a dict of
        FASTA files by split (``train`` and ``valid`` required, ``test`` optional).
    labels : tab-separated labels table (see the module docstring).
    store_dir : the store to create.
    length : centre and crop or N-pad every sequence to this length; None requires one
        length for all.
    valid_fraction, test_fraction, seed : the seeded random split of a single FASTA.
    chromosomes : ``{"valid": ["chr7"], "test": ["chr8", "chr9"]}``: split a single FASTA
        by the chromosome in its record names; other chromosomes train.
    slab : records encoded and written at a time.
    source : what the manifest says the data came from, where the FASTA files are made
        from something else (:func:`danqrepro.data.peaks.convert_peaks`).

    Returns
    -------
    Store whose splits hold 2 x records samples (forward, then reverse complements).
    """
    from .store import Store
    target = Path(store_dir)
    paths = {k: Path(v) for k, v in fasta.items()} if isinstance(fasta, dict) else {"all": Path(fasta)}
    unknown = set(paths) - set(SPLITS) - {"all"}
    if unknown:
        raise DataError(f"FASTA splits {sorted(unknown)}: expected train, valid and test")
    if "all" not in paths and not {"train", "valid"} <= set(paths):
        raise DataError(f"FASTA files for {sorted(paths)}: train and valid are required")
    if length is not None and length < 1:
        raise DataError(f"length={length}: expected a whole number >= 1")
    unknown = sorted(set(chromosomes or ()) - {"valid", "test"})
    if unknown:
        raise DataError(f"--by-chromosome {unknown[0]}=...: the split is 'valid' or 'test' (the "
                        "other chromosomes train)")
    fastas = {k: FastaFile(p) for k, p in paths.items()}
    try:
        if STORE_MARKER.found_in(target) and not overwrite:
            raise DataError(f"{target}: a store exists; pass --overwrite (overwrite=True) to "
                            "replace it, or choose another directory")
        with atomic_directory(target, (STORE_MARKER,), overwrite,
                              inputs=(*paths.values(), Path(labels))) as tmp:
            started = time.time()
            targets, rows = read_labels(labels, tmp / "labels.tmp.npy")
            packed = np.load(tmp / "labels.tmp.npy", mmap_mode="r")
            splits = _split_names(fastas, valid_fraction, test_fraction, chromosomes, seed)
            seq_len = _check(fastas, splits, rows, Path(labels), length, tuple(chromosomes or ()))
            for s, records in splits.items():
                for key, name in tqdm(records, desc=f"check {s}", unit="seq", disable=not progress,
                                      mininterval=1):
                    fastas[key].check(name)
            entries = {s: _write_split(tmp, s, records, fastas, rows, packed, seq_len, len(targets),
                                       length, slab, progress)
                       for s, records in splits.items() if records}
            del packed
            (tmp / "labels.tmp.npy").unlink()
            source = {**(source or {
                "kind": "fasta",
                "files": {f"fasta:{k}": _describe(p) for k, p in paths.items()}
                | {"labels": _describe(Path(labels))},
                "split": _split_rule(paths, valid_fraction, test_fraction, chromosomes, seed)}),
                "length": length}
            write_manifest(tmp, seq_len, len(targets), entries, source, started, targets=targets)
    finally:
        for f in fastas.values():
            f.close()
    return Store(target)


def _describe(path: Path) -> dict:
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _split_rule(paths, valid_fraction, test_fraction, chromosomes, seed) -> dict:
    if "all" not in paths:
        return {"by": "file"}
    if chromosomes:
        return {"by": "chromosome", "chromosomes": chromosomes}
    return {"by": "random", "valid_fraction": valid_fraction, "test_fraction": test_fraction,
            "seed": seed}


def _check(fastas, splits, rows, labels: Path, length, requested=()) -> int:
    """Names against labels, split sizes and lengths, before any sequence is read.
    ``requested``: the splits asked for by name (by chromosome), which must not be empty."""
    seen: dict[str, str] = {}
    for s in requested:
        if not splits.get(s):
            raise DataError(f"split {s!r} is empty: no record lies on the chromosomes asked for "
                            "it (check the names' chr:start-end and --by-chromosome)")
    for s, records in splits.items():
        for key, name in records:
            if fastas[key].length(name) == 0:
                raise DataError(f"{fastas[key].path}: record {name!r} (line {fastas[key].line_of(name)}) "
                                "has no bases")
            if name in seen:
                raise DataError(f"{fastas[key].path}: record {name!r} (line {fastas[key].line_of(name)}) "
                                f"is also in {seen[name]}")
            seen[name] = str(fastas[key].path)
            if name not in rows:
                raise DataError(f"{fastas[key].path}: record {name!r} (line {fastas[key].line_of(name)}) "
                                f"has no row in {labels}")
    unlabelled = [n for n in rows if n not in seen]
    if unlabelled:
        raise DataError(f"{labels}: line {rows[unlabelled[0]] + 2}: sequence {unlabelled[0]!r} is in "
                        f"no FASTA file ({len(unlabelled)} such rows)")
    for s in ("train", "valid"):
        if not splits.get(s):
            raise DataError(f"split {s!r} is empty: nothing to {'train' if s == 'train' else 'validate'} "
                            "on (check the FASTA files, fractions or chromosomes)")
    if length is not None:
        return length
    lengths = {}
    for records in splits.values():
        for key, name in records:
            if fastas[key].length(name) > MAX_WHOLE_RECORD:
                raise DataError(f"{fastas[key].path}: record {name!r} has {fastas[key].length(name)} "
                                f"bases, over the {MAX_WHOLE_RECORD} a store row holds whole; pass "
                                "a length (CLI: --length) to read each record's centred window")
            lengths.setdefault(fastas[key].length(name), (key, name))
            if len(lengths) > 1:
                (l1, (k1, n1)), (l2, (k2, n2)) = list(lengths.items())[:2]
                raise DataError(f"{fastas[k2].path}: record {n2!r} (line {fastas[k2].line_of(n2)}) has "
                                f"{l2} bases where {n1!r} has {l1}; pass a length (CLI: --length) to "
                                "centre, crop and pad them")
    return next(iter(lengths))


def _write_split(tmp: Path, split: str, records, fastas, rows, packed, seq_len: int,
                 n_targets: int, length, slab: int, progress: bool) -> dict:
    n = 2 * len(records)
    files = {"codes": f"{split}.codes.npy", "labels": f"{split}.labels.npy"}
    codes_out = NpyWriter(tmp / files["codes"], np.uint8, (n, seq_len))
    labels_out = NpyWriter(tmp / files["labels"], np.uint8, (n, packed.shape[1]))
    bar = tqdm(total=n, desc=f"convert {split}", unit="seq", unit_scale=True, disable=not progress)
    positives = np.zeros(n_targets, np.int64)
    for strand in ("forward", "reverse"):
        for start in range(0, len(records), slab):
            block = records[start:start + slab]
            codes = np.stack([fastas[k].codes(name, length) for k, name in block])
            labels = packed[np.array([rows[name] for _, name in block])]
            codes_out.append(codes if strand == "forward" else reverse_complement_codes(codes))
            labels_out.append(labels)
            positives += np.unpackbits(labels, axis=1, count=n_targets).sum(axis=0, dtype=np.int64)
            bar.update(len(block))
    bar.close()
    (tmp / f"{split}.names.txt").write_text("".join(f"{name}\n" for _, name in records))
    return {"n": n, "files": files, "names": f"{split}.names.txt",
            "sha256": {"codes": codes_out.close(), "labels": labels_out.close()},
            "positive_rate": (positives / n).round(6).tolist()}
