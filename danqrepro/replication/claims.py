"""The paper's claims (C1-C5) tested on a set of runs, each giving figures and a verdict,
by the registered analysis plan (:mod:`danqrepro.replication.plan`, ``book/plan.md``).

The verdict words: ``supported``, ``not supported``, ``equivalent within margin`` (C3, a
claim of no difference), ``inconclusive`` (only for a reason the plan states: fewer seed
pairs or seeds than planned, or over 10% of an arm's runs at the epoch cap) and
``not testable here`` (C4 on a CPU: the quantity measures the hardware).

Runs with the same seed share the initialisation and the batch order across the two
dropout arms, so C2, C3 and C5 compare them seed by seed; the unpaired Mann-Whitney test
over all runs (the paper's 14 against 6) is reported beside them. No verdict treats targets
as independent units: C1 compares the models over seeds.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, ttest_1samp

from .plan import PLAN, decide_c2, decide_c3, decide_c5, signed_rank_test, t_interval
from .stats import censored_sign_test, compare_arms, paired_comparison

ALPHA = PLAN.alpha
PAPER = {
    "C1": "DanQ beats the CNN-only DeepSEA design (higher ROC AUC on 94.1% of targets)",
    "C2": "at large batch, random dropout stops in fewer epochs (20 vs 27) at a loss within 0.3%",
    "C3": "at small batch, both arms stop after about 12 epochs with similar loss",
    "C4": "a small-batch epoch costs about 3x a large-batch one; total time is larger",
    "C5": "random dropout makes the epoch count less predictable (one run took 38 epochs)",
}
TESTS = {
    "C1": f"paired t test over seeds of the mean test ROC AUC ({PLAN.c1_seeds} seeds per model "
          "planned); the per-target sign test reported, not tested",
    "C2": "exact Wilcoxon signed-rank over seed pairs (epochs); the loss by a non-inferiority "
          f"t test at a {PLAN.loss_margin:.1%} margin",
    "C3": f"TOST (t-based 90% interval) against a ±{PLAN.c3_margin:g}-epoch margin",
    "C4": "none: epoch times on a compute-bound CPU measure the hardware (seconds per epoch "
          "timed side by side on one machine, benchmarks/batch_cost.py)",
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


# the paper's unpaired design: 14 random-dropout runs against 6 fixed ones
PAPER_RUNS = {"random": 14, "fixed": 6}


def _epoch_comparison(df) -> dict:
    random, fixed = _pairs(df, "epochs")
    first = {arm: _arm(df, arm).sort_values("seed").epochs.iloc[:n] for arm, n in PAPER_RUNS.items()}
    censored_random, censored_fixed = _pairs(df, "censored")
    loss_random, loss_fixed = _pairs(df, "best_val_loss")
    loss_gap = (loss_random - loss_fixed) / loss_fixed
    return {"epochs": compare_arms(_arm(df, "random").epochs, _arm(df, "fixed").epochs,
                                   "random", "fixed"),
            "loss": compare_arms(_arm(df, "random").best_val_loss,
                                 _arm(df, "fixed").best_val_loss, "random", "fixed"),
            "paper_subset": compare_arms(first["random"], first["fixed"], "random", "fixed"),
            "paired_epochs": paired_comparison(random, fixed),
            "paired_order": censored_sign_test(random, fixed, censored_random, censored_fixed),
            "paired_relative_loss_gap": paired_comparison(loss_gap, np.zeros_like(loss_gap)),
            "censored": censored_fraction(df)}


def _censored_share(df) -> float:
    return max(censored_fraction(df).values())


def claim_c2(df) -> dict:
    """Random against fixed dropout at a large batch, by :func:`plan.decide_c2`: fewer
    epochs to early stopping (exact signed-rank test over seed pairs) at a best validation
    loss not shown worse than the plan's margin (non-inferiority)."""
    c = _epoch_comparison(df)
    random, fixed = _pairs(df, "epochs")
    loss_random, loss_fixed = _pairs(df, "best_val_loss")
    decided = decide_c2(random, fixed, loss_random, loss_fixed, _censored_share(df))
    test = decided["epochs_test"]
    c["relative_loss_gap"] = decided["loss_test"]["mean"]
    c["test"], c["p"] = "exact Wilcoxon signed-rank", test["p"]
    c["random_first"] = decided["mean_difference"] < 0
    return {**c, **decided}


def claim_c3(df) -> dict:
    """At a small batch, the same epochs within the plan's margin, by
    :func:`plan.decide_c3` (TOST: the t-based 90% interval of the paired difference)."""
    c = _epoch_comparison(df)
    random, fixed = _pairs(df, "epochs")
    decided = decide_c3(random, fixed, _censored_share(df))
    c["equivalence_margin"] = PLAN.c3_margin
    return {**c, **decided}


def claim_c4(small, large, cost: dict | None) -> dict:
    """The small batch's cost over the large batch's: seconds per epoch from a side-by-side
    timing on one machine (``cost``: the summary of ``benchmarks/batch_cost.py`` for these
    two batch sizes, or None where there is none), epochs to early stopping from the runs
    (a count, whatever machine ran them), and their product, the time to early stopping on
    that machine. Seconds pooled over run records are never used: the records come from
    machines of different speeds.

    Not testable on a CPU (the plan's rule): the paper's 3x is a GPU's, where a large batch
    fills the device; on a compute-bound CPU an epoch's cost measures the hardware."""
    small_batch, large_batch = int(small.batch.iloc[0]), int(large.batch.iloc[0])
    epochs_ratio = float(small.epochs.mean() / large.epochs.mean())
    timed = cost is not None and {cost["small_batch"], cost["large_batch"]} == {small_batch, large_batch}
    epoch_ratio = (cost["s_per_epoch"][str(small_batch)] / cost["s_per_epoch"][str(large_batch)]
                   if timed else float("nan"))
    return {"epoch_time_ratio": float(epoch_ratio), "total_time_ratio": float(epoch_ratio * epochs_ratio),
            "epochs_ratio": epochs_ratio, "timed": timed,
            "verdict": "not testable here",
            "reason": "epoch times on a compute-bound CPU measure the hardware"}


def claim_c5(df, alpha: float = ALPHA) -> dict:
    """Spread of the epoch count at one batch size, by :func:`plan.decide_c5`: standard
    deviations and the Brown-Forsythe test (Levene's, centred on the median)."""
    random, fixed = (_arm(df, a).epochs.to_numpy(float) for a in ("random", "fixed"))
    decided = decide_c5(random, fixed, _censored_share(df), alpha)
    return {"sd_random": decided["sd_random"], "sd_fixed": decided["sd_fixed"],
            "max_random": float(random.max()), "max_fixed": float(fixed.max()),
            "levene_p": decided["p"], "censored": censored_fraction(df),
            "verdict": decided["verdict"], "reason": decided["reason"]}


def _c1_over_seeds(danq_roc, cnn_roc) -> dict:
    """C1's decision over seeds: the paired difference of each seed's mean ROC AUC (DanQ
    minus CNN), its 95% t interval and two-sided t test. Inconclusive with fewer seeds than
    the plan's; supported when the interval lies above zero; not supported otherwise."""
    d = np.asarray(danq_roc, float) - np.asarray(cnn_roc, float)
    low, high = t_interval(d, 0.95)
    p = float(ttest_1samp(d, 0).pvalue) if d.size > 1 and d.std() > 0 else float("nan")
    out = {"n_seeds": int(d.size), "seed_mean_difference": float(d.mean()) if d.size else float("nan"),
           "ci_low": low, "ci_high": high, "p": p}
    if d.size < PLAN.c1_seeds:
        return out | {"verdict": "inconclusive",
                      "reason": f"{d.size} of the {PLAN.c1_seeds} planned seeds per model"}
    if low > 0:
        return out | {"verdict": "supported", "reason": None}
    return out | {"verdict": "not supported",
                  "reason": "the CNN is better" if high < 0 else "no significant difference over seeds"}


def claim_c1(comparison: dict, danq_roc: list[float], cnn_roc: list[float]) -> dict:
    """DanQ against the CNN over seeds (:func:`_c1_over_seeds`, on each seed's mean test ROC
    AUC); the per-target figures of :func:`danqrepro.evaluate.compare_targets`
    (``comparison``) and their sign test are reported but decide nothing (targets are
    copies of few rules, not independent units)."""
    n, k = comparison["n_targets"], round(comparison["roc_better_fraction"] * comparison["n_targets"])
    return {**comparison, "sign_test_p": float(binomtest(k, n, 0.5).pvalue),
            **_c1_over_seeds(danq_roc, cnn_roc)}


def claim_c1_order(danq: dict[int, dict], cnn: dict[int, dict]) -> dict:
    """C1 on the order benchmark, by the plan: DanQ against the capacity-matched CNN on the
    order targets, among the samples where only the order of a rule's two motifs tells
    (:mod:`danqrepro.replication.order`). ``danq``, ``cnn``: seed -> the order metrics
    (``order-metrics.json``) of each model's finished runs.

    Decided over seeds (:func:`_c1_over_seeds` on each seed's mean order-target ROC AUC);
    over the order rules (the clusters: a rule's targets are copies of one rule) the mean
    difference per rule and the exact signed-rank test are reported, beside the oracle's
    and the co-occurrence oracle's AUC there."""
    seeds = sorted(set(danq) & set(cnn))

    def mean_auc(metrics, key="model"):
        return float(np.nanmean(np.asarray(metrics[key], dtype=float)))
    danq_roc, cnn_roc = ([mean_auc(m[s]) for s in seeds] for m in (danq, cnn))
    out = _c1_over_seeds(danq_roc, cnn_roc)
    out |= {"danq_roc": float(np.mean(danq_roc)) if seeds else float("nan"),
            "cnn_roc": float(np.mean(cnn_roc)) if seeds else float("nan"),
            "oracle_roc": mean_auc(danq[seeds[0]], "oracle") if seeds else float("nan"),
            "cooccurrence_roc": mean_auc(danq[seeds[0]], "cooccurrence") if seeds else float("nan")}
    if not seeds:
        return out | {"n_rules": 0, "rules_danq_ahead": 0, "rules_p": float("nan")}
    rules = np.asarray(danq[seeds[0]]["rules"])
    per_seed = np.array([np.asarray(m[s]["model"], dtype=float) for m in (danq, cnn) for s in seeds])
    difference = per_seed[:len(seeds)].mean(axis=0) - per_seed[len(seeds):].mean(axis=0)  # per target
    by_rule = np.array([np.nanmean(difference[rules == r]) for r in np.unique(rules)])
    test = signed_rank_test(by_rule)
    return out | {"n_rules": int(by_rule.size), "rules_danq_ahead": int((by_rule > 0).sum()),
                  "rules_p": test["p"]}


# the secondary claims' p-values, over which Holm's correction runs (C2 is the primary)
SECONDARY_P = {"C1": lambda c: c.get("p", float("nan")),
               "C3": lambda c: c["equivalence_test"]["p"],
               "C5 small": lambda c: c["levene_p"], "C5 large": lambda c: c["levene_p"]}


def holm_secondaries(verdicts: dict) -> dict:
    """The plan's multiple-testing rule: a secondary claim (C1, C3, C5 at each batch size)
    that its own test supports stays supported (or equivalent) only if Holm's correction
    over the secondaries still rejects; otherwise it becomes *not supported* (the plan's
    power was there) with the reason. ``verdicts``: claim name -> what its ``claim_*``
    returned. Returns a copy with ``p_holm`` added to each secondary."""
    from .plan import holm
    out = dict(verdicts)
    adjusted = holm({k: f(verdicts[k]) for k, f in SECONDARY_P.items() if k in verdicts}, ALPHA)
    for k, h in adjusted.items():
        c = {**out[k], "p_holm": h["p_holm"]}
        if c["verdict"] in ("supported", "equivalent within margin") and not h["rejected"]:
            c |= {"verdict": "not supported",
                  "reason": "not significant after Holm's correction over the secondary claims"}
        out[k] = c
    return out


def real_verdicts(preset, cache, registered: dict) -> dict:
    """The real-data study's verdicts by the plan, from the records of the registered study
    (``registered``: :func:`experiments.registered`): ``C1`` over the TFs
    (:func:`plan.decide_c1_real`, a seed counting where both models finished it); ``C2``,
    ``C3``, ``C5 small`` and ``C5 large`` on ``plan.real_arms_tf``, Holm's correction over
    its secondaries as in the synthetic study. Also ``per_tf`` (TF -> DanQ's and the CNN's
    test ROC AUCs, over the seeds both finished, seed by seed), ``per_tf_pr`` (the same for
    PR AUC), ``arms`` (the finished real dropout arms' study table, or None), ``arms_small``
    and ``arms_large`` (its rows at each batch size, None where none finished) and
    ``c1_finished`` (the (TF, seed) pairs both models finished)."""
    from . import experiments, study
    from .plan import decide_c1_real
    plan = preset.plan
    tfs = plan.real_tfs or tuple(experiments.real_tables())
    names = {experiments.real_data_path(preset, tf, generate=False): tf for tf in tfs}
    found: dict = {tf: ({}, {}) for tf in tfs}  # TF -> each model's test scores by seed
    c1_configs = registered["phases"].get("real C1", [])
    for config, record in zip(c1_configs, experiments.registered_records(registered, c1_configs)):
        if record and record["status"] == "finished":
            found[names[config.data]][plan.real_models.index(config.model)][config.seed] = record["test"]["all"]
    both = {tf: sorted(d.keys() & c.keys()) for tf, (d, c) in found.items()}  # seeds both models finished

    def scores(key):
        return {tf: tuple([m[seed][key] for seed in both[tf]] for m in found[tf]) for tf in tfs}
    per_tf = scores("roc_mean")
    arm_configs = registered["phases"].get("real dropout arms", [])
    finished = [r for r in experiments.registered_records(registered, arm_configs) if r and r["status"] == "finished"]
    arms = study.table(finished) if finished else None

    def at(batch):
        return arms[arms.batch == batch] if arms is not None and (arms.batch == batch).any() else None
    small, large = at(preset.small_batch), at(preset.large_batch)
    verdicts = {"C1": decide_c1_real(per_tf, plan),
                "C2": claim_c2(large) if large is not None else decide_c2([], [], [], [], 0.0, plan),
                "C3": claim_c3(small) if small is not None else decide_c3([], [], 0.0, plan)}
    for name, df in (("C5 small", small), ("C5 large", large)):
        verdicts[name] = (claim_c5(df) if df is not None else
                          {"levene_p": float("nan")} | decide_c5([], [], 0.0, ALPHA, plan))
    verdicts["C1"]["p"] = verdicts["C1"]["test"]["p"]
    return holm_secondaries(verdicts) | {"per_tf": per_tf, "per_tf_pr": scores("pr_mean"), "arms": arms,
                                         "arms_small": small, "arms_large": large,
                                         "c1_finished": sum(len(d) for d, _ in per_tf.values())}
