"""The real-data chapter's yardstick: a scan of each TF's own JASPAR motif on its peaks.

For a TF with JASPAR CORE vertebrate matrices named for it, each sequence scores the best
log-odds match of a matrix on either strand (:func:`danqrepro.replication.baselines.scan`);
the matrix is the one whose scores separate the training peaks from their shuffles best
(ROC AUC on a seeded sample of the training split), and its ROC AUC on the test split is
the baseline. TFs without a matrix of their own (SERBP1, SUZ12, TAF1, TAF7 in JASPAR 2024)
have none: they are reported as such, never given another TF's motif.
"""

from __future__ import annotations

import numpy as np

from ..data.motifs import JASPAR_RELEASE, load_jaspar
from .baselines import scan


def matrices_for(tf: str, release: str = JASPAR_RELEASE) -> list:
    """The JASPAR matrices named for ``tf`` (alone or in a dimer's name, e.g. ``A::B``)."""
    return [m for m in load_jaspar(release) if tf.upper() in m.name.upper().split("::")]


def _forward(split, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes (m, L) and labels (m,) of up to ``n`` forward sequences of a store split (a
    seeded sample; the scan reads both strands itself)."""
    half = split.n // 2
    rows = np.arange(half)
    if n is not None and n < half:
        rows = np.sort(np.random.default_rng(seed).choice(half, n, replace=False))
    return np.asarray(split.codes[rows]), split.labels(rows)[:, 0]


def pwm_baseline(tf: str, store, n_select: int = 4000, seed: int = 0) -> dict:
    """The motif scan of ``tf`` on ``store`` (a one-target peak store): the matrix chosen
    on up to ``n_select`` training sequences and its test ROC AUC.

    Returns
    -------
    dict: ``matrix_id`` and ``test_roc`` (None for a TF without a matrix), ``train_roc``
    of each candidate matrix.
    """
    from ..evaluate import roc_auc
    candidates = matrices_for(tf)
    if not candidates:
        return {"tf": tf, "matrix_id": None, "test_roc": None, "candidates": {}}
    codes, labels = _forward(store.split("train"), n_select, seed)
    train_roc = {m.matrix_id: float(roc_auc(labels[:, None], scan(codes, m.pwm).max(axis=1)[:, None])[0])
                 for m in candidates}
    best = max(candidates, key=lambda m: train_roc[m.matrix_id])
    codes, labels = _forward(store.split("test"), None, seed)
    test = float(roc_auc(labels[:, None], scan(codes, best.pwm).max(axis=1)[:, None])[0])
    return {"tf": tf, "matrix_id": best.matrix_id, "test_roc": test, "candidates": train_roc}
