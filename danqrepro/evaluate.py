"""Scoring as in the DanQ and DeepSEA papers: reverse-complement averaging, then
per-target ROC AUC and PR AUC (average precision), summarised by target class.

The AUCs are rank-based (one SIMD sort per target, then binary searches) and equal
scikit-learn's ``roc_auc_score`` and ``average_precision_score`` (ties included) to
floating-point rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data.deepsea import class_ranges
from .data.store import n_first


def average_strands(pred: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average each forward prediction with its reverse complement's.

    Parameters
    ----------
    pred : (n, targets), forward half then reverse-complement half in the same order.
    labels : (n, targets), the same layout (both halves carry the same labels).

    Returns
    -------
    pred : (n / 2, targets) strand-averaged; labels : (n / 2, targets) of the forward half.
    """
    n = pred.shape[0]
    if n % 2:
        raise ValueError(f"{n} predictions: expected an even count (forward, then reverse complement)")
    half = n // 2
    return (pred[:half] + pred[half:]) / 2, labels[:half]


def _scorable(labels: np.ndarray) -> np.ndarray:
    positives = labels.sum(axis=0)
    return (positives > 0) & (positives < labels.shape[0])


def per_target_aucs(labels: np.ndarray, scores: np.ndarray,
                    chunk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Per-column ROC AUC and average precision (PR AUC), rank-based, one sort per column.

    Each column's scores are sorted once (NumPy's SIMD sort); the positives' scores are
    then located in that order with binary searches, which gives, for each positive
    score ``v``, the number of samples below, at and above ``v`` and the same for the
    positives alone. With ``P`` positives and ``N`` negatives:

    - ROC AUC = sum over positives of (negatives below v + negatives at v / 2) / (P N),
      the Mann-Whitney statistic (ties count a half, as in the trapezoid rule).
    - AP = sum over distinct positive scores u of (positives at u / P) x precision(>= u),
      precision(>= u) = positives at or above u / samples at or above u: scikit-learn's
      step-wise sum, in which recall changes only at positive scores.

    Parameters
    ----------
    labels : (n, targets) 0/1; scores : (n, targets).
    chunk : columns transposed and sorted together (bounds the extra memory to
        ``chunk x n`` scores).

    Returns
    -------
    roc, ap : float64 (targets,) each, NaN where a column has no positive or no negative.
    """
    n, t = labels.shape
    roc, ap = np.full(t, np.nan), np.full(t, np.nan)
    ok = np.flatnonzero(_scorable(labels))
    for start in range(0, ok.size, chunk):
        cols = ok[start:start + chunk]
        s = np.ascontiguousarray(scores[:, cols].T)
        y = np.ascontiguousarray(labels[:, cols].T).astype(bool)
        ordered = np.sort(s, axis=1)
        for j, col in enumerate(cols):
            pos = np.sort(s[j][y[j]])
            n_pos = pos.size
            n_neg = n - n_pos
            below = np.searchsorted(ordered[j], pos, "left")
            at_or_below = np.searchsorted(ordered[j], pos, "right")
            pos_below = np.searchsorted(pos, pos, "left")
            pos_at_or_below = np.searchsorted(pos, pos, "right")
            neg_below = below - pos_below
            neg_at = (at_or_below - below) - (pos_at_or_below - pos_below)
            roc[col] = (neg_below.sum(dtype=np.float64) + 0.5 * neg_at.sum()) / (n_pos * n_neg)
            first = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])  # distinct positive scores
            pos_at = np.diff(np.r_[first, n_pos])
            pos_at_or_above = n_pos - pos_below[first]
            at_or_above = n - below[first]
            ap[col] = np.sum(pos_at * (pos_at_or_above / at_or_above)) / n_pos
    return roc, ap


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-column ROC AUC (see :func:`per_target_aucs`)."""
    return per_target_aucs(labels, scores)[0]


def average_precision(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-column average precision (see :func:`per_target_aucs`)."""
    return per_target_aucs(labels, scores)[1]


def score(pred: np.ndarray, labels: np.ndarray, average_rc: bool = True,
          classes: dict[str, range] | None = None) -> dict:
    """Per-target ROC AUC and PR AUC with class summaries.

    Parameters
    ----------
    pred, labels : (n, targets) in the split's layout (forward half, then RC half).
    average_rc : average strands first, as DeepSEA and DanQ did.
    classes : column ranges to summarise besides "all" (None: DeepSEA's classes).

    Returns
    -------
    dict with ``roc_auc`` and ``pr_auc`` (lists, None where skipped), ``n_scored``,
    ``n_skipped``, ``skipped`` (column indices) and ``by_class`` (mean and median of
    each metric for DNase, TF, histone and all).
    """
    if average_rc:
        pred, labels = average_strands(pred, labels)
    roc, pr = per_target_aucs(labels, pred)
    skipped = np.flatnonzero(np.isnan(roc))
    return {
        "n_samples": int(labels.shape[0]),
        "roc_auc": [None if np.isnan(v) else float(v) for v in roc],
        "pr_auc": [None if np.isnan(v) else float(v) for v in pr],
        "n_scored": int(labels.shape[1] - skipped.size),
        "n_skipped": int(skipped.size),
        "skipped": skipped.tolist(),
        "by_class": summarise(roc, pr, classes),
    }


def summarise(roc: np.ndarray, pr: np.ndarray, classes: dict[str, range] | None = None) -> dict:
    """Mean and median of ROC AUC and PR AUC per class (``classes``, default DeepSEA's
    column ranges) and over all targets."""
    roc, pr = np.asarray(roc, dtype=float), np.asarray(pr, dtype=float)
    classes = class_ranges(roc.size) if classes is None else classes
    groups = {name: np.asarray(list(r)) for name, r in classes.items()}
    groups["all"] = np.arange(roc.size)
    out = {}
    for name, cols in groups.items():
        r, p = roc[cols], pr[cols]
        out[name] = {"n": int(np.isfinite(r).sum()),
                     "roc_mean": float(np.nanmean(r)), "roc_median": float(np.nanmedian(r)),
                     "pr_mean": float(np.nanmean(p)), "pr_median": float(np.nanmedian(p))}
    return out


def compare_targets(a: dict, b: dict) -> dict:
    """Put two score dicts side by side (e.g. DanQ ``a`` against the DeepSEA CNN ``b``).

    Returns the fraction of targets where ``a`` has the higher ROC AUC and PR AUC, and
    the number with a relative PR AUC gain of over 50% (the DanQ paper's figures).
    """
    ra, rb = (np.array(s["roc_auc"], dtype=float) for s in (a, b))
    pa, pb = (np.array(s["pr_auc"], dtype=float) for s in (a, b))
    ok = np.isfinite(ra) & np.isfinite(rb)
    gain = (pa[ok] - pb[ok]) / pb[ok]
    return {"n_targets": int(ok.sum()),
            "roc_better_fraction": float((ra[ok] > rb[ok]).mean()),
            "pr_better_fraction": float((pa[ok] > pb[ok]).mean()),
            "pr_gain_over_50pct": int((gain > 0.5).sum()),
            "roc_mean_difference": float((ra[ok] - rb[ok]).mean()),
            "pr_mean_difference": float((pa[ok] - pb[ok]).mean())}


def published_aucs(path: str | Path | None = None):
    """The DanQ paper's per-target table (DeepSEA, DanQ, DanQ-JASPAR ROC and PR AUC).

    Source: Quang & Xie (2016), DanQ, Nucleic Acids Research 44(11):e107,
    supplementary table (``aucs.txt`` of uci-cbcl/DanQ). Returns a pandas DataFrame.
    """
    import pandas as pd
    path = Path(path) if path else Path(__file__).parent / "resources" / "danq_published_aucs.tsv"
    return pd.read_csv(path, sep="\t")


def oracle_scores(store, split: str = "test") -> dict:
    """The scores of the synthetic bundle's generating probabilities: the best achievable."""
    s = store.split(split)
    if s.oracle is None:
        raise ValueError(f"{store.path}: split {split!r} has no oracle (not a synthetic bundle)")
    return score(np.asarray(s.oracle, dtype=np.float32), s.labels(slice(None)))


def mean_bce(labels: np.ndarray, probs: np.ndarray) -> float:
    """Binary cross-entropy averaged over samples and targets, probabilities clipped at
    1e-7 as Keras does. ``probs`` (n, targets), or (targets,) for one row for all."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).mean())


def reference_losses(store, split: str = "valid", n: int | None = None) -> dict:
    """Validation losses to put beside a learning curve, on the first ``n`` samples of
    ``split`` (as training validates): ``constant``, every target predicted at its positive
    rate in the training split (what a model reaches by learning the label rates alone),
    and on synthetic data ``oracle``, the generating probabilities (the best achievable)."""
    s = store.split(split)
    stop = n_first(s.n, n)
    labels = s.labels(slice(0, stop))
    rates = np.asarray(store.manifest["splits"]["train"]["positive_rate"])
    out = {"constant": mean_bce(labels, rates)}
    if s.oracle is not None:
        out["oracle"] = mean_bce(labels, s.oracle[:stop])
    return out


def predict(model, store, split: str = "test", batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (n, targets) float32 and labels (n, targets) uint8 of a whole split."""
    from .data.pipeline import eval_dataset
    s = store.split(split)
    pred = model.predict(eval_dataset(s, batch), verbose=0)
    return pred.astype(np.float32), s.labels(slice(None))


def evaluate_run(model, store, split: str, out: str | Path, batch: int = 1000) -> dict:
    """Score ``model`` on ``split`` of ``store``; write ``out/metrics-<split>.json``."""
    from .files import write_json_atomic
    pred, labels = predict(model, store, split, batch)
    metrics = score(pred, labels, classes=store.target_classes)
    metrics["split"] = split
    write_json_atomic(Path(out) / f"metrics-{split}.json", metrics)
    return metrics
