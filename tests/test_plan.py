"""The registered plan's tests and decision rules: exact where they say so, at their
nominal error rates, and deciding as the plan's text says, including the case that broke
the first study's C2 (six pairs, one tied: a test that could never reach p < 0.05)."""

import numpy as np
import pytest
from scipy.stats import t as student_t
from scipy.stats import wilcoxon

from danqrepro.replication import plan
from danqrepro.replication.plan import (PLAN, decide_c2, decide_c3, decide_c5, holm, non_inferiority,
                                        power_signed_rank, power_tost, signed_rank_test, tost)


def test_signed_rank_is_scipys_exact_test_without_ties_and_exact_with_them():
    rng = np.random.default_rng(3)
    for _ in range(20):
        d = rng.normal(0.4, 1, int(rng.integers(5, 15)))
        assert signed_rank_test(d)["p"] == pytest.approx(wilcoxon(d, method="exact").pvalue, rel=1e-9)
    # with ties: the null distribution over all 2^n sign patterns, enumerated by brute force
    d = np.array([3, -3, 1, 2, 2, -5, 4, 0, 1])
    used = d[d != 0]
    from itertools import product

    from scipy.stats import rankdata
    ranks = rankdata(np.abs(used))
    w = ranks[used > 0].sum()
    null = np.array([ranks[np.array(s, bool)].sum() for s in product((0, 1), repeat=used.size)])
    centre = ranks.sum() / 2
    brute = np.mean(np.abs(null - centre) >= abs(w - centre) - 1e-9)
    r = signed_rank_test(d)
    assert r["n_used"] == 8 and r["p"] == pytest.approx(brute)


def test_the_first_studys_c2_could_not_reach_significance():
    """Batch 1000's six seed pairs, seed 5 tied: five usable pairs, smallest p 0.0625."""
    d_random, d_fixed = np.array([32, 28, 25, 51, 38, 37]), np.array([40, 40, 40, 40, 40, 37])
    r = signed_rank_test(d_random - d_fixed)
    assert r["n_pairs"] == 6 and r["n_used"] == 5 and r["min_p"] == pytest.approx(0.0625)
    c2 = decide_c2(d_random, d_fixed, np.full(6, 0.133), np.full(6, 0.13), 0.0)
    assert c2["verdict"] == "inconclusive" and c2["reason"] == "6 of the 20 planned seed pairs"


def pairs(effect, n=20, sd=3.0, seed=0):
    rng = np.random.default_rng(seed)
    fixed = np.rint(rng.normal(40, 4, n))
    return np.rint(fixed + rng.normal(effect, sd, n)), fixed


def test_c2_rules():
    random, fixed = pairs(-7)
    loss_fixed = np.full(20, 0.13) * (1 + np.random.default_rng(1).normal(0, 0.01, 20))
    assert decide_c2(random, fixed, loss_fixed * 1.001, loss_fixed, 0.0)["verdict"] == "supported"
    worse = decide_c2(random, fixed, loss_fixed * 1.05, loss_fixed, 0.0)  # 5% worse: > 2.3% margin
    assert worse["verdict"] == "not supported" and worse["reason"].startswith("fewer epochs, but")
    random_later, _ = pairs(+7)
    assert decide_c2(random_later, fixed, loss_fixed, loss_fixed, 0.0)["reason"] == "random dropout stops later"
    same, _ = pairs(0, sd=0.001)  # no difference at all, with the planned 20 pairs
    c2 = decide_c2(same + np.tile([1, -1], 10), same, loss_fixed, loss_fixed, 0.0)
    assert c2["verdict"] == "not supported" and "planned power" in c2["reason"]
    assert decide_c2(random, fixed, loss_fixed, loss_fixed, 0.2)["verdict"] == "inconclusive"
    early = decide_c2(random[:19], fixed[:19], loss_fixed[:19], loss_fixed[:19], 0.0)
    assert early["epochs_test"]["p"] < 0.05 and early["reason"] == "19 of the 20 planned seed pairs"
    assert decide_c2(random_later[:19], fixed[:19], loss_fixed[:19], loss_fixed[:19], 0.0)["verdict"] == "inconclusive"


def test_c3_rules_use_a_t_based_90_percent_interval():
    d = np.array([1, -2, 0, 1, 2, -1, 0, 1, -1, 0, 2, -2, 1, 0, -1, 1, 0, 0, -1, 1], float)
    r = tost(d, 3.5)
    half = student_t.ppf(0.95, 19) * d.std(ddof=1) / np.sqrt(20)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert decide_c3(d + 30, np.full(20, 30.0), 0.0)["verdict"] == "equivalent within margin"
    far, fixed = pairs(-8, sd=1.0)
    assert decide_c3(far, fixed, 0.0)["verdict"] == "not supported"
    wide, fixed = pairs(0, sd=12.0)
    assert decide_c3(wide, fixed, 0.0)["reason"].startswith("the 90% interval crosses")
    assert decide_c3(wide[:6], fixed[:6], 0.0)["reason"] == "6 of the 20 planned seed pairs"
    # short of the planned pairs a verdict waits, whatever the interim interval reads
    assert decide_c3(d[:19] + 30, np.full(19, 30.0), 0.0)["verdict"] == "inconclusive"
    assert decide_c3(far[:19], fixed[:19], 0.0)["reason"] == "19 of the 20 planned seed pairs"


def test_c5_rules():
    rng = np.random.default_rng(2)
    fixed, spread = np.rint(rng.normal(30, 2, 20)), np.rint(rng.normal(30, 8, 20))
    assert decide_c5(spread, fixed, 0.0, 0.05)["verdict"] == "supported"
    assert decide_c5(fixed, spread, 0.0, 0.05)["verdict"] == "not supported"
    assert decide_c5(spread[:14], fixed[:6], 0.0, 1e-9)["reason"] == "6 of the 20 planned runs in an arm"
    early = decide_c5(spread[:19], fixed[:19], 0.0, 0.05)  # significant, short of the plan
    assert early["p"] < 0.05 and early["reason"] == "19 of the 20 planned runs in an arm"


def test_non_inferiority_and_holm():
    gap = np.array([0.01, 0.0, -0.01, 0.02, 0.005, 0.0])
    r = non_inferiority(gap, 0.023)
    half = student_t.ppf(0.95, 5) * gap.std(ddof=1) / np.sqrt(6)
    assert r["upper"] == pytest.approx(gap.mean() + half) and r["non_inferior"] is (r["upper"] < 0.023)
    h = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert [h[k]["rejected"] for k in "abc"] == [True, False, False]
    assert h["a"]["p_holm"] == pytest.approx(0.03) and h["b"]["p_holm"] == pytest.approx(0.06)


def test_the_tests_hold_their_error_rates_and_the_plan_its_power():
    # under no effect the exact test rejects at most alpha (plus Monte Carlo noise)
    assert power_signed_rank(0.0, 9.44, 20, n_sim=1000, seed=5) <= 0.05 + 0.02
    # the plan's 20 pairs give at least 80% power for the paper's 7 epochs; 6 pairs did not
    assert power_signed_rank(PLAN.c2_paper_effect, PLAN.c2_pilot_sd, PLAN.pairs_per_batch,
                             n_sim=1000) >= 0.8
    assert power_signed_rank(PLAN.c2_paper_effect, PLAN.c2_pilot_sd, 6, n_sim=1000) < 0.3
    # TOST declares equivalence at most alpha of the time when the difference is the margin
    assert power_tost(PLAN.c3_pilot_sd, 20, PLAN.c3_margin, PLAN.c3_margin, n_sim=1000) <= 0.05 + 0.02
    assert plan.pairs_for_power(PLAN.c2_paper_effect, PLAN.c2_pilot_sd, n_sim=500) <= PLAN.pairs_per_batch


def test_c1_on_real_data_is_decided_over_tfs_never_sequences():
    from danqrepro.replication.plan import decide_c1_real
    ahead = {f"TF{i}": ([0.90 + 0.01 * i] * 5, [0.88 + 0.01 * i] * 5) for i in range(12)}
    c = decide_c1_real(ahead)
    assert c["verdict"] == "supported" and c["test"]["n_used"] == 12
    assert c["per_tf"]["TF0"]["mean_difference"] == pytest.approx(0.02)
    mixed = {f"TF{i}": ([0.9] * 5, [0.9 + (0.01 if i % 2 else -0.01)] * 5) for i in range(12)}
    assert decide_c1_real(mixed)["reason"] == "no significant difference over TFs"
    short = dict(ahead, TF0=([0.9] * 3, [0.8] * 3))
    assert decide_c1_real(short)["reason"] == "3 of the 5 planned seeds on some TF"
    assert decide_c1_real({})["verdict"] == "inconclusive"


def test_no_pairs_yet_is_inconclusive_without_a_warning():
    import warnings

    from danqrepro.replication.plan import decide_c2, decide_c3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a chapter shows every warning; none belongs here
        assert decide_c2([], [], [], [], 0.0)["reason"] == "0 of the 20 planned seed pairs"
        assert decide_c3([], [], 0.0)["reason"] == "0 of the 20 planned seed pairs"
