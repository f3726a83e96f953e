"""The paper's claims (C1-C5) tested on a set of runs, each giving a figure and a verdict.

The verdict words are fixed: ``supported``, ``not supported`` (the data point the other
way, significantly where a test applies) and ``inconclusive`` (too few runs, or no
significant difference where the claim needs one).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import levene

from .stats import compare_arms

ALPHA = 0.05
PAPER = {
    "C1": "DanQ beats the CNN-only DeepSEA design (higher ROC AUC on 94.1% of targets)",
    "C2": "at large batch, random dropout stops in fewer epochs (20 vs 27) at a loss within 0.3%",
    "C3": "at small batch, both arms stop after about 12 epochs with similar loss",
    "C4": "a small-batch epoch costs about 3x a large-batch one; total time is larger",
    "C5": "random dropout makes the epoch count less predictable (one run took 38 epochs)",
}


def _arms(df, column):
    return (df.loc[df.dropout == "random", column].to_numpy(float),
            df.loc[df.dropout == "fixed", column].to_numpy(float))


def claim_c2(df) -> dict:
    """Random against fixed dropout at a large batch: epochs to early stopping and loss."""
    random, fixed = _arms(df, "epochs")
    epochs = compare_arms(random, fixed, "random", "fixed")
    loss = compare_arms(*_arms(df, "best_val_loss"), "random", "fixed")
    loss_gap = loss["mean_difference"] / loss["fixed"]["mean"]
    fewer = epochs["mean_difference"] < 0
    if epochs["p_value"] < ALPHA:
        verdict = "supported" if fewer and abs(loss_gap) <= 0.003 else "not supported"
    else:
        verdict = "inconclusive"
    return {"epochs": epochs, "loss": loss, "relative_loss_gap": loss_gap, "verdict": verdict}


MIN_RUNS_FOR_NO_DIFFERENCE = 5


def claim_c3(df) -> dict:
    """At a small batch: no difference in epochs. A claim of no difference is only
    supported with enough runs to have seen one: at least
    :data:`MIN_RUNS_FOR_NO_DIFFERENCE` per arm, overlapping bootstrap CIs and p >= 0.05."""
    epochs = compare_arms(*_arms(df, "epochs"), "random", "fixed")
    loss = compare_arms(*_arms(df, "best_val_loss"), "random", "fixed")
    overlap = (epochs["random"]["ci_low"] <= epochs["fixed"]["ci_high"]
               and epochs["fixed"]["ci_low"] <= epochs["random"]["ci_high"])
    if min(epochs["random"]["n"], epochs["fixed"]["n"]) < MIN_RUNS_FOR_NO_DIFFERENCE:
        verdict = "inconclusive"
    else:
        verdict = "supported" if overlap and epochs["p_value"] >= ALPHA else "not supported"
    return {"epochs": epochs, "loss": loss, "verdict": verdict}


def claim_c4(small, large) -> dict:
    """Seconds per epoch and total seconds at the small batch over the large batch."""
    per_epoch = small.seconds_per_epoch.mean() / large.seconds_per_epoch.mean()
    total = small.wall_seconds.mean() / large.wall_seconds.mean()
    verdict = "supported" if per_epoch > 1 and total > 1 else "not supported"
    return {"epoch_time_ratio": float(per_epoch), "total_time_ratio": float(total),
            "verdict": verdict}


def claim_c5(df) -> dict:
    """Spread of the epoch count: standard deviations and Levene's test."""
    random, fixed = _arms(df, "epochs")
    sd_random, sd_fixed = random.std(ddof=1), fixed.std(ddof=1)
    p = float(levene(random, fixed).pvalue) if random.size > 1 and fixed.size > 1 and \
        (random.std() > 0 or fixed.std() > 0) else float("nan")
    if np.isnan(p) or p >= ALPHA:
        verdict = "inconclusive"
    else:
        verdict = "supported" if sd_random > sd_fixed else "not supported"
    return {"sd_random": float(sd_random), "sd_fixed": float(sd_fixed),
            "max_random": float(random.max()), "max_fixed": float(fixed.max()),
            "levene_p": p, "verdict": verdict}


def claim_c1(comparison: dict) -> dict:
    """DanQ against the CNN per target (see :func:`danqrepro.evaluate.compare_targets`)."""
    better = comparison["roc_better_fraction"] > 0.5 and comparison["pr_mean_difference"] > 0
    worse = comparison["roc_better_fraction"] < 0.5 and comparison["pr_mean_difference"] < 0
    return {**comparison, "verdict": "supported" if better else
            ("not supported" if worse else "inconclusive")}
