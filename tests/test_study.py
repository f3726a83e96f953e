"""The study's measures on tiny fixed inputs: paired statistics,
time to a loss target, censoring, the constant predictor's loss and the study's order."""

import json

import numpy as np
import pandas as pd
import pytest

from danqrepro.evaluate import mean_bce, reference_losses
from danqrepro.replication import experiments, study
from danqrepro.replication.presets import get_preset
from danqrepro.replication.stats import (
    censored_sign_test,
    compare_arms,
    paired_comparison,
)


def test_paired_comparison_by_hand():
    random = [20, 18, 25, 22, 19, 30]
    fixed = [27, 26, 24, 29, 28, 31]
    c = paired_comparison(random, fixed)
    d = np.array(random) - np.array(fixed)  # -7, -8, 1, -7, -9, -1
    assert c["n_pairs"] == 6
    assert c["mean_difference"] == pytest.approx(-31 / 6)
    assert c["median_difference"] == pytest.approx(-7)
    # |d| ranks 3.5, 5, 1.5, 3.5, 6, 1.5 (ties at mid-ranks); W+ = 1.5, the rank of the one
    # positive pair: 3 of the 64 sign patterns are as low, 3 as high
    assert c["wilcoxon_p"] == pytest.approx(6 / 64) and c["n_used"] == 6
    half = 2.570582 * d.std(ddof=1) / np.sqrt(6)  # t(0.975, 5): a t-based 95% interval
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-5)
    assert c["standardised_effect"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_paired_comparison_edge_cases():
    # six pairs, every difference negative and distinct: exact p = 2 / 2**6
    assert paired_comparison([1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12])["wilcoxon_p"] == pytest.approx(1 / 32)
    same = paired_comparison([3, 4, 5], [3, 4, 5])
    assert same["wilcoxon_p"] == 1.0 and same["mean_difference"] == 0 and same["n_used"] == 0
    one = paired_comparison([30], [40])  # one pair: both sign patterns are as extreme
    assert one["wilcoxon_p"] == 1.0 and one["min_p"] == 1.0
    assert np.isnan(compare_arms([30], [40, 41])["p_value"])  # one run in an arm: likewise
    assert compare_arms([30, 31], [40, 41])["p_value"] == pytest.approx(1 / 3)  # 2 of 6 orders as extreme
    with pytest.raises(ValueError, match="equal lengths"):
        paired_comparison([1, 2, 3], [1, 2])


def test_censored_sign_test_orders_pairs_by_hand():
    a = [20, 60, 30, 60, 25, 40, 40]
    b = [27, 50, 60, 60, 25, 35, 60]
    ca = [False, True, False, True, False, False, False]
    cb = [False, False, True, True, False, False, True]
    t = censored_sign_test(a, b, ca, cb)
    # pair 0: a first; 1: a capped after b's 50; 2: b capped after a's 30; 3: both capped
    # (unknown); 4: a tie; 5: b first; 6: b capped after a's 40
    assert (t["n_known"], t["n_a_smaller"], t["n_b_smaller"]) == (5, 3, 2)
    assert (t["n_censored"], t["n_both_censored"]) == (5, 1)
    assert t["p"] == pytest.approx(1.0)
    assert censored_sign_test([1] * 6, [60] * 6, [False] * 6, [True] * 6)["p"] == pytest.approx(1 / 32)
    assert np.isnan(censored_sign_test([60], [60], [True], [True])["p"])
    with pytest.raises(ValueError, match="equal lengths"):
        censored_sign_test([1, 2], [1, 2], [False], [False, False])


def test_hours_left_prices_unfinished_runs_at_their_finished_peers():
    rows = [("danq", "adam", 3e-3, 100, "finished", 3600.0), ("danq", "adam", 3e-3, 100, "finished", 1800.0),
            ("danq", "adam", 1e-3, 100, "finished", 7200.0),  # another rate prices only its own
            ("danq", "rmsprop", 1e-3, 100, "finished", 9000.0),  # a slower optimiser prices only its own
            ("danq", "adam", 3e-3, 100, "running", 1000.0), ("danq", "adam", 3e-3, 1000, "finished", 900.0),
            ("danq", "adam", 3e-3, 1000, "missing", 0.0), ("danq", "adam", 3e-3, 100, "running", 4000.0),
            ("danq", "adam", 1e-2, 1000, "missing", 0.0),  # no peer at its rate: the adam runs at 1000
            ("danq", "rmsprop", 1e-3, 1000, "missing", 0.0)]  # no rmsprop peer: priced by the adam run
    t = pd.DataFrame([("synthetic",) + row for row in rows],
                     columns=["data", "model", "optimizer", "learning_rate", "batch", "state", "wall_seconds"])
    # overrun counts 0
    assert study.hours_left(t) == pytest.approx((2700 - 1000 + 900 + 0 + 900 + 900) / 3600)
    t.loc[len(t)] = ("synthetic", "cnn", "adam", 1e-3, 100, "missing", 0.0)
    assert np.isnan(study.hours_left(t))  # no finished CNN run to price it
    assert study.hours_left(t, skip_unpriced=True) == pytest.approx((2700 - 1000 + 900 + 0 + 900 + 900) / 3600)
    assert study.unpriced(t) == 1
    t.loc[len(t)] = ("chip-ZNF143", "danq", "adam", 3e-3, 100, "missing", 0.0)
    assert study.unpriced(t) == 2  # the synthetic runs never price a run on other data


def test_compute_used_sums_epoch_times_by_model_and_batch(tmp_path):
    import json
    hw = {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": []}
    for name, batch, status, stop, seconds in (("a", 100, "finished", "max_epochs", [10.0, 20.0]),
                                               ("b", 100, "running", None, [30.0]),
                                               ("c", 1000, "finished", "stopped_early", [3600.0])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({
            "config": {"data": "/store", "model": "danq-cpu", "optimizer": "adam", "batch": batch},
            "status": status,
            "stop_reason": stop, "data": {"kind": "synthetic"}, "provenance": {"hardware": hw},
            "epochs": [{"seconds": x} for x in seconds]}))
    used = study.compute_used(tmp_path).set_index("batch")
    assert used.loc[100, ["runs", "finished", "censored", "epochs"]].tolist() == [2, 1, 1, 3]
    assert used.loc[100, "hours"] == pytest.approx(60 / 3600) and used.loc[1000, "hours"] == pytest.approx(1)
    assert used.loc[1000, "machines"] == "AMD EPYC (2 cores)"
    assert study.compute_used(tmp_path / "none").empty


def test_retired_runs_are_read_back_from_the_git_history(tmp_path):
    import json
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)
    git("init", "-q")
    hw = {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": []}
    for name, seconds in (("old", [1800.0, 1800.0]), ("kept", [360.0])):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "run.json").write_text(json.dumps({
            "config": {"data": "/store", "model": "danq-cpu", "batch": 100}, "status": "finished",
            "data": {"kind": "synthetic"}, "provenance": {"hardware": hw},
            "epochs": [{"seconds": x} for x in seconds]}))
    git("add", "runs")
    git("commit", "-qm", "two runs")
    git("rm", "-rq", "runs/old")
    git("commit", "-qm", "Retire the old run")
    retired = study.retired_records(tmp_path / "runs")
    assert len(retired) == 1 and retired[0]["retired_in"].endswith("Retire the old run")
    used = study.compute_used(tmp_path / "runs", retired).set_index("runs/")
    assert used.loc["retired", "hours"] == pytest.approx(1.0) and used.loc["kept", "hours"] == pytest.approx(0.1)
    assert study.retired_records(tmp_path / "runs" / "kept" / "missing") == []  # no such directory
    assert study.retired_records(tmp_path / "runs" / "kept") == []  # nothing removed below it


def record(val_losses, batch=1000, n_train=40_000, seconds=10.0, stop="stopped_early"):
    return {"config": {"batch": batch, "model": "danq-small", "dropout": "fixed", "seed": 0},
            "data": {"n_train": n_train}, "stop_reason": stop, "status": "finished",
            "epochs_trained": len(val_losses), "best_epoch": int(np.argmin(val_losses)) + 1,
            "best_val_loss": min(val_losses), "wall_seconds": seconds * len(val_losses),
            "epochs": [{"epoch": i + 1, "val_loss": v, "loss": v, "seconds": seconds,
                        "samples_per_second": n_train / seconds} for i, v in enumerate(val_losses)]}


def test_time_to_target_counts_whole_epochs():
    r = record([0.30, 0.25, 0.21, 0.20, 0.22], batch=1000, n_train=40_000, seconds=12.5)
    hit = study.time_to_target(r, 0.21)
    assert hit == {"epochs": 3, "steps": 120, "samples": 120_000, "seconds": 37.5}
    assert study.time_to_target(r, 0.19) is None
    assert study.seconds_to_reach(r, 0.25) == 25.0
    small = record([0.3, 0.2], batch=100, n_train=40_050)
    assert study.time_to_target(small, 0.2)["steps"] == 2 * 401  # the last batch is partial


def test_jitter_is_the_median_change_over_the_second_half_of_a_run():
    steady = record([0.30, 0.25, 0.21, 0.20, 0.22])  # changes .05 .04 .01 .02: median of .01, .02
    assert study.val_loss_jitter(steady) == pytest.approx(0.015)
    assert np.isnan(study.val_loss_jitter(record([0.3, 0.2])))
    noisy = record([0.30, 0.25, 0.21, 0.26, 0.20])
    assert study.table([steady, noisy]).val_loss_jitter.tolist() == pytest.approx([0.015, 0.055])


def test_censoring_and_target_from_the_fixed_arm():
    runs = [record([0.3, 0.2, 0.25]), record([0.3, 0.22] + [0.21] * 58, stop="max_epochs"),
            record([0.3, 0.18, 0.19])]
    table = study.table(runs)
    assert table.censored.tolist() == [False, True, False]
    table.loc[2, "dropout"] = "random"  # the target must not look at the random arm
    target = study.loss_target(table, margin=0.01)
    assert target == pytest.approx(np.median([0.2, 0.21]) * 1.01)
    timed = study.with_time_to_target(runs, table, target)
    assert timed.target_epochs[0] == 2 and timed.target_steps[0] == 80
    assert np.isnan(timed.target_epochs[1])  # best 0.21 never reaches 0.205 * 1.01
    assert timed.target_epochs[2] == 2
    summary = study.target_summary(timed).set_index("dropout")
    assert summary.loc["fixed", ["runs", "reached", "epochs", "steps"]].tolist() == [2, 1, 2, 80]
    assert summary.loc["random", ["runs", "reached", "seconds"]].tolist() == [1, 1, 20.0]
    with pytest.raises(ValueError, match="no fixed-dropout run"):
        study.loss_target(table[table.dropout == "random"])


def test_constant_and_oracle_losses(tiny_store):
    losses = reference_losses(tiny_store, "valid", n=128)
    labels = tiny_store.split("valid").labels(slice(0, 128)).astype(float)
    rates = np.clip(tiny_store.manifest["splits"]["train"]["positive_rate"], 1e-7, 1 - 1e-7)
    by_hand = -np.mean(labels * np.log(rates) + (1 - labels) * np.log(1 - rates))
    assert losses["constant"] == pytest.approx(by_hand)
    assert losses["oracle"] < losses["constant"]  # the generating probabilities know more
    assert mean_bce([[1, 0]], [[1.0, 0.0]]) == pytest.approx(-np.log(1 - 1e-7))


def test_study_order_puts_controls_first_and_pairs_seeds():
    p = get_preset("cpu")
    configs = experiments.study_configs(p, "/data")
    assert len(configs) == 2 * (14 + 6) + 3  # the arms, C1's DanQ and CNN, the RMSprop control
    assert len(set(map(repr, configs))) == len(configs)
    first = configs[:4]
    assert [(c.model, c.dropout, c.batch, c.seed, c.optimizer, c.output_bias, c.learning_rate)
            for c in first] == [
        ("danq-cpu", "fixed", 100, 0, "adam", "label_rates", 3e-3),  # the study's DanQ
        ("danq-cpu", "fixed", 100, 0, "adam", "label_rates", 1e-3),  # C1's DanQ and CNN
        ("deepsea-cpu", "fixed", 100, 0, "adam", "label_rates", 1e-3),
        ("danq-cpu", "fixed", 100, 0, "rmsprop", "zero", 1e-3)]  # DanQ's own training, as control
    assert first[0] == experiments.dropout_arms(p, "/data", 100, 0, 1)[0]
    assert experiments.full_data_runs(p, "/data", 100) == first[1:3]
    arms = [(c.batch, c.seed, c.dropout) for c in configs[4:]]
    # seed 0 of every arm (seed 0's fixed run at batch 100 is the study's DanQ), then C2's
    # seed pairs (large batch), then C3's (small batch), each seed's fixed run first; then the
    # seeds only the random arm runs, large batch first
    assert arms[:3] == [(1000, 0, "fixed"), (1000, 0, "random"), (100, 0, "random")]
    assert arms[3:13] == [(1000, s, d) for s in range(1, 6) for d in ("fixed", "random")]
    assert arms[13:23] == [(100, s, d) for s in range(1, 6) for d in ("fixed", "random")]
    assert arms[23:] == [(b, s, "random") for s in range(6, 14) for b in (1000, 100)]
    assert all(c.max_epochs == 60 and c.patience == 5 and c.n_train is None for c in configs)
    assert {c.learning_rate for c in configs[4:]} == {3e-3}  # one rate for both batch sizes
    assert pd.Series([c.batch for c in configs if c.model == "danq-cpu"]).value_counts().to_dict() == {
        100: 22, 1000: 20}


def test_notebook_parameters_are_checked_before_any_data_work(tmp_path):
    with pytest.raises(ValueError, match=r"batch=0 \(expected a whole number >= 1"):
        experiments.check_parameters(None, batch=0, n_runs_random=None)
    with pytest.raises(ValueError, match="n_runs_fixed=2.5"):
        experiments.check_parameters(None, n_runs_fixed=2.5)
    with pytest.raises(ValueError, match="neither a store nor a DeepSEA bundle"):
        experiments.check_parameters(str(tmp_path))
    experiments.check_parameters(None, batch=1000, n_runs_random=None)


def test_a_redefined_model_preset_gets_new_runs(tiny_store, tmp_path, monkeypatch):
    from danqrepro import models
    from danqrepro.runcache import run_key
    from danqrepro.train import TrainConfig, train
    config = TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                         max_epochs=1, patience=1, evaluate=None)
    before = run_key(config, tiny_store)
    train(config, tmp_path / "run", verbose=0)
    monkeypatch.setitem(models.PRESETS, "danq-tiny",
                        models.ModelConfig("danq", (4,), 26, 13, (0.2, 0.5), 16, lstm_units=8))
    assert run_key(config, tiny_store) != before  # the architecture is part of the key
    with pytest.raises(ValueError, match="differs in the architecture of danq-tiny"):
        train(config, tmp_path / "run", verbose=0)


def test_finished_prefix_takes_consecutive_finished_seeds_arm_by_arm(tiny_store, tmp_path):
    from dataclasses import replace

    from danqrepro.runcache import RunCache, run_key
    cache = RunCache(tmp_path)
    p = replace(get_preset("smoke"), n_runs_random=3, n_runs_fixed=2)
    data = str(tiny_store.path)

    def finish(config, status="finished"):
        out = tmp_path / run_key(config, tiny_store)
        out.mkdir(exist_ok=True)
        (out / "run.json").write_text(json.dumps({"status": status, "config": {}, "epochs": [],
                                                   "model": {}, "data": {}}))

    large, small = (experiments.dropout_arms(p, data, b) for b in (p.large_batch, p.small_batch))
    arms = large + small
    assert cache.finished_prefix(arms) == []
    for c in large:  # the large batch ahead, as the study trains it
        finish(c)
    finish(small[0])  # seed 0 of random at the small batch
    finish(small[2], "running")  # seed 2 of random: still training
    finish(next(c for c in small if c.dropout == "fixed" and c.seed == 1))  # fixed seed 1, not seed 0
    got = [(c.batch, c.dropout, c.seed) for c in cache.finished_prefix(arms)]
    assert got == [(p.large_batch, d, s) for d, n in (("random", 3), ("fixed", 2)) for s in range(n)] \
        + [(p.small_batch, "random", 0)]  # small fixed: seed 0 missing ends the arm at once
    assert [r and r["status"] for r in cache.records(small[:3])] \
        == ["finished", None, "running"]  # as they stand; seed 1 never started


def test_book_runner_seeds_option():
    from danqrepro.replication.book_runner import parse_seeds
    assert parse_seeds(None, "cpu") is None and parse_seeds("3", "cpu") == 3
    for bad in ("0", "two", "-1"):
        with pytest.raises(SystemExit, match="expected a whole number >= 1 or 'finished'"):
            parse_seeds(bad, "cpu")
    import subprocess
    import sys
    cli = subprocess.run([sys.executable, "-m", "danqrepro.replication.book_runner", "--seeds", "two"],
                         capture_output=True, text=True)  # `make reproduce` runs it as a module
    assert cli.returncode == 1 and "expected a whole number" in cli.stderr


def test_a_record_without_weights_is_retrained_beside_it(tiny_store, tmp_path):
    from danqrepro.runcache import RETRAINED, RunCache, run_key
    from danqrepro.runs import BEST_WEIGHTS, load_run_model
    from danqrepro.train import TrainConfig
    cache = RunCache(tmp_path)
    config = TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                         max_epochs=1, patience=1, evaluate=None)
    committed = tmp_path / run_key(config, tiny_store)
    assert cache.with_weights([config]) == [committed]  # trained here: weights present
    (committed / BEST_WEIGHTS).unlink()  # as a fresh clone has it
    record = (committed / "run.json").read_bytes()
    [retrained] = cache.with_weights([config])
    assert retrained == tmp_path / RETRAINED / committed.name
    assert (committed / "run.json").read_bytes() == record  # the committed record untouched
    model, again = load_run_model(retrained)
    assert again["status"] == "finished" and model.name.startswith("danq")
    # the chapters that read weights say where they came from
    from danqrepro.replication import report
    assert report.weights_sentence(cache, [config], [committed]) == "The weights are those of the committed runs."
    assert report.weights_sentence(cache, [config], [retrained]).endswith(
        "(in runs/.retrained/): danq-tiny stopped after 1 epoch here and 1 in its record (the same code and CPU).")


def test_the_learning_rate_rule_and_the_registered_study():
    p = get_preset("cpu")
    grid = experiments.learning_rate_grid(p, "/data")
    assert len(grid) == 3 * 2 * 2 and {c.seed for c in grid} == {900, 901}
    assert {(c.dropout, c.max_epochs, c.optimizer) for c in grid} == {("fixed", 15, "adam")}
    # the lowest mean best validation loss per batch size; a diverged run counts as worst
    loss = {(1000, 1e-3): (0.15, 0.16), (1000, 2e-3): (0.14, 0.15), (1000, 3e-3): (0.13, None),
            (100, 1e-3): (0.13, 0.13), (100, 2e-3): (0.14, 0.12), (100, 3e-3): (0.15, 0.15)}
    records = []
    for c in grid:
        value = loss[c.batch, c.learning_rate][c.seed - 900]
        records.append({"status": "finished" if value else "diverged", "best_val_loss": value})
    assert experiments.chosen_learning_rates(grid, records) == {1000: 2e-3, 100: 1e-3}  # tie: smaller
    assert experiments.chosen_learning_rates(grid, records[:-1] + [None]) is None
    arms = experiments.registered_study(p, "/data", {1000: 2e-3, 100: 1e-3})
    sensitivity = experiments.sensitivity_arm(p, "/data")
    assert len(arms) == 20 * 4 and len(sensitivity) == 6 * 4
    assert len(set(map(repr, arms + sensitivity))) == len(arms) + len(sensitivity)
    assert [(c.batch, c.dropout, c.seed, c.learning_rate) for c in arms[:4]] == [
        (1000, "fixed", 100, 2e-3), (1000, "random", 100, 2e-3),
        (100, "fixed", 100, 1e-3), (100, "random", 100, 1e-3)]
    assert {c.seed for c in arms} == set(range(100, 120))  # none of the first study's or grid's
    assert {(c.optimizer, c.learning_rate, c.output_bias) for c in sensitivity} == {
        ("rmsprop", 1e-3, "zero")}
    assert {c.seed for c in sensitivity} == set(range(100, 106))


class GridRecords:
    """A run cache holding the learning-rate grid's records: ``loss`` by (batch, rate)."""

    def __init__(self, loss):
        self.loss = loss

    def records(self, configs):
        return [{"status": "finished", "best_val_loss": self.loss[c.batch, c.learning_rate]}
                if (c.batch, c.learning_rate) in self.loss else None for c in configs]


def test_a_chapter_shows_the_registered_studys_runs_at_its_batch():
    p = get_preset("cpu")
    cache = GridRecords({(1000, 1e-3): 0.16, (1000, 2e-3): 0.15, (1000, 3e-3): 0.157})
    shown = experiments.dropout_arm_runs(p, "/data", 1000, cache, train=False)
    study = experiments.registered_study(p, "/data", {1000: 2e-3, 100: 1e-3})
    assert shown == [c for c in study if c.batch == 1000] and len(shown) == 40
    limited = experiments.dropout_arm_runs(p, "/data", 1000, cache, n_runs_random=3, n_runs_fixed=2,
                                           train=False)
    assert sorted((c.dropout, c.seed) for c in limited) == [
        ("fixed", 100), ("fixed", 101), ("random", 100), ("random", 101), ("random", 102)]
    first = experiments.dropout_arm_runs(p, "/data", 1000, cache, "first", train=False)
    assert first == experiments.dropout_arms(p, "/data", 1000) and {c.learning_rate for c in first} == {3e-3}
    with pytest.raises(ValueError, match=r"batch=100: the learning-rate rule's grid has 0 of its 6 runs"):
        experiments.dropout_arm_runs(p, "/data", 100, cache, train=False)
    with pytest.raises(ValueError, match=r"study='pilot': expected one of registered, first"):
        experiments.dropout_arm_runs(p, "/data", 1000, cache, "pilot")


def record_from(fingerprint, commit, dirty=False, seed=0):
    return {"config": {"seed": seed}, "provenance": {
        "code_fingerprint": fingerprint, "git": {"commit": commit, "dirty": dirty},
        "hardware": {"cpu": "AMD EPYC", "cpu_count": 2, "gpus": []}}}


def test_the_runs_a_chapter_shows_share_one_computation():
    one = [record_from("ac4e82a6" * 8, "293aafe3ff"), record_from("ac4e82a6" * 8, "af6145f0aa", seed=1)]
    c = study.computation(one)
    assert c["fingerprint"].startswith("ac4e82a6") and c["commits"] == ["293aafe", "af6145f"]
    assert c["machines"] == ["AMD EPYC (2 cores)"] and c["n_runs"] == 2
    with pytest.raises(ValueError, match=r"3 runs carry 2 training-code fingerprints \(ac4e82a6: 2 runs"):
        study.computation(one + [record_from("ffff0000" * 8, "293aafe3ff", seed=7)])
    with pytest.raises(ValueError, match="carry 2 training-code fingerprints"):
        study.computation(one + [record_from(None, "3d5d466000")])  # a record from before fingerprints
    from danqrepro.replication import report
    assert report.computation_sentence(one, True) == (
        "All 2 runs carry one training-code fingerprint, ac4e82a6ac4e, and were trained from "
        "commits 293aafe, af6145f on AMD EPYC (2 cores)")
    assert report.computation_sentence(one + [record_from(None, "3d5d466000", True)], False).startswith(
        "These 3 runs of the first study were trained from 3 commits (1 of the runs with uncommitted "
        "changes) and carry 1 training-code fingerprint")


def test_c1_runs_pair_the_matched_models_at_their_own_rates():
    p = get_preset("cpu")
    grid = experiments.c1_learning_rate_grid(p, "/order")
    assert {(c.model, c.batch, c.max_epochs) for c in grid} == {
        ("danq-cpu", 100, 15), ("deepsea-cpu-matched", 100, 15)}
    assert len(grid) == 2 * 3 * 2
    records = [{"status": "finished", "best_val_loss": (c.learning_rate if c.model == "danq-cpu"
                                                         else 1 / c.learning_rate)} for c in grid]
    rates = experiments.chosen_learning_rates(grid, records, by="model")
    assert rates == {"danq-cpu": 1e-3, "deepsea-cpu-matched": 3e-3}
    runs = experiments.c1_runs(p, "/order", rates)
    assert [(c.model, c.seed, c.learning_rate) for c in runs[:2]] == [
        ("danq-cpu", 100, 1e-3), ("deepsea-cpu-matched", 100, 3e-3)]
    assert len(runs) == 10 and {c.dropout for c in runs} == {"fixed"}


def test_the_synthetic_data_names_agree_with_the_data_package():
    from danqrepro.data import synthetic_store
    spec = get_preset("smoke").synthetic
    assert experiments.synthetic_name(spec) == synthetic_store(spec, progress=False).path.name
    assert experiments.data_path(get_preset("smoke"), generate=False) == \
        experiments.data_path(get_preset("smoke"))


def test_the_real_data_study_runs_every_tf_at_the_rules_rates():
    p = get_preset("cpu")
    tables = experiments.real_tables()
    assert len(tables) == 12 and tables["ZNF143"][1].name.endswith("_B.seq.gz")
    grid = experiments.c1_learning_rate_grid(p, "/chip/ZNF143", p.plan.real_models)
    assert {(c.model, c.batch) for c in grid} == {("danq-cpu", 100), ("deepsea-chip-matched", 100)}
    runs = experiments.real_c1_runs(p, {tf: f"/chip/{tf}" for tf in tables},
                                    {"danq-cpu": 2e-3, "deepsea-chip-matched": 1e-3})
    assert len(runs) == 12 * 2 * 5 and len(set(map(repr, runs))) == len(runs)
    assert [(c.data, c.model, c.seed) for c in runs[:2]] == [
        ("/chip/SERBP1", "danq-cpu", 100), ("/chip/SERBP1", "deepsea-chip-matched", 100)]


def test_the_study_trains_every_grid_first_then_every_phase_seed_by_seed():
    p = get_preset("cpu")
    calls, scored = [], []

    def train(configs):  # every run finishes; the lowest rate has the lowest loss
        calls.append(configs)
        return [{"status": "finished", "best_val_loss": c.learning_rate} for c in configs]

    runs = experiments.study_runs(p, "/synthetic", "/order", train, after_c1=scored.append,
                                  real_data=lambda tf: f"/chip/{tf}")
    grids, main = calls
    assert [len(runs["phases"][name]) for name in ("learning-rate grid", "real C1 grid",
                                                   "real arms grid", "C1 grid")] == [12] * 4
    assert [c.data for c in grids[::12]] == ["/synthetic", "/chip/ZNF143", "/chip/ZNF143", "/order"]
    assert runs["rates"] == {1000: 1e-3, 100: 1e-3} and runs["real_rates"] == runs["rates"]
    assert runs["c1_rates"] == {"danq-cpu": 1e-3, "deepsea-cpu-matched": 1e-3}
    phase = runs["phases"]
    assert main[:38] == (phase["dropout arms"][:4] + phase["C1"][:2] + phase["real C1"][:24]
                         + phase["real dropout arms"][:4] + phase["sensitivity arm"][:4])
    assert {c.seed for c in main[:38]} == {100} and main[38].seed == 101
    assert [c.seed for c in main] == sorted(c.seed for c in main)
    # DanQ's real C1 runs on ZNF143 are the real arms' fixed runs at batch 100 (one rule,
    # one grid): the executor trains such a shared run once
    assert phase["real C1"][22] == phase["real dropout arms"][2]
    assert len(main) == 80 + 10 + 120 + 80 + 24
    assert sorted(map(repr, main + grids)) == sorted(map(repr, runs["configs"]))
    assert len(runs["runs"]) == len(set(map(repr, runs["configs"]))) == len(runs["configs"]) - 6 - 5
    assert len(scored) == 2 and scored[0] == runs["phases"]["C1"]
    counts = experiments.phase_counts(runs | {"records": [
        {"status": "finished"} if c.seed == 900 else None for c in runs["configs"]]})
    assert counts.set_index("phase").loc[["real arms grid", "real dropout arms", "C1 grid", "C1"]
                                         ].to_numpy().tolist() == [[12, 6, 6], [80, 5, 0], [12, 0, 6], [10, 0, 0]]

    # the records as they stand: a grid that has not ended adds no runs
    unfinished = experiments.study_runs(p, "/synthetic", "/order",
                                        lambda configs: [None] * len(configs))
    assert unfinished["rates"] is None and unfinished["phases"]["dropout arms"] == []
    assert len(unfinished["configs"]) == 12 + 12 + 24
