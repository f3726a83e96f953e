"""Never lose a user's files, keep every promise of resume, fail clearly (issue 11)."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from test_deepsea import write_bundle

from danqrepro import cli
from danqrepro import train as train_module
from danqrepro.data import DataError, SyntheticSpec, convert, generate
from danqrepro.files import (
    LockedError,
    RefusedError,
    locked,
    read_json,
    write_json_atomic,
)
from danqrepro.runs import load_run
from danqrepro.train import TrainConfig, train


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "danqrepro.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def tiny_config(store, **kw):
    base = dict(data=str(store.path), model="danq-tiny", batch=128, n_train=512,
                max_epochs=4, patience=10, seed=2, evaluate="valid")
    base.update(kw)
    return TrainConfig(**base)


# -- 1. output directories ----------------------------------------------------------

def test_convert_refuses_a_directory_it_did_not_write(tmp_path):
    write_bundle(tmp_path / "bundle")
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("x")
    with pytest.raises(RefusedError, match=f"{keep}: exists and is not empty"):
        convert(tmp_path / "bundle", keep, progress=False)
    assert (keep / "notes.txt").read_text() == "x"
    r = run_cli("convert", tmp_path / "bundle", keep)
    assert r.returncode == 1 and "--overwrite" in r.stderr and "Traceback" not in r.stderr
    assert (keep / "notes.txt").is_file()
    assert convert(tmp_path / "bundle", keep, progress=False, overwrite=True).split("train").n == 6
    assert not (keep / "notes.txt").exists()
    # an empty directory and an existing store are fine
    (tmp_path / "empty").mkdir()
    assert convert(tmp_path / "bundle", tmp_path / "empty", progress=False).path.name == "empty"


def test_convert_never_replaces_its_own_input(tmp_path):
    bundle = tmp_path / "bundle"
    write_bundle(bundle)
    before = sorted(p.name for p in bundle.iterdir())
    for overwrite in (False, True):
        with pytest.raises(RefusedError, match="holds the input"):
            convert(bundle, bundle, progress=False, overwrite=overwrite)
        with pytest.raises(RefusedError, match="holds the input"):
            convert(bundle, tmp_path, progress=False, overwrite=overwrite)
    assert sorted(p.name for p in bundle.iterdir()) == before


def test_synth_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("x")
    r = run_cli("synth", tmp_path / "keep", "--n-train", 4, "--n-valid", 2, "--n-test", 2,
                "--n-targets", 6)
    assert r.returncode == 1, r.stderr
    assert f"{tmp_path / 'keep'}: exists and is not empty" in r.stderr
    assert (tmp_path / "keep" / "notes.txt").read_text() == "x"


def test_partial_directories_of_live_writers_are_kept(tmp_path):
    write_bundle(tmp_path / "bundle")
    live, dead = tmp_path / ".store.partial-1", tmp_path / ".store.partial-2"
    dead.mkdir()
    (dead / "codes.npy").write_bytes(b"half")
    with locked(live, "write"):  # another process's conversion, still running
        convert(tmp_path / "bundle", tmp_path / "store", progress=False)
        assert live.is_dir()
    assert not dead.exists()


# -- 2. resume after an early stop ----------------------------------------------------

def test_resume_never_trains_past_an_early_stop(tiny_store, tmp_path, monkeypatch):
    cfg = tiny_config(tiny_store, max_epochs=12, patience=1, learning_rate=0.05)
    clean = train(cfg, tmp_path / "clean", verbose=0)
    assert clean["stop_reason"] == "stopped_early" and clean["epochs_trained"] < 12

    def killed_during_evaluation(*args, **kwargs):
        raise KeyboardInterrupt

    from danqrepro import evaluate
    monkeypatch.setattr(evaluate, "evaluate_run", killed_during_evaluation)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "killed", verbose=0)
    partial = load_run(tmp_path / "killed")
    assert partial["status"] == "running" and partial["stop_reason"] == "stopped_early"
    monkeypatch.undo()
    resumed = train(cfg, tmp_path / "killed", verbose=0)
    assert resumed["epochs_trained"] == clean["epochs_trained"]
    assert resumed["best_epoch"] == clean["best_epoch"]
    assert resumed["stop_reason"] == "stopped_early"
    assert resumed["valid"] == clean["valid"]


def test_unfinished_run_without_its_checkpoint_starts_afresh(tiny_store, tmp_path, monkeypatch):
    cfg = tiny_config(tiny_store, max_epochs=3)
    clean = train(cfg, tmp_path / "clean", verbose=0)

    def dies_in_epoch_two(split, indices, batch, seed, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return real(split, indices, batch, seed, epoch)

    real = train_module.train_dataset
    monkeypatch.setattr(train_module, "train_dataset", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cloned", verbose=0)
    monkeypatch.undo()
    for checkpoint in (tmp_path / "cloned" / "checkpoints").iterdir():
        checkpoint.unlink()  # as a git clone has it: run.json without the weights
    again = train(cfg, tmp_path / "cloned", verbose=0)
    assert [e["loss"] for e in again["epochs"]] == [e["loss"] for e in clean["epochs"]]
    assert "resumed" not in again


# -- 3. one process per run directory -------------------------------------------------

def test_a_run_directory_is_locked_while_training(tiny_store, tmp_path):
    out = tmp_path / "run"
    with locked(out, "training run"):
        with pytest.raises(LockedError, match=rf"training run in progress \(pid {os.getpid()}\)"):
            train(tiny_config(tiny_store), out, verbose=0)
    assert load_run(out) is None  # the refused process wrote nothing


def test_second_cli_process_is_refused_at_once(tiny_store, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", tiny_store.path, "--model", "danq-tiny", "--batch", 64,
            "--n-train", 512, "--max-epochs", 30, "--patience", 30, "--no-evaluate", "--out", out]
    first = subprocess.Popen([sys.executable, "-m", "danqrepro.cli", *map(str, args)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while load_run(out) is None and time.time() < deadline:
            time.sleep(0.2)
        second = run_cli(*args[:-3], "--seed", 3, "--no-evaluate", "--out", out)
        assert second.returncode == 1
        assert f"training run in progress (pid {first.pid})" in second.stderr
    finally:
        first.kill()
        first.wait()


# -- 4. early and clean failures -------------------------------------------------------

def test_missing_dataset_lists_the_keys_found(tmp_path):
    bundle = tmp_path / "bundle"
    write_bundle(bundle)
    with h5py.File(bundle / "train.mat", "r+") as f:
        f.move("trainxdata", "x")
    with pytest.raises(DataError, match=r"missing dataset\(s\) \['trainxdata'\].*found \['traindata', 'x'\]"):
        convert(bundle, tmp_path / "store", progress=False)


def test_bad_n_train_is_reported_before_conversion(tmp_path, cache):
    write_bundle(tmp_path / "unconverted")
    with pytest.raises(DataError, match="n_train=40000 exceeds the 6 training samples"):
        train(TrainConfig(data=str(tmp_path / "unconverted"), model="danq-tiny"), tmp_path / "run")
    assert not list(cache.glob("stores/unconverted-*")) and not (tmp_path / "run").exists()


def test_evaluate_on_missing_or_truncated_weights_is_one_line(tiny_store, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(tiny_store, max_epochs=1, evaluate=None), run, verbose=0)
    weights = run / "best.weights.h5"
    weights.write_bytes(weights.read_bytes()[:3000])
    r = run_cli("evaluate", run)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{weights}: weights file truncated" in r.stderr
    weights.unlink()
    r = run_cli("evaluate", run)
    assert r.returncode == 1 and f"{weights}: no weights file" in r.stderr


def test_disk_errors_are_one_line_and_leave_no_temporary_files(tiny_store, tmp_path, monkeypatch,
                                                               capsys):
    def disk_full(path, **arrays):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(train_module.np, "savez", disk_full)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--data", str(tiny_store.path), "--model", "danq-tiny", "--batch", "128",
                  "--n-train", "512", "--max-epochs", "2", "--out", str(out)])
    message = str(exit_info.value.code)
    assert message.startswith("danqrepro train: error: ") and "No space left on device" in message
    # the file the user would look for, not the temporary that was removed
    assert f"{out / 'checkpoints' / 'epoch-001.npz'}: No space left" in message
    assert not list(out.rglob("*.tmp*"))


def test_truncated_run_record_names_its_file(tmp_path):
    (tmp_path / "run.json").write_text('{"config": {"batch": ')
    with pytest.raises(DataError, match=f"{tmp_path / 'run.json'}: not a valid run record"):
        load_run(tmp_path)


# -- 5. strict JSON and divergence ------------------------------------------------------

def strict_loads(text):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_is_strict(tmp_path):
    write_json_atomic(tmp_path / "x.json", {"loss": float("nan"), "rows": [1.0, float("inf")],
                                            "n": np.int64(3)})
    data = strict_loads((tmp_path / "x.json").read_text())
    assert data == {"loss": None, "rows": [1.0, None], "n": 3,
                    "nonfinite": ["$.loss", "$.rows[1]"]}
    assert read_json(tmp_path / "x.json") == data


def test_an_exploding_loss_stops_as_diverged(tiny_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train_module, "DIVERGENCE_FACTOR", 0.5)  # any second epoch "explodes"
    record = train(tiny_config(tiny_store, max_epochs=5), tmp_path / "run", verbose=0)
    assert record["status"] == record["stop_reason"] == "diverged"
    assert record["epochs_trained"] == 2 and "valid" not in record
    assert "stopped as diverged" in capsys.readouterr().err
    strict_loads((tmp_path / "run" / "run.json").read_text())
    assert train(tiny_config(tiny_store, max_epochs=5), tmp_path / "run", verbose=0) == record


# -- fault injection: kill a real training process at commit points ----------------------

def _comparable(record):
    keys = ("loss", "val_loss", "rates", "epoch")
    return ([{k: e[k] for k in keys} for e in record["epochs"]], record["best_epoch"],
            record["best_val_loss"], record["stop_reason"], record["test"])


def _weights(path):
    with h5py.File(path, "r") as f:
        arrays = []
        f.visititems(lambda name, obj: arrays.append((name, obj[...]))
                     if isinstance(obj, h5py.Dataset) else None)
    return arrays


def test_killed_at_random_commit_points_resumes_bit_identically(tiny_store, tmp_path):
    args = ["--data", tiny_store.path, "--model", "danq-tiny", "--dropout", "random",
            "--batch", 128, "--n-train", 512, "--max-epochs", 5, "--patience", 2,
            "--seed", 5, "--lr", 0.02]
    clean = tmp_path / "clean"
    r = run_cli("train", *args, "--out", clean)
    assert r.returncode == 0, r.stderr
    reference = load_run(clean)
    rng = np.random.default_rng(0)
    killed = tmp_path / "killed"
    kill_after = sorted(rng.choice(np.arange(1, reference["epochs_trained"] + 1), 2, replace=False))
    for epochs in kill_after:  # SIGKILL once the run has committed this many epochs
        proc = subprocess.Popen([sys.executable, "-m", "danqrepro.cli", "train", *map(str, args),
                                 "--out", str(killed)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            record = load_run(killed) if (killed / "run.json").is_file() else None
            if record and record["epochs_trained"] >= epochs:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = run_cli("train", *args, "--out", killed)
    assert r.returncode == 0, r.stderr
    resumed = load_run(killed)
    assert resumed["status"] == "finished" and resumed.get("resumed")
    assert _comparable(resumed) == _comparable(reference)
    for (name_a, a), (name_b, b) in zip(_weights(clean / "best.weights.h5"),
                                        _weights(killed / "best.weights.h5")):
        assert name_a == name_b
        np.testing.assert_array_equal(a, b)
    assert not list(killed.rglob("*.tmp*")) and not list(killed.parent.glob(".*partial*"))


def test_generate_reuses_and_refuses(tmp_path):
    spec = SyntheticSpec(n_train=4, n_valid=2, n_test=2, n_targets=6)
    out = generate(tmp_path / "b", spec, progress=False)
    assert generate(out, spec, progress=False) == out
    with pytest.raises(FileExistsError, match="another spec"):
        generate(out, SyntheticSpec(n_train=4, n_valid=2, n_test=2, n_targets=6, seed=1),
                 progress=False)
