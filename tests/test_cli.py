"""The CLI end to end: synth -> convert -> info -> train -> evaluate."""

import json
import re
import subprocess
import sys


def cli(*args):
    return subprocess.run([sys.executable, "-m", "danqrepro.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_end_to_end(tmp_path):
    bundle, store, run = tmp_path / "bundle", tmp_path / "store", tmp_path / "run"
    r = cli("synth", bundle, "--n-train", 512, "--n-valid", 128, "--n-test", 128,
            "--n-targets", 20, "--seed", 2)
    assert r.returncode == 0, r.stderr
    r = cli("convert", bundle, store)
    assert r.returncode == 0, r.stderr
    r = cli("info", store)
    assert r.returncode == 0, r.stderr
    assert "train: 512 samples (256 sequences + reverse complements)" in r.stdout
    assert "TF" in r.stdout and "histone" in r.stdout
    r = cli("train", "--data", bundle, "--model", "danq-tiny", "--dropout", "random",
            "--batch", 64, "--n-train", 256, "--max-epochs", 2, "--patience", 1, "--out", run)
    assert r.returncode == 0, r.stderr
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished"
    assert record["config"]["dropout"] == "random" and record["config"]["n_train"] == 256
    assert len(record["epochs"]) == record["epochs_trained"] >= 1
    assert 0.1 <= record["epochs"][0]["rates"]["drop_pool"] <= 0.3
    assert 0.4 <= record["epochs"][0]["rates"]["drop_lstm"] <= 0.6
    r = cli("evaluate", run, "--data", store)
    assert r.returncode == 0, r.stderr
    assert "targets scored" in r.stdout
    metrics = json.loads((run / "metrics-test.json").read_text())
    assert len(metrics["roc_auc"]) == 20
    r = cli("motifs", run, "-o", tmp_path / "motifs", "--n-sequences", 64, "--threshold", 1.5)
    assert r.returncode == 1 and "threshold=1.5" in r.stderr  # before any work
    assert not (tmp_path / "motifs").exists()
    r = cli("motifs", run, "-o", tmp_path / "motifs", "--n-sequences", 64)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "motifs" / "summary.json").read_text())
    assert summary["filters"] == 8 and summary["n_sequences"] == 64  # danq-tiny: 8 filters
    assert summary["planted"]["planted"] > 0 and 0 <= summary["planted"]["fraction"] <= 1
    rows = (tmp_path / "motifs" / "filters.tsv").read_text().splitlines()
    assert rows[0].startswith("filter\tn_sites\tinformation") and len(rows) == 9
    assert (tmp_path / "motifs" / "logos.png").stat().st_size > 0


def test_bad_input_is_a_clear_error(tmp_path):
    r = cli("convert", tmp_path / "nothing", tmp_path / "store")
    assert r.returncode != 0
    assert "not a DeepSEA bundle directory" in r.stderr
    assert not (tmp_path / "store").exists()


def test_study_trains_the_learning_rate_grids_then_the_registered_runs(tmp_path, monkeypatch):
    # smoke's grids, 16 listed: the dropout arms' (2 rates x 1 seed (900) x 2 batch sizes),
    # the real data's C1 grid (2 models x 2 rates) and arms grid (2 of its 4 runs are C1's
    # DanQ runs at batch 64: trained once), C1's grid; then the study's first three runs
    r = cli("--debug", "study", "--preset", "smoke", "--runs", tmp_path / "runs", "--limit", 19,
            "--verbose", 0)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    grid = [n for n in names if "-s900-" in n]
    assert len(grid) == 14 and all("-fixed-b" in n for n in grid)
    # seed 100 of the dropout arms first: the large batch's pair, the small batch's fixed run
    assert sorted(n.rsplit("-", 1)[0] for n in names if "-s100-" in n) == [
        "danq-tiny-fixed-b256-s100", "danq-tiny-fixed-b64-s100", "danq-tiny-random-b256-s100"]
    assert "Learning rates by the plan's rule: batch 64: " in r.stdout
    r = cli("study", "--preset", "smoke", "--runs", tmp_path / "runs", "--status")
    assert r.returncode == 0, r.stderr
    # smoke's study: 2 pairs at 2 batch sizes; C1 (1 seed per model); the real data's C1
    # (SERBP1 alone at smoke) and dropout arms; 1 sensitivity pair at each batch size
    assert "Finished: learning-rate grid 4 of 4; dropout arms 3 of 8; C1 grid 4 of 4; C1 0 of 2; " \
           "real C1 grid 4 of 4; real C1 0 of 2; real arms grid 4 of 4; real dropout arms 0 of 8; " \
           "sensitivity arm 0 of 4. The dropout arms' finished runs: 3 at the epoch cap" in r.stdout
    # every kind of run left has a finished peer on its data: the hours left are priced
    assert re.search(r"; about \d+\.\d h left \(each unfinished run at the mean of its finished peers; "
                     r"phases not yet fixed by their grid not counted\)$", r.stdout.strip())
    # the status is read from the records: an empty data cache stays empty (issue 28, 12)
    empty = tmp_path / "fresh-cache"
    monkeypatch.setenv("DANQREPRO_CACHE", str(empty))
    again = cli("study", "--preset", "smoke", "--runs", tmp_path / "runs", "--status")
    assert again.returncode == 0 and "dropout arms 3 of 8" in again.stdout
    assert not empty.exists() or not any(empty.rglob("*"))




def test_study_resumes_runs_under_way_before_any_phase(tmp_path, monkeypatch):
    import argparse

    from danqrepro import executor
    from danqrepro.replication import cli as study_cli, experiments
    from danqrepro.train import TrainConfig
    under_way, ended, new = (TrainConfig(data="/d", model="danq-tiny", seed=seed) for seed in (1, 2, 3))
    monkeypatch.setattr(experiments, "data_path", lambda preset, data: "/d")
    monkeypatch.setattr(experiments, "order_data_path", lambda preset: "/o")
    monkeypatch.setattr(experiments, "registered", lambda preset, cache, data: {
        "configs": [ended, under_way], "records": [{"status": "finished"}, {"status": "running"}]})
    returned = []
    monkeypatch.setattr(experiments, "study_runs", lambda preset, data, c1_data, train, **kw: (
        returned.append(train([new])), train([ended]), {"rates": None, "c1_rates": None, "configs": []})[2])
    calls = []
    monkeypatch.setattr(executor, "train_many", lambda cache, configs, **kw: calls.append(configs) or [
        {"status": "finished", "seed": c.seed} for c in configs])
    args = argparse.Namespace(preset="smoke", data=None, runs=tmp_path, limit=None, verbose=0,
                              status=False, workers=1, address=None, threads=None, gpus_per_run=0)
    study_cli.study_command(args)
    # in the first call, ahead of its own runs (no worker waits between them)
    assert calls == [[under_way, new], [ended]]
    assert returned == [[{"status": "finished", "seed": 3}]]
