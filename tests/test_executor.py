"""Many runs at once on Ray: the same records as one after another, a killed worker's run
resumed in a new worker, and a running Ray cluster reached by its address."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from danqrepro.executor import Progress, train_many, under_way_first
from danqrepro.files import lock_holder
from danqrepro.runcache import RunCache
from danqrepro.train import TrainConfig

pytest.importorskip("ray")


def tiny(store, seed, **kw):
    return TrainConfig(**{"data": str(store.path), "model": "danq-tiny", "dropout": "random",
                          "n_train": 256, "batch": 64, "max_epochs": 3, "patience": 3, "seed": seed,
                          "evaluate": None, **kw})


def outcome(record):
    """What a run computed (its seconds and provenance aside)."""
    return {"epochs": [{k: e[k] for k in ("loss", "val_loss", "val_roc_mean", "rates")}
                       for e in record["epochs"]],
            "best": (record["best_epoch"], record["best_val_loss"]), "status": record["status"]}


def serial_in_fresh_process(configs, root, threads=1):
    """The configs trained one after another in a fresh process pinned to ``threads``."""
    code = f"""
import json, os
from danqrepro import backend
backend.set_threads({threads})
from danqrepro.runcache import RunCache
from danqrepro.train import TrainConfig
configs = [TrainConfig.from_dict(c) for c in json.loads({json.dumps([c.to_dict() | {"data": c.data} for c in configs])!r})]
RunCache({str(root)!r}).train_all(configs, log=None)
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"})
    return [RunCache(root).record(c) for c in configs]


def test_two_workers_give_the_records_of_one_after_another(tiny_store, tmp_path, monkeypatch):
    configs = [tiny(tiny_store, seed) for seed in (0, 1, 2)]
    serial = serial_in_fresh_process(configs, tmp_path / "serial")
    # a dead cluster's address left behind (a restarted machine) must not be joined
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    (ray_tmp / "ray").mkdir()
    (ray_tmp / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    lines = []
    parallel = train_many(RunCache(tmp_path / "ray"), configs, workers=2, threads=1, log=lines.append)
    assert [outcome(r) for r in parallel] == [outcome(r) for r in serial]
    assert all(r["execution"]["threads"] == 1 for r in parallel + serial)
    assert len(lines) == 3 and lines[-1].startswith("[3/3] danq-tiny random b64")
    assert "min left (2 at once)" in lines[-1]
    # a second call finds every run finished and trains nothing
    again = train_many(RunCache(tmp_path / "ray"), configs, workers=2, threads=1, log=lines.append)
    assert [r["provenance"] for r in again] == [r["provenance"] for r in parallel]
    assert len(lines) == 3  # read in this process: no worker started, nothing logged
    shutil.rmtree(ray_tmp, ignore_errors=True)


def test_a_killed_worker_is_replaced_and_its_run_resumes(tiny_store, tmp_path):
    config = tiny(tiny_store, 5, max_epochs=6, patience=6, n_train=512)
    [reference] = serial_in_fresh_process([config], tmp_path / "reference")
    root = tmp_path / "runs"
    driver = subprocess.Popen([sys.executable, "-c", f"""
from danqrepro.executor import train_many
from danqrepro.runcache import RunCache
from danqrepro.train import TrainConfig
train_many(RunCache({str(root)!r}), [TrainConfig.from_dict({config.to_dict() | {"data": config.data}!r})],
           workers=2, threads=1, log=None)
"""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = RunCache(root)
    deadline = time.time() + 240
    while time.time() < deadline:
        record = cache.record(config)
        if record and record["epochs_trained"] >= 2:
            break
        time.sleep(0.5)
    holder = lock_holder(cache.path(config))
    assert holder and holder.isdigit(), "the worker holds the run's lock while it trains"
    killed_at = cache.record(config)["epochs_trained"]
    os.kill(int(holder), signal.SIGKILL)
    assert driver.wait(timeout=240) == 0  # the call went on in a new worker
    resumed = cache.record(config)
    assert resumed["status"] == "finished" and outcome(resumed) == outcome(reference)
    # it resumed from the checkpoint the killed worker left (that epoch, or the one it was writing)
    assert killed_at <= resumed["resumed"][0]["at_epoch"] <= killed_at + 1 < 6


class ListedCache:
    """A run cache that knows each seed's status and records the order it trains in."""

    def __init__(self, statuses):
        self.statuses, self.trained = statuses, []

    def records(self, configs):
        return [{"status": self.statuses[c.seed]} if c.seed in self.statuses else None
                for c in configs]

    def train_all(self, configs, verbose=0, log=None):
        self.trained = [c.seed for c in configs]
        return [{"seed": c.seed} for c in configs]


def test_runs_under_way_start_first_and_the_records_keep_the_given_order(tiny_store):
    configs = [tiny(tiny_store, seed) for seed in range(5)]
    cache = ListedCache({1: "finished", 2: "diverged", 3: "running", 4: "running"})
    assert under_way_first(cache.records(configs)) == [3, 4, 0, 1, 2]
    records = train_many(cache, configs + configs[:1], workers=1)  # the first listed twice
    assert cache.trained == [3, 4, 0, 1, 2]
    assert [r["seed"] for r in records] == [0, 1, 2, 3, 4, 0]


def test_the_time_left_is_priced_by_finished_peers_on_the_same_data(tiny_store):
    from dataclasses import replace
    lines = []
    progress = Progress(1, log=lines.append)
    run = tiny(tiny_store, 0)
    progress.known(replace(run, seed=9), {"wall_seconds": 600.0})  # read before the call
    done = {"status": "finished", "epochs_trained": 3, "best_val_loss": 0.5, "wall_seconds": 1200.0}
    progress.finished(run, done, [replace(run, seed=1), replace(run, seed=2)], at_once=2)
    assert lines[-1].endswith("about 15 min left (2 at once)")  # 2 runs at 15 min, 2 at once
    progress.finished(run, done, [replace(run, data="/chip/ZNF143")], at_once=2)
    assert lines[-1].endswith("time left unknown (no pending run has a finished peer)")
    progress.finished(run, done, [replace(run, seed=1), replace(run, data="/chip/ZNF143")], at_once=2)
    # peers at 10, 20, 20 and 20 min: the priced run at 17.5, 2 at once
    assert lines[-1].endswith("about 9 min left (2 at once) for 1 run; 1 not priced yet (no finished peer)")


def stop_ray_cluster(port: str) -> None:
    """Kill the processes of the Ray cluster whose GCS listens on ``port`` (each names it,
    or descends from one that does), and no other: ``ray stop`` would also end a study
    training on this machine."""
    import psutil
    own = [p for p in psutil.process_iter(["cmdline"])
           if any(part.endswith((f"={port}", f":{port}")) for part in (p.info["cmdline"] or []))]
    for process in own + [c for p in own for c in p.children(recursive=True)]:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def test_address_reaches_a_running_ray_cluster(tiny_store, tmp_path):
    import psutil
    if any("raylet" in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])):
        pytest.skip("another Ray instance runs on this machine (a study training?): a second "
                    "head started beside it cannot be reached (its session and token clash)")
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    port = "26379"
    env = {**os.environ, "RAY_ADDRESS": ""}
    subprocess.run([ray_bin, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", port,
                    "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
                   check=True, capture_output=True, env=env, timeout=120)
    try:
        configs = [tiny(tiny_store, seed) for seed in (0, 1)]
        records = train_many(RunCache(tmp_path / "runs"), configs, address=f"127.0.0.1:{port}",
                             threads=1, log=None)
        serial = serial_in_fresh_process(configs, tmp_path / "serial")
        assert [outcome(r) for r in records] == [outcome(r) for r in serial]
    finally:
        stop_ray_cluster(port)
