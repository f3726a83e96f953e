"""Comparing two arms (e.g. fixed against random dropout) run over several seeds."""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu


def bootstrap_ci(values, n_resamples: int = 10_000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean. (nan, nan) for fewer than 2."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return (float("nan"), float("nan"))
    means = np.random.default_rng(seed).choice(v, size=(n_resamples, v.size)).mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def compare_arms(a, b, name_a: str = "a", name_b: str = "b") -> dict:
    """Mean, bootstrap 95% CI, two-sided Mann-Whitney U and effect sizes of two samples.

    Effect sizes: the difference of means, and the rank-biserial correlation
    ``r = 2 U_a / (n_a n_b) - 1`` (= Cliff's delta: +1 when every ``a`` exceeds every ``b``).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = {}
    for name, v in ((name_a, a), (name_b, b)):
        lo, hi = bootstrap_ci(v)
        out[name] = {"n": int(v.size), "mean": float(v.mean()) if v.size else float("nan"),
                     "sd": float(v.std(ddof=1)) if v.size > 1 else float("nan"),
                     "min": float(v.min()) if v.size else float("nan"),
                     "max": float(v.max()) if v.size else float("nan"),
                     "ci_low": lo, "ci_high": hi}
    if a.size and b.size:
        test = mannwhitneyu(a, b, alternative="two-sided")
        out["mann_whitney_u"] = float(test.statistic)
        out["p_value"] = float(test.pvalue)
        out["rank_biserial"] = float(2 * test.statistic / (a.size * b.size) - 1)
        out["mean_difference"] = float(a.mean() - b.mean())
    return out
