"""The claims of danqrepro.replication.claims decided by the registered plan, on small\nfixed tables."""

import numpy as np
import pandas as pd
import pytest

from danqrepro.replication import claims, report
from danqrepro.replication.presets import get_preset


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


def pairs(effect, n=20, start=30, spread=(0, 1, -1, 2, -2)):
    """``n`` fixed-arm epoch counts and the random arm's at ``effect`` epochs from them."""
    fixed = [start + spread[i % len(spread)] for i in range(n)]
    return [f + effect + spread[(i + 2) % len(spread)] for i, f in enumerate(fixed)], fixed


def test_c2_follows_the_plan():
    random, fixed = pairs(-7)
    c = claims.claim_c2(runs(random + [20, 21], fixed))  # 22 random runs: 20 paired
    assert c["paired_epochs"]["n_pairs"] == 20 and c["epochs"]["random"]["n"] == 22
    subset = c["paper_subset"]  # the paper's design reported beside: first 14 random, first 6 fixed
    assert (subset["random"]["n"], subset["fixed"]["n"]) == (14, 6)
    assert subset["fixed"]["mean"] == pytest.approx(np.mean(fixed[:6]))
    assert c["test"] == "exact Wilcoxon signed-rank" and c["p"] < 1e-4
    assert c["verdict"] == "supported" and c["reason"] is None
    worse = claims.claim_c2(runs(random, fixed, [0.105] * 20, [0.1] * 20))  # 5% worse loss
    assert worse["relative_loss_gap"] == pytest.approx(0.05)
    assert worse["verdict"] == "not supported" and worse["reason"].startswith("fewer epochs, but")
    later = claims.claim_c2(runs(fixed, random))
    assert later["verdict"] == "not supported" and later["reason"] == "random dropout stops later"
    even = claims.claim_c2(runs(*pairs(0)))
    assert even["verdict"] == "not supported" and "planned power" in even["reason"]


def test_c2_with_fewer_pairs_than_planned_is_inconclusive_unless_it_decides():
    c = claims.claim_c2(runs([20, 19, 21, 18, 20, 20], [27, 26, 28, 29, 30, 20]))  # one tie
    assert c["paired_epochs"]["n_used"] == 5 and c["paired_epochs"]["min_p"] == pytest.approx(0.0625)
    assert c["verdict"] == "inconclusive" and c["reason"] == "6 of the 20 planned seed pairs"
    capped = claims.claim_c2(runs(*pairs(-7), censored={("fixed", 0), ("fixed", 1), ("fixed", 2)}))
    assert capped["verdict"] == "inconclusive" and "epoch cap" in capped["reason"]


def test_c3_follows_the_plan():
    same = claims.claim_c3(runs(*pairs(0)))
    assert same["equivalence_margin"] == pytest.approx(3.5)
    assert same["verdict"] == "equivalent within margin"
    differ = claims.claim_c3(runs(*pairs(8)))
    assert differ["verdict"] == "not supported"
    few = claims.claim_c3(runs(*pairs(0, n=6, spread=(0, 6, -6))))
    assert few["verdict"] == "inconclusive" and few["reason"] == "6 of the 20 planned seed pairs"
    capped = claims.claim_c3(runs(*pairs(0), censored={("fixed", 0), ("fixed", 1), ("fixed", 2)}))
    assert capped["verdict"] == "inconclusive" and "epoch cap" in capped["reason"]


def test_c5_compares_spreads():
    wide = [10, 38, 12, 30, 8, 25, 15, 40, 33, 9] * 2
    steady = [20, 21, 20, 22, 21, 20, 19, 21, 20, 22] * 2
    spread = claims.claim_c5(runs(wide, steady))
    assert spread["sd_random"] > spread["sd_fixed"] and spread["levene_p"] < 0.05
    assert spread["verdict"] == "supported" and spread["max_random"] == 40
    assert claims.claim_c5(runs(steady, wide))["verdict"] == "not supported"
    flat = claims.claim_c5(runs([20] * 20, [20] * 20))
    assert np.isnan(flat["levene_p"]) and flat["verdict"] == "not supported"
    few = claims.claim_c5(runs([10, 38, 12, 30, 8], [20, 21, 20, 22, 21]))  # a study part way
    assert few["verdict"] == "inconclusive" and few["reason"] == "5 of the 20 planned runs in an arm"


def test_c1_compares_seeds_not_targets():
    targets = {"n_targets": 919, "roc_better_fraction": 0.6, "pr_mean_difference": 0.01}
    one = claims.claim_c1(targets, [0.93], [0.94])
    assert one["verdict"] == "inconclusive" and one["reason"] == "1 of the 5 planned seeds per model"
    assert one["sign_test_p"] < 1e-8  # reported, but it decides nothing
    better = claims.claim_c1(targets, [0.93, 0.94, 0.935, 0.932, 0.938], [0.92, 0.925, 0.921, 0.924, 0.926])
    assert better["verdict"] == "supported" and better["ci_low"] > 0
    mixed = claims.claim_c1(targets, [0.93, 0.92, 0.935, 0.921, 0.938], [0.92, 0.925, 0.931, 0.924, 0.926])
    assert mixed["verdict"] == "not supported" and mixed["reason"] == "no significant difference over seeds"


def test_c4_takes_its_seconds_from_one_machine_only():
    small, large = runs([12] * 6, [12] * 6).assign(batch=100), runs([20] * 6, [20] * 6).assign(batch=1000)
    cost = {"small_batch": 100, "large_batch": 1000, "s_per_epoch": {"100": 45.0, "1000": 30.0},
            "epoch_time_ratio_rounds": [1.4, 1.6], "threads": 2, "measured_on": "measured here"}
    c = claims.claim_c4(small, large, cost)
    assert c["verdict"] == "not testable here" and c["epochs_ratio"] == pytest.approx(0.6)
    # the runs' own clocks (10 s per epoch in both tables) are never read
    assert c["epoch_time_ratio"] == pytest.approx(1.5) and c["total_time_ratio"] == pytest.approx(0.9)
    assert report.c4_sentence(c, cost, 100, 1000).startswith(
        "Timed side by side on one machine (measured here, 2 threads), a batch-100 epoch took 1.50 "
        "times as long as a batch-1,000 epoch (rounds: 1.40, 1.60)")
    other = claims.claim_c4(small, large, cost | {"small_batch": 64, "large_batch": 256})
    assert not other["timed"] and np.isnan(other["epoch_time_ratio"])
    assert report.c4_sentence(other, None, 100, 1000).startswith("No side-by-side timing")


def order_metrics(model_aucs, rules=(0, 0, 1, 1, 2, 2)):
    """One run's order metrics: six order targets of three rules."""
    return {"rules": list(rules), "model": list(model_aucs), "oracle": [0.9] * len(rules),
            "cooccurrence": [0.5] * len(rules)}


def test_c1_on_the_order_benchmark_is_decided_over_seeds_and_reports_rules():
    danq = {s: order_metrics([0.70 + 0.01 * s, 0.72, 0.66, None, 0.7, 0.71]) for s in range(100, 105)}
    cnn = {s: order_metrics([0.55, 0.56 + 0.01 * s % 3, 0.5, 0.52, 0.72, 0.74]) for s in range(100, 105)}
    c = claims.claim_c1_order(danq, cnn)
    assert c["n_seeds"] == 5 and c["verdict"] == "supported" and c["ci_low"] > 0
    assert c["oracle_roc"] == pytest.approx(0.9) and c["cooccurrence_roc"] == pytest.approx(0.5)
    # rule 2: the CNN ahead; rules 0 and 1: DanQ (a missing AUC left out of its rule's mean)
    assert (c["n_rules"], c["rules_danq_ahead"]) == (3, 2) and 0 < c["rules_p"] <= 1
    short = claims.claim_c1_order({100: danq[100]}, {100: cnn[100], 101: cnn[101]})
    assert short["verdict"] == "inconclusive" and short["reason"] == "1 of the 5 planned seeds per model"
    none = claims.claim_c1_order({}, {})
    assert none["verdict"] == "inconclusive" and none["n_rules"] == 0
    small, large = runs(*pairs(0)).assign(batch=100), runs(*pairs(-7)).assign(batch=1000)
    rest = {"C2": claims.claim_c2(large), "C3": claims.claim_c3(small),
            "C4": claims.claim_c4(small, large, None), "C5 small": claims.claim_c5(small),
            "C5 large": claims.claim_c5(large)}
    real = {"C1": short, "C2": rest["C2"], "C3": rest["C3"], "C5 small": rest["C5 small"],
            "C5 large": rest["C5 large"]}
    card = report.claims_table(get_preset("cpu"), "synthetic", {"C1": none, **rest}, small, large, real)
    assert card.iloc[0, 2] == "order benchmark: no seed of both models has finished yet"
    assert "over 20 seed pairs (20 not tied), exact signed-rank p = " in card.iloc[1, 2]  # C2: the plan's test
    assert "(90% t interval [" in card.iloc[2, 2] and "TOST p = " in card.iloc[2, 2]  # C3: the plan's test
    assert list(card["verdict, real ChIP-seq"])[:4] == [
        "inconclusive (1 of the 5 planned seeds per model)", "supported", "equivalent within margin",
        "not tested"]  # C4: the real-data study does not time batches
    # the real arms' own table: the scorecard's words for each claim, from the real study's runs
    arms_card = report.real_arms_table(get_preset("cpu"), real | {"arms_small": small, "arms_large": large},
                                       "real ChIP-seq, ZNF143")
    assert list(arms_card.claim) == ["C2", "C3", "C5", "C5"]
    assert list(arms_card["ours (real ChIP-seq, ZNF143)"])[:2] == list(card.iloc[1:3, 2])
    assert list(arms_card.verdict)[:2] == ["supported", "equivalent within margin"]
    from danqrepro.replication.plan import decide_c2, decide_c3, decide_c5
    nothing = {"C2": decide_c2([], [], [], [], 0.0), "C3": decide_c3([], [], 0.0), "arms_small": None,
               "arms_large": None,
               "C5 small": decide_c5([], [], 0.0, 0.05), "C5 large": decide_c5([], [], 0.0, 0.05)}
    waiting = report.real_arms_table(get_preset("cpu"), nothing, "real ChIP-seq, ZNF143")
    assert list(waiting.iloc[:, 2]) == ["batch 1000: no run has finished yet", "batch 100: no run has finished yet",
                                        "batch 100: no run has finished yet", "batch 1000: no run has finished yet"]
    assert set(waiting.verdict) == {"inconclusive (0 of the 20 planned seed pairs)",
                                    "inconclusive (0 of the 20 planned runs in an arm)"}


def test_c2_order_test_reads_the_sign_test_only_when_runs_were_censored():
    capped = claims.claim_c2(runs([20] * 6, [60, 27, 28, 29, 30, 31], censored={("fixed", 0)}))  # reported
    assert report.order_test(capped) == (
        "random dropout stopped first in 6 and fixed dropout in 0 of the 6 seed pairs whose "
        "order is known (1 paired run at the epoch cap; sign test p = 0.031)")
    assert report.order_test(claims.claim_c2(runs([20] * 6, [27] * 6))) == ""


def test_holm_over_the_secondaries_can_take_a_verdict_back():
    v = {"C3": {"verdict": "equivalent within margin", "reason": None, "equivalence_test": {"p": 0.03}},
         "C5 small": {"verdict": "supported", "reason": None, "levene_p": 0.02},
         "C5 large": {"verdict": "not supported", "reason": "x", "levene_p": 0.5},
         "C1": {"verdict": "inconclusive", "reason": "y", "p": float("nan")}}
    out = claims.holm_secondaries(v)  # Holm over 3 p-values: 0.02 * 3 = 0.06 > 0.05
    assert out["C5 small"]["verdict"] == "not supported" and "Holm" in out["C5 small"]["reason"]
    assert out["C3"]["verdict"] == "not supported" and out["C3"]["p_holm"] == pytest.approx(0.06)
    v["C5 small"]["levene_p"], v["C3"]["equivalence_test"]["p"] = 0.001, 0.01
    kept = claims.holm_secondaries(v)
    assert kept["C5 small"]["verdict"] == "supported" and kept["C3"]["verdict"] == "equivalent within margin"


def test_real_c1_pairs_the_two_models_seed_by_seed_and_tabulates_each_tf():
    from danqrepro.replication import experiments
    from danqrepro.train import TrainConfig
    p = get_preset("smoke")
    [tf] = p.plan.real_tfs
    data = experiments.real_data_path(p, tf, generate=False)
    danq, cnn = p.plan.real_models
    scores = {(danq, 100): 0.90, (danq, 101): 0.80, (cnn, 101): 0.75, (cnn, 102): 0.70}
    configs = [TrainConfig(data=data, model=m, seed=s) for m, s in scores]
    records = [{"status": "finished", "test": {"all": {"roc_mean": auc, "pr_mean": auc / 2}}}
               for auc in scores.values()]
    real = claims.real_verdicts(p, None, {"configs": configs, "records": records,
                                          "phases": {"real C1": configs}})
    # seed 101 is the only seed both models finished: DanQ's 0.80 against the CNN's 0.75
    assert real["per_tf"] == {tf: ([0.80], [0.75])} and real["per_tf_pr"] == {tf: ([0.40], [0.375])}
    assert real["c1_finished"] == 1 and real["C1"]["per_tf"][tf]["n_seeds"] == 1
    row = report.real_c1_table(real["C1"], real["per_tf"], real["per_tf_pr"], {tf: None}).iloc[0]
    assert (row.TF, row.seeds, row["DanQ ROC AUC"], row["CNN ROC AUC"], row["95% CI"]) == (tf, 1, 0.80, 0.75, "n/a")
    assert row["DanQ − CNN"] == pytest.approx(0.05) and row["CNN PR AUC"] == 0.375
    assert row["motif scan ROC AUC"] is None
