"""The verdict rules of danqrepro.claims on small fixed tables."""

import numpy as np
import pandas as pd
import pytest

from danqrepro.replication import claims, report


def runs(random_epochs, fixed_epochs, random_loss=None, fixed_loss=None, censored=()):
    """A study table: seeds 0.. in each arm, so the first min(n) seeds are pairs."""
    rows = []
    for arm, epochs, losses in (("random", random_epochs, random_loss),
                                ("fixed", fixed_epochs, fixed_loss)):
        losses = losses or [0.1] * len(epochs)
        rows += [{"dropout": arm, "seed": s, "epochs": e, "best_val_loss": l,
                  "censored": (arm, s) in censored, "seconds_per_epoch": 10.0,
                  "wall_seconds": 10.0 * e} for s, (e, l) in enumerate(zip(epochs, losses))]
    return pd.DataFrame(rows)


def test_c2_pairs_seeds_and_needs_a_similar_loss():
    fixed = [27, 25, 30, 26, 28, 29]
    random = [20, 19, 24, 21, 22, 23, 18, 20]  # 8 runs: 6 paired, 2 only in the random arm
    c = claims.claim_c2(runs(random, fixed))
    assert c["paired_epochs"]["n_pairs"] == 6
    assert c["paired_epochs"]["mean_difference"] == pytest.approx(-6.0)
    assert c["paired_epochs"]["wilcoxon_p"] == pytest.approx(0.03125)  # all 6 signs agree
    assert c["epochs"]["random"]["n"] == 8 and c["verdict"] == "supported"
    worse = claims.claim_c2(runs(random, fixed, [0.102] * 8, [0.1] * 6))  # 2% worse loss
    assert worse["relative_loss_gap"] == pytest.approx(0.02)
    assert worse["verdict"] == "not supported"
    later = claims.claim_c2(runs(fixed, random[:6]))
    assert later["verdict"] == "not supported" and later["reason"] == "random dropout stops later"


def test_c2_too_few_pairs_are_inconclusive():
    c = claims.claim_c2(runs([20, 19, 21, 18, 20], [27, 26, 28, 29, 30]))
    assert c["verdict"] == "inconclusive" and "seed pairs" in c["reason"]


def test_c2_with_censored_runs_uses_the_sign_test_over_pairs_whose_order_is_known():
    # a fixed run at the cap (60, a lower bound) still stopped after its random pair
    capped = claims.claim_c2(runs([20] * 6, [60, 27, 28, 29, 30, 31], censored={("fixed", 0)}))
    assert capped["censored"]["fixed"] == pytest.approx(1 / 6)
    assert capped["test"].startswith("sign test") and capped["paired_order"]["n_known"] == 6
    assert capped["p"] == pytest.approx(0.03125) and capped["verdict"] == "supported"
    # pairs capped on both sides are dropped: 4 known pairs cannot decide
    both = claims.claim_c2(runs([60, 60, 20, 21, 22, 23], [60, 60, 27, 28, 29, 30],
                                censored={("random", 0), ("random", 1), ("fixed", 0), ("fixed", 1)}))
    assert both["paired_order"]["n_both_censored"] == 2 and both["paired_order"]["n_known"] == 4
    assert both["verdict"] == "inconclusive" and "order" in both["reason"]
    # a capped random run stopped after its uncensored fixed pair, whatever its count says
    late = claims.claim_c2(runs([60, 20, 21, 22, 23, 24], [59, 27, 28, 29, 30, 31],
                                censored={("random", 0)}))
    assert late["paired_order"]["n_a_smaller"] == 5 and late["paired_order"]["n_b_smaller"] == 1
    assert late["p"] == pytest.approx(0.21875) and late["verdict"] == "inconclusive"


def test_c3_with_censored_runs_is_inconclusive():
    c = claims.claim_c3(runs([12] * 6, [60, 12, 13, 11, 12, 12], censored={("fixed", 0)}))
    assert c["verdict"] == "inconclusive" and "censored" in c["reason"]


def test_c3_no_difference_needs_a_narrow_ci():
    same = claims.claim_c3(runs([12, 13, 12, 11, 12, 13], [12, 12, 13, 11, 12, 12]))
    assert same["equivalence_margin"] == pytest.approx(0.2 * 12)
    assert same["verdict"] == "supported"
    wide = claims.claim_c3(runs([5, 20, 8, 18, 12, 6], [12, 12, 13, 11, 12, 12]))
    assert wide["verdict"] == "inconclusive"
    differ = claims.claim_c3(runs([20, 21, 22, 19, 20, 23], [12, 12, 13, 11, 12, 12]))
    assert differ["verdict"] == "not supported"


def test_c5_compares_spreads():
    spread = claims.claim_c5(runs([10, 38, 12, 30, 8, 25, 15, 40], [20, 21, 20, 22, 21, 20]))
    assert spread["sd_random"] > spread["sd_fixed"] and spread["levene_p"] < 0.05
    assert spread["verdict"] == "supported" and spread["max_random"] == 40
    flat = claims.claim_c5(runs([20] * 6, [20] * 6))
    assert np.isnan(flat["levene_p"]) and flat["verdict"] == "inconclusive"
    two = claims.claim_c5(runs([44, 60], [60, 60]))  # Levene's p would be 0 for any two runs
    assert np.isnan(two["levene_p"]) and two["verdict"] == "inconclusive"
    few = claims.claim_c5(runs([10, 38, 12, 30, 8], [20, 21, 20, 22, 21]))  # a study part way
    assert few["verdict"] == "inconclusive"
    assert few["reason"] == "fewer than 6 runs in an arm"


def test_c1_sign_test_over_targets():
    better = {"n_targets": 919, "roc_better_fraction": 0.6, "pr_mean_difference": 0.01}
    assert claims.claim_c1(better)["verdict"] == "supported"
    even = {"n_targets": 919, "roc_better_fraction": 0.52, "pr_mean_difference": 0.01}
    assert claims.claim_c1(even)["sign_test_p"] > 0.05
    assert claims.claim_c1(even)["verdict"] == "inconclusive"
    worse = {"n_targets": 919, "roc_better_fraction": 0.3, "pr_mean_difference": -0.02}
    assert claims.claim_c1(worse)["verdict"] == "not supported"


def test_c4_is_not_testable_on_a_cpu():
    small, large = runs([12] * 6, [12] * 6), runs([20] * 6, [20] * 6)
    c = claims.claim_c4(small, large)
    assert c["verdict"] == "not testable here" and c["epochs_ratio"] == pytest.approx(0.6)


def test_c2_order_test_reads_the_sign_test_only_when_runs_were_censored():
    capped = claims.claim_c2(runs([20] * 6, [60, 27, 28, 29, 30, 31], censored={("fixed", 0)}))
    assert report.order_test(capped) == (
        "random dropout stopped first in 6 and fixed dropout in 0 of the 6 seed pairs whose "
        "order is known (1 paired run at the epoch cap; sign test p = 0.031)")
    assert report.order_test(claims.claim_c2(runs([20] * 6, [27] * 6))) == ""
