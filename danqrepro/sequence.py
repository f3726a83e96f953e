"""DNA sequences as arrays: the alphabet, base codes, one-hot, reverse complements, lengths
and FASTA output.

Every array here is in DeepSEA's channel order A, G, C, T. Bases are held as uint8 codes
(A, G, C, T = 0..3, N = 4) and expanded to one-hot (N: an all-zero row) where a model reads
them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

ALPHABET = "AGCT"  # DeepSEA's channel order
N_CODE = 4  # an unknown base: an all-zero one-hot row
INVALID_CODE = 255  # what :func:`encode` gives a character other than ACGTN

_ENCODE = np.full(256, INVALID_CODE, np.uint8)
for _code, _base in enumerate(ALPHABET + "N"):
    _ENCODE[ord(_base)] = _ENCODE[ord(_base.lower())] = _code
_DECODE = np.frombuffer((ALPHABET + "N").encode(), np.uint8)
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], np.uint8)  # A<->T, G<->C, N stays N


def encode(sequence: str) -> np.ndarray:
    """Bases to codes: uint8 (length,), A, G, C, T = 0..3, N = 4 (either case), anything
    else :data:`INVALID_CODE`."""
    return _ENCODE[np.frombuffer(sequence.encode("latin-1", "replace"), np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Codes (length,) to a string of A, G, C, T and N."""
    return _DECODE[np.asarray(codes, np.uint8)].tobytes().decode()


def codes_to_one_hot(codes: np.ndarray) -> np.ndarray:
    """(..., length) codes -> (..., length, 4) uint8 one-hot; code 4 (N) gives a zero row."""
    return (codes[..., None] == np.arange(4, dtype=np.uint8)).astype(np.uint8)


def one_hot_to_codes(x: np.ndarray) -> np.ndarray:
    """(..., length, 4) one-hot -> (..., length) uint8 codes, 4 where no base is set."""
    codes = x.argmax(axis=-1).astype(np.uint8)
    codes[~x.any(axis=-1)] = N_CODE
    return codes


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot sequences in A, G, C, T order.

    The complement of (A, G, C, T) is (T, C, G, A), the channels reversed, so the
    reverse complement reverses both the position and the channel axes.

    Parameters
    ----------
    x : array (..., length, 4)

    Returns
    -------
    array (..., length, 4), a view.
    """
    return x[..., ::-1, ::-1]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes (..., length) in A, G, C, T = 0..3 order, N = 4."""
    return _COMPLEMENT_CODE[codes[..., ::-1]]


def fit_length(codes: np.ndarray, length: int) -> np.ndarray:
    """Centre ``codes`` (n,) in ``length``: crop evenly, or pad with N evenly (the odd
    base goes to the right). Returns (length,)."""
    n = codes.shape[0]
    if n >= length:
        start = (n - length) // 2
        return codes[start:start + length]
    left = (length - n) // 2
    return np.concatenate([np.full(left, N_CODE, np.uint8), codes,
                           np.full(length - n - left, N_CODE, np.uint8)])


def write_fasta(path: str | os.PathLike, records: Iterable[tuple[str, str]],
                width: int = 60) -> None:
    """Write ``(name, sequence)`` records as FASTA with lines of ``width`` bases."""
    with open(path, "w") as f:
        for name, seq in records:
            f.write(f">{name}\n")
            f.writelines(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
