"""The paper's claims (C1-C5) tested on a set of runs, each giving figures and a verdict.

The verdict words and the rules that give them are fixed here and written out in the
methods page (section "From statistics to verdicts"):

- ``supported``: the test the claim names is significant (two-sided, alpha 0.05) in the
  paper's direction, with the side condition the claim states (C2: a loss within 0.3%);
  for a claim of *no* difference (C3), the 95% CI of the paired difference lies inside
  the equivalence margin.
- ``not supported``: the data contradict the claim: significant the other way, or a
  difference where the claim says none, or the claim's side condition fails.
- ``inconclusive``: neither, including designs that cannot reach significance (fewer
  than :data:`MIN_PAIRS` seed pairs) and, for C3 and C5, arms with more than
  :data:`MAX_CENSORED` of their runs censored at the epoch cap (their epoch counts are
  lower bounds, so neither a difference's size nor a spread can be measured).
- ``not testable here``: the quantity measures the hardware, not the method (C4's times
  on a compute-bound CPU).

Runs with the same seed share the initialisation and the batch order across the two
dropout arms, so C2, C3 and the paired part of C5 compare them seed by seed
(:func:`danqrepro.stats.paired_comparison`, a Wilcoxon signed-rank test); the unpaired
Mann-Whitney test over all runs (the paper's 14 against 6) is reported beside it. C2 asks
only which arm stops first, which a censored run still answers: where any paired run
reached the epoch cap, C2 uses the sign test over the pairs whose order is known
(:func:`danqrepro.stats.censored_sign_test`) instead of the signed-rank test.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, levene

from .stats import censored_sign_test, compare_arms, paired_comparison

ALPHA = 0.05
MIN_PAIRS = 6  # a two-sided signed-rank test over fewer pairs cannot reach p < 0.05
MAX_CENSORED = 0.10  # above this fraction of censored runs an epoch comparison is moot
LOSS_TOLERANCE = 0.003  # C2: "at a loss within 0.3%"
EQUIVALENCE_MARGIN = 0.2  # C3: "no difference" = paired CI inside ±20% of the fixed mean
PAPER = {
    "C1": "DanQ beats the CNN-only DeepSEA design (higher ROC AUC on 94.1% of targets)",
    "C2": "at large batch, random dropout stops in fewer epochs (20 vs 27) at a loss within 0.3%",
    "C3": "at small batch, both arms stop after about 12 epochs with similar loss",
    "C4": "a small-batch epoch costs about 3x a large-batch one; total time is larger",
    "C5": "random dropout makes the epoch count less predictable (one run took 38 epochs)",
}
TESTS = {
    "C1": "sign test over targets (DanQ's ROC AUC above the CNN's), one run of each",
    "C2": "Wilcoxon signed-rank over seed pairs (epochs); with runs at the epoch cap, the sign "
          "test over pairs whose order is known; relative loss gap",
    "C3": "Wilcoxon signed-rank over seed pairs; 95% bootstrap CI against a ±20% margin",
    "C4": "none: epoch times on a compute-bound CPU measure the hardware",
    "C5": "Brown-Forsythe (Levene, median-centred) test of the epoch spreads, per batch size",
}


def _arm(df, dropout: str):
    return df[df.dropout == dropout]


def _pairs(df, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``column`` for the seeds both arms ran, random then fixed, by seed."""
    random = _arm(df, "random").set_index("seed")[column]
    fixed = _arm(df, "fixed").set_index("seed")[column]
    seeds = sorted(set(random.index) & set(fixed.index))
    return random.loc[seeds].to_numpy(float), fixed.loc[seeds].to_numpy(float)


def censored_fraction(df) -> dict:
    """Fraction of each arm's runs that reached the epoch cap."""
    return {arm: float(_arm(df, arm).censored.mean()) if len(_arm(df, arm)) else float("nan")
            for arm in ("random", "fixed")}


def _epoch_comparison(df) -> dict:
    random, fixed = _pairs(df, "epochs")
    censored_random, censored_fixed = _pairs(df, "censored")
    loss_random, loss_fixed = _pairs(df, "best_val_loss")
    loss_gap = (loss_random - loss_fixed) / loss_fixed
    return {"epochs": compare_arms(_arm(df, "random").epochs, _arm(df, "fixed").epochs,
                                   "random", "fixed"),
            "loss": compare_arms(_arm(df, "random").best_val_loss,
                                 _arm(df, "fixed").best_val_loss, "random", "fixed"),
            "paired_epochs": paired_comparison(random, fixed),
            "paired_order": censored_sign_test(random, fixed, censored_random, censored_fixed),
            "paired_relative_loss_gap": paired_comparison(loss_gap, np.zeros_like(loss_gap)),
            "censored": censored_fraction(df)}


def _untestable(c: dict) -> str | None:
    if c["paired_epochs"]["n_pairs"] < MIN_PAIRS:
        return f"fewer than {MIN_PAIRS} seed pairs"
    if max(c["censored"].values()) > MAX_CENSORED:
        return f"over {MAX_CENSORED:.0%} of an arm's runs censored"
    return None


def claim_c2(df) -> dict:
    """Random against fixed dropout at a large batch: fewer epochs to early stopping, at a
    best validation loss within 0.3% (mean paired relative gap).

    The test is the Wilcoxon signed-rank test over seed pairs; where a paired run reached
    the epoch cap, the sign test over the pairs whose order is known (``test`` names the
    one used, ``p`` and ``random_first`` give its outcome)."""
    c = _epoch_comparison(df)
    paired, order = c["paired_epochs"], c["paired_order"]
    gap = c["paired_relative_loss_gap"]["mean_difference"]
    c["relative_loss_gap"] = gap
    if order["n_censored"]:
        c["test"], c["p"] = "sign test (censored runs)", order["p"]
        c["random_first"] = order["n_a_smaller"] > order["n_b_smaller"]
        usable = order["n_known"]
    else:
        c["test"], c["p"] = "Wilcoxon signed-rank", paired["wilcoxon_p"]
        c["random_first"] = paired["mean_difference"] < 0
        usable = paired["n_pairs"]
    if paired["n_pairs"] < MIN_PAIRS:
        verdict, reason = "inconclusive", f"fewer than {MIN_PAIRS} seed pairs"
    elif usable < MIN_PAIRS:
        verdict, reason = "inconclusive", (f"fewer than {MIN_PAIRS} seed pairs whose order "
                                           "the epoch cap leaves known")
    elif c["p"] < ALPHA and c["random_first"]:
        verdict = "supported" if gap <= LOSS_TOLERANCE else "not supported"
        reason = None if gap <= LOSS_TOLERANCE else "fewer epochs, but a worse loss"
    elif c["p"] < ALPHA:
        verdict, reason = "not supported", "random dropout stops later"
    else:
        verdict, reason = "inconclusive", "no significant difference in epochs"
    return {**c, "verdict": verdict, "reason": reason}


def claim_c3(df) -> dict:
    """At a small batch, no difference in epochs: the paired difference's 95% CI inside
    ±:data:`EQUIVALENCE_MARGIN` of the fixed arm's mean, and no significant difference."""
    c = _epoch_comparison(df)
    paired = c["paired_epochs"]
    margin = EQUIVALENCE_MARGIN * c["epochs"]["fixed"]["mean"]
    c["equivalence_margin"] = margin
    reason = _untestable(c)
    if reason:
        verdict = "inconclusive"
    elif paired["wilcoxon_p"] < ALPHA:
        verdict, reason = "not supported", "the arms differ"
    elif -margin <= paired["ci_low"] and paired["ci_high"] <= margin:
        verdict = "supported"
    else:
        verdict, reason = "inconclusive", "the CI is wider than the equivalence margin"
    return {**c, "verdict": verdict, "reason": reason}


def claim_c4(small, large) -> dict:
    """Seconds per epoch and to early stopping at the small batch over the large batch,
    and samples to early stopping (hardware-free). Not testable on a CPU: the paper's 3x
    is a GPU's, where a large batch fills the device; on a compute-bound CPU the cost of
    an epoch hardly depends on the batch."""
    return {"epoch_time_ratio": float(small.seconds_per_epoch.mean() / large.seconds_per_epoch.mean()),
            "total_time_ratio": float(small.wall_seconds.mean() / large.wall_seconds.mean()),
            "epochs_ratio": float(small.epochs.mean() / large.epochs.mean()),
            "verdict": "not testable here",
            "reason": "epoch times on a compute-bound CPU measure the hardware"}


def claim_c5(df) -> dict:
    """Spread of the epoch count at one batch size: standard deviations and the
    Brown-Forsythe test (Levene's, centred on the median)."""
    random, fixed = (_arm(df, a).epochs.to_numpy(float) for a in ("random", "fixed"))
    sd_random, sd_fixed = random.std(ddof=1), fixed.std(ddof=1)
    # two runs have equal deviations from their median, so an arm needs three for a spread test
    testable = random.size > 2 and fixed.size > 2 and (random.std() > 0 or fixed.std() > 0)
    p = float(levene(random, fixed, center="median").pvalue) if testable else float("nan")
    censored = censored_fraction(df)
    if min(random.size, fixed.size) < MIN_PAIRS:
        verdict, reason = "inconclusive", f"fewer than {MIN_PAIRS} runs in an arm"
    elif max(censored.values()) > MAX_CENSORED:
        verdict, reason = "inconclusive", f"over {MAX_CENSORED:.0%} of an arm's runs censored"
    elif np.isnan(p) or p >= ALPHA:
        verdict, reason = "inconclusive", "no significant difference in spread"
    elif sd_random > sd_fixed:
        verdict, reason = "supported", None
    else:
        verdict, reason = "not supported", "random dropout's epochs spread less"
    return {"sd_random": float(sd_random), "sd_fixed": float(sd_fixed),
            "max_random": float(random.max()), "max_fixed": float(fixed.max()),
            "levene_p": p, "censored": censored, "verdict": verdict, "reason": reason}


def claim_c1(comparison: dict) -> dict:
    """DanQ against the CNN per target (see :func:`danqrepro.evaluate.compare_targets`):
    a two-sided sign test of "DanQ's ROC AUC is higher" over the targets, and the mean
    PR AUC difference in the same direction."""
    n, k = comparison["n_targets"], round(comparison["roc_better_fraction"] * comparison["n_targets"])
    p = float(binomtest(k, n, 0.5).pvalue)
    pr = comparison["pr_mean_difference"]
    if p < ALPHA and k > n / 2 and pr > 0:
        verdict, reason = "supported", None
    elif p < ALPHA and k < n / 2 and pr < 0:
        verdict, reason = "not supported", "the CNN is better on most targets"
    else:
        verdict, reason = "inconclusive", "no significant majority of targets"
    return {**comparison, "sign_test_p": p, "verdict": verdict, "reason": reason}
