"""The DeepSEA bundle (``deepsea_train_bundle.v0.9``) exactly as published.

``train.mat`` is MATLAB v7.3, i.e. HDF5 (often behind a 512-byte user block): h5py sees
``trainxdata`` with shape (1000, 4, N) and ``traindata`` with shape (919, N) because
MATLAB is column-major. ``valid.mat`` and ``test.mat`` are MATLAB v5 files, read with
``scipy.io.loadmat``: ``validxdata`` (n, 4, 1000) and ``validdata`` (n, 919), the same for
``test``. Channels are in A, G, C, T order. Each split holds the forward strand in its
first half and the reverse complements of the same samples, in the same order, in its
second half.

Every reader here returns samples sample-major: ``x`` uint8 (n, 1000, 4) one-hot in
A, G, C, T order and ``y`` uint8 (n, targets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from ..files import DataError
from ..sequence import N_CODE, one_hot_to_codes

SPLITS = ("train", "valid", "test")
SEQ_LEN = 1000
N_TARGETS = 919
# Column ranges of the three target classes in DeepSEA's 919-column label matrix.
CLASS_SIZES = {"DNase": 125, "TF": 690, "histone": 104}
BUNDLE_FILES = {split: f"{split}.mat" for split in SPLITS}


def class_ranges(n_targets: int = N_TARGETS) -> dict[str, range]:
    """Column ranges of DNase, TF and histone targets.

    At 919 targets these are DeepSEA's columns 0-124, 125-814 and 815-918; a smaller
    target count keeps DeepSEA's proportions (each class gets at least one column).
    """
    total = sum(CLASS_SIZES.values())
    sizes = [max(1, round(n_targets * s / total)) for s in CLASS_SIZES.values()]
    sizes[1] = n_targets - sizes[0] - sizes[2]  # TF takes the rounding remainder
    if min(sizes) < 1:
        raise DataError(f"n_targets={n_targets} is too small for three target classes")
    ranges, start = {}, 0
    for name, size in zip(CLASS_SIZES, sizes):
        ranges[name] = range(start, start + size)
        start += size
    return ranges


_SEVERAL = 255
# The base code of each pattern of the 4 one-hot bits (channel c sets bit c): one base,
# none (N), or several (invalid). One table lookup replaces arithmetic and masking.
_PATTERN_CODE = np.full(16, _SEVERAL, np.uint8)
_PATTERN_CODE[[0, 1, 2, 4, 8]] = [N_CODE, 0, 1, 2, 3]


def _check_one_hot(x: np.ndarray, where: str, channel_axis: int = -1) -> None:
    """0/1 values with at most one base per position (an N is all zeros in DeepSEA)."""
    if x.size and (x.max() > 1 or (x.dtype.kind in "if" and x.min() < 0)):
        raise DataError(f"{where}: expected 0/1 one-hot values, found values in "
                        f"[{x.min()}, {x.max()}]")
    if x.size and x.sum(axis=channel_axis, dtype=np.int16).max() > 1:
        raise _several_bases(where)


def _several_bases(where: str) -> DataError:
    return DataError(f"{where}: expected at most one base per position (one-hot), "
                     "found a position with several")


def _check_labels(y: np.ndarray, where: str) -> None:
    if y.size and (y.max() > 1 or (y.dtype.kind in "if" and y.min() < 0)):
        raise DataError(f"{where}: expected 0/1 labels, found values in [{y.min()}, {y.max()}]")


@dataclass
class MatSplit:
    """One split of a DeepSEA bundle, validated on open and read in slabs.

    Attributes
    ----------
    path : Path of the ``.mat`` file.
    split : ``"train"``, ``"valid"`` or ``"test"``.
    n : number of samples (both strands).
    n_targets : number of label columns.
    """

    path: Path
    split: str
    n: int
    n_targets: int
    seq_len: int
    _x: object = None  # h5py dataset (train) or ndarray (valid/test)
    _y: object = None
    _file: object = None

    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``start:stop`` as ``x`` uint8 (n, seq_len, 4) and ``y`` uint8 (n, targets)."""
        stop = self.n if stop is None else min(stop, self.n)
        where = f"{self.path} [{self.split} samples {start}:{stop}]"
        try:
            if self._file is not None:  # HDF5: sample axis last, read one slab
                x = np.asarray(self._x[:, :, start:stop]).transpose(2, 0, 1)
                y = np.asarray(self._y[:, start:stop]).T
            else:
                x = self._x[start:stop].transpose(0, 2, 1)
                y = self._y[start:stop]
        except (OSError, RuntimeError, ValueError) as err:
            raise DataError(f"{where}: could not read ({err}); is the file truncated?") from err
        _check_one_hot(x, where)
        _check_labels(y, where)
        return np.ascontiguousarray(x, dtype=np.uint8), np.ascontiguousarray(y, dtype=np.uint8)

    def read_codes(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``start:stop`` as base codes uint8 (n, seq_len), 0..3 for A, G, C, T and
        4 for N, and labels uint8 (n, targets).

        For ``train.mat`` the codes are computed in the file's (length, 4, n) layout, which
        avoids building and transposing the one-hot slab (the converter's hot path).
        """
        if self._file is None:
            x, y = self.read(start, stop)
            return one_hot_to_codes(x), y
        stop = self.n if stop is None else min(stop, self.n)
        where = f"{self.path} [{self.split} samples {start}:{stop}]"
        try:
            raw = np.asarray(self._x[:, :, start:stop])  # (length, 4, n)
            y = np.asarray(self._y[:, start:stop]).T
        except (OSError, RuntimeError, ValueError) as err:
            raise DataError(f"{where}: could not read ({err}); is the file truncated?") from err
        if raw.size and (raw.max() > 1 or (raw.dtype.kind in "if" and raw.min() < 0)):
            _check_one_hot(raw, where, channel_axis=1)  # raises, naming the values found
        _check_labels(y, where)
        raw = raw.astype(np.uint8, copy=False)
        pattern = raw[:, 0] | (raw[:, 1] << 1)  # the 4 channels as 4 bits, (length, n)
        pattern |= raw[:, 2] << 2
        pattern |= raw[:, 3] << 3
        codes = _PATTERN_CODE[pattern.T]  # (n, length)
        if (codes == _SEVERAL).any():
            raise _several_bases(where)
        return codes, np.ascontiguousarray(y, dtype=np.uint8)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _shape_error(path, key, got, expected) -> DataError:
    return DataError(f"{path}: dataset '{key}' has shape {tuple(got)}, expected {expected}")


def open_mat_split(path: str | os.PathLike, split: str) -> MatSplit:
    """Open and validate one split file of a DeepSEA bundle.

    Checks the keys, the shapes (including that the sample counts of sequences and
    labels match and are even, forward then reverse complement), the dtypes and, on the
    first samples, the 0/1 one-hot values; any failure raises :class:`DataError` naming
    the file and what was expected, before anything long starts.
    """
    path = Path(path)
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    if not path.is_file():
        raise DataError(f"{path}: no such file (expected the DeepSEA '{split}' split)")
    xkey, ykey = f"{split}xdata", f"{split}data"
    if h5py.is_hdf5(path):
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            raise DataError(f"{path}: cannot open as HDF5/MATLAB v7.3 ({err}); "
                            "is the file truncated or corrupt?") from err
        missing = [k for k in (xkey, ykey) if k not in f]
        if missing:
            found = sorted(f)  # read before closing: a closed file has no keys
            f.close()
            raise DataError(f"{path}: missing dataset(s) {missing}; expected '{xkey}' "
                            f"(length, 4, N) and '{ykey}' (targets, N); found {found}")
        xs, ys = f[xkey], f[ykey]
        if xs.ndim != 3 or xs.shape[1] != 4:
            f.close()
            raise _shape_error(path, xkey, xs.shape, "(length, 4, N) as h5py sees MATLAB v7.3")
        if ys.ndim != 2:
            f.close()
            raise _shape_error(path, ykey, ys.shape, "(targets, N)")
        seq_len, n, n_targets = xs.shape[0], xs.shape[2], ys.shape[0]
        if ys.shape[1] != n:
            f.close()
            raise DataError(f"{path}: '{xkey}' has {n} samples but '{ykey}' has {ys.shape[1]}")
        reader = MatSplit(path, split, n, n_targets, seq_len, xs, ys, f)
    else:
        try:
            mat = scipy.io.loadmat(path, variable_names=[xkey, ykey])
        except Exception as err:  # scipy raises several types for a bad file
            raise DataError(f"{path}: cannot read as a MATLAB v5 file ({err}); "
                            "is the file truncated or corrupt?") from err
        missing = [k for k in (xkey, ykey) if k not in mat]
        if missing:
            raise DataError(f"{path}: missing variable(s) {missing}; expected '{xkey}' "
                            f"(N, 4, length) and '{ykey}' (N, targets)")
        xs, ys = mat[xkey], mat[ykey]
        if xs.ndim != 3 or xs.shape[1] != 4:
            raise _shape_error(path, xkey, xs.shape, "(N, 4, length)")
        if ys.ndim != 2 or ys.shape[0] != xs.shape[0]:
            raise DataError(f"{path}: '{ykey}' has shape {ys.shape}, expected "
                            f"({xs.shape[0]}, targets) to match '{xkey}'")
        n, seq_len, n_targets = xs.shape[0], xs.shape[2], ys.shape[1]
        reader = MatSplit(path, split, n, n_targets, seq_len, xs, ys)
    for key, ds in ((xkey, reader._x), (ykey, reader._y)):
        if ds.dtype.kind not in "uifb":
            reader.close()
            raise DataError(f"{path}: '{key}' has dtype {ds.dtype}, expected a numeric 0/1 type")
    if n % 2:
        reader.close()
        raise DataError(f"{path}: {n} samples; expected an even count (forward strand, "
                        "then the reverse complements in the same order)")
    reader.read(0, min(n, 256))  # values of the first samples, checked now, not hours in
    return reader


def is_bundle(path: str | os.PathLike) -> bool:
    """True when ``path`` is a directory holding DeepSEA-layout ``*.mat`` files."""
    path = Path(path)
    return path.is_dir() and any((path / f).is_file() for f in BUNDLE_FILES.values())
