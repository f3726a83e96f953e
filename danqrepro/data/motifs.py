"""JASPAR motifs via ``pyjaspar`` (offline SQLite releases) and PWM helpers.

JASPAR matrices are in A, C, G, T order; everything returned here is converted at this
boundary to the DeepSEA order A, G, C, T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pwm import information
from ..sequence import ALPHABET

JASPAR_RELEASE = "JASPAR2024"
_DEEPSEA_FROM_JASPAR = ["ACGT".index(b) for b in ALPHABET]  # A,G,C,T rows from A,C,G,T


@dataclass(frozen=True)
class Motif:
    """A position weight matrix.

    Attributes
    ----------
    matrix_id, name : JASPAR identifiers (e.g. ``MA0139.2``, ``CTCF``).
    pwm : float64 (length, 4), rows sum to 1, columns A, G, C, T.
    """

    matrix_id: str
    name: str
    pwm: np.ndarray

    @property
    def length(self) -> int:
        return self.pwm.shape[0]

    def information_content(self) -> float:
        """Total information content in bits (2 bits per position at most)."""
        return information(self.pwm)

    def sharpened(self, power: float) -> "Motif":
        """The PWM raised to ``power`` and renormalised per position: the same consensus
        with more information per site (``power`` 1 returns the motif itself)."""
        if power == 1:
            return self
        pwm = self.pwm ** power
        return Motif(self.matrix_id, self.name, pwm / pwm.sum(axis=1, keepdims=True))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` sites drawn from the PWM as base codes (n, length) in A, G, C, T."""
        cumulative = self.pwm.cumsum(axis=1)
        u = rng.random((n, self.length, 1))
        return (u > cumulative[None, :, :3]).sum(axis=2).astype(np.uint8)


def counts_to_pwm(counts_acgt: np.ndarray, pseudocount: float = 0.8) -> np.ndarray:
    """JASPAR counts (4, length) in A, C, G, T -> PWM (length, 4) in A, G, C, T."""
    counts = np.asarray(counts_acgt, dtype=np.float64) + pseudocount / 4
    pwm = (counts / counts.sum(axis=0, keepdims=True)).T
    return pwm[:, _DEEPSEA_FROM_JASPAR]


def load_jaspar(release: str = JASPAR_RELEASE, collection: str = "CORE",
                tax_group: str = "vertebrates") -> list[Motif]:
    """All matrices of one JASPAR release, collection and taxonomic group, by matrix ID."""
    from pyjaspar import jaspardb  # imported here: opening the SQLite file takes a second

    db = jaspardb(release=release)
    motifs = db.fetch_motifs(collection=collection, tax_group=[tax_group])
    out = [Motif(m.matrix_id, m.name,
                 counts_to_pwm(np.array([m.counts[b] for b in "ACGT"]))) for m in motifs]
    return sorted(out, key=lambda m: m.matrix_id)


def select_motifs(motifs: list[Motif], n: int, rng: np.random.Generator,
                  min_length: int = 6, max_length: int = 16,
                  min_information: float = 8.0) -> list[Motif]:
    """``n`` distinct, informative motifs of moderate length, chosen by ``rng``.

    One matrix per TF name, so no two planted motifs are versions of the same one.
    """
    seen, pool = set(), []
    for m in motifs:
        key = m.name.upper()
        if (min_length <= m.length <= max_length and key not in seen
                and m.information_content() >= min_information):
            seen.add(key)
            pool.append(m)
    if len(pool) < n:
        raise ValueError(f"only {len(pool)} JASPAR motifs pass the filters, {n} requested")
    return [pool[i] for i in sorted(rng.choice(len(pool), size=n, replace=False))]
