"""Comparing two arms (e.g. fixed against random dropout) run over several seeds."""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, mannwhitneyu


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
        # one run in an arm cannot reach any level: no p-value rather than p = 1
        out["p_value"] = float(test.pvalue) if min(a.size, b.size) > 1 else float("nan")
        out["rank_biserial"] = float(2 * test.statistic / (a.size * b.size) - 1)
        out["mean_difference"] = float(a.mean() - b.mean())
    return out


def paired_comparison(a, b, level: float = 0.95) -> dict:
    """Two arms run with the same seeds (the same initialisation and data order), compared
    pair by pair: ``a[i]`` against ``b[i]``.

    Returns the number of pairs and of non-zero differences (``n_used``: what the
    signed-rank test ranks), the mean and median of ``d = a - b``, the t-based ``level``
    interval of the mean difference, the standardised effect ``mean(d) / sd(d)`` and the
    exact two-sided Wilcoxon signed-rank p-value (:func:`plan.signed_rank_test`; nan
    without a non-zero difference).
    """
    from .plan import signed_rank_test, t_interval
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired arms need equal lengths, got {a.size} and {b.size}")
    d = a - b
    n = int(d.size)
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    lo, hi = t_interval(d, level)
    test = signed_rank_test(d)
    return {"n_pairs": n, "n_used": test["n_used"],
            "mean_difference": float(d.mean()) if n else float("nan"),
            "median_difference": float(np.median(d)) if n else float("nan"),
            "ci_low": lo, "ci_high": hi,
            "standardised_effect": float(d.mean() / sd) if n > 1 and sd > 0 else float("nan"),
            "wilcoxon_p": test["p"], "min_p": test["min_p"]}


def censored_sign_test(a, b, a_censored, b_censored) -> dict:
    """Paired sign test of ``a < b`` for counts cut at a common cap (epochs to early stopping
    where some runs reached the epoch cap: a censored value is a lower bound).

    A pair's order is known when neither value is censored (ties dropped), or when one is
    censored and the other is not (the censored one is the larger). Pairs censored on both
    sides say nothing and are dropped. Under the null hypothesis the two members of a pair
    are exchangeable, so each pair whose order is known has ``a`` first with probability
    1/2 and the two-sided binomial test is exact.

    Parameters
    ----------
    a, b : array_like, shape (n_pairs,)
        The paired values.
    a_censored, b_censored : array_like of bool, shape (n_pairs,)
        Whether each value is a lower bound.

    Returns
    -------
    dict
        ``n_pairs``, ``n_known`` (pairs whose order is known), ``n_a_smaller``,
        ``n_b_smaller``, ``n_censored`` (values), ``n_both_censored`` (pairs) and the
        two-sided ``p`` (nan without a known pair).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ca, cb = np.asarray(a_censored, dtype=bool), np.asarray(b_censored, dtype=bool)
    if not a.shape == b.shape == ca.shape == cb.shape:
        raise ValueError(f"paired arms need equal lengths, got {a.size}, {b.size}, "
                         f"{ca.size} and {cb.size}")
    a_smaller = (~ca & ~cb & (a < b)) | (~ca & cb)
    b_smaller = (~ca & ~cb & (b < a)) | (ca & ~cb)
    k, n_known = int(a_smaller.sum()), int(a_smaller.sum() + b_smaller.sum())
    p = float(binomtest(k, n_known, 0.5).pvalue) if n_known else float("nan")
    return {"n_pairs": int(a.size), "n_known": n_known, "n_a_smaller": k,
            "n_b_smaller": n_known - k, "n_censored": int(ca.sum() + cb.sum()),
            "n_both_censored": int((ca & cb).sum()), "p": p}
