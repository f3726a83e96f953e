"""Many runs at once: the configs of a :class:`danqrepro.runcache.RunCache` trained one after
another in this process, or side by side as Ray tasks.

``train_many(cache, configs, workers=2)`` starts a local Ray instance for the call (no
server to set up) and trains up to ``workers`` runs at once, each in a fresh worker
process with its CPU threads pinned (``threads`` per run: Ray's ``num_cpus`` and the
backend's intra- and inter-op threads). ``address`` sends the same tasks to a running Ray
cluster instead; ``gpus_per_run`` asks for GPUs (fractions let small runs share one).

The run cache is the same either way: a run's directory lock keeps two workers off one
run. A worker that dies (killed, out of memory, cut off from Ray) is replaced and its run
resumes from its last checkpoint, up to :data:`WORKER_RETRIES` times; after that the call
fails, and the next call resumes the run. Tasks are submitted in the given order (Ray
starts them in that order as CPUs free up), so a set stopped part way holds its first
runs; runs already under way (a record that has not ended) go first, so that an
interrupted call's checkpoints are resumed before anything new starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import TrainConfig
from .runcache import RunCache, distinct
from .runs import TERMINAL

# a run whose worker died is started again this many times (an error inside the run is
# never retried: it would fail the same way)
WORKER_RETRIES = 2


def under_way_first(records: list[dict | None]) -> list[int]:
    """The indices of runs (their ``records`` as they stand, None where one never started)
    in the order to start them: those under way (a record whose status has not ended)
    first, then the rest, each group in the given order."""
    under_way = [bool(r) and r["status"] not in TERMINAL for r in records]
    return sorted(range(len(records)), key=lambda i: not under_way[i])


def _as_listed(listed: list[TrainConfig], configs: list[TrainConfig], records: list[dict]) -> list[dict]:
    """The records of ``configs`` (distinct) put in the order of ``listed`` (repeats too)."""
    by_config = dict(zip(map(repr, configs), records))
    return [by_config[repr(c)] for c in listed]


def _train_in_worker(config: dict, root: str, threads: int | None) -> dict:
    """One run, in a Ray worker process of its own (``max_calls=1``): threads pinned before
    the backend starts, then :meth:`RunCache.train`."""
    from . import backend
    backend.prefer_onednn()  # as the CLI trains
    if threads:
        backend.set_threads(threads)
    record = RunCache(root).train(TrainConfig.from_dict(config))
    return record


@dataclass
class Progress:
    """One line per finished run and an estimate of the time left, from finished peers
    (runs of the same model and batch size on the same data), those read before the call
    (:meth:`known`) included."""

    total: int
    log: object = print
    minutes: dict = field(default_factory=dict)
    done: int = 0

    def known(self, config: TrainConfig, record: dict) -> float:
        """Count a finished run as a peer; returns its training minutes."""
        minutes = record.get("wall_seconds", 0) / 60  # training time, not time in the queue
        self.minutes.setdefault((config.data, config.model, config.batch), []).append(minutes)
        return minutes

    def finished(self, config: TrainConfig, record: dict, pending: list, at_once: int) -> None:
        """Log a finished run; ``pending``: the configs not finished yet."""
        self.done += 1
        minutes = self.known(config, record)
        test = record.get("test", {}).get("all", {}).get("roc_mean")
        left = [self._estimate(c) for c in pending]
        priced = [v for v in left if v is not None]
        eta = (f"about {sum(priced) / at_once:.0f} min left ({at_once} at once)" if priced or not left
               else "time left unknown (no pending run has a finished peer)")
        if priced and len(priced) < len(left):
            eta += (f" for {len(priced)} {'run' if len(priced) == 1 else 'runs'}; "
                    f"{len(left) - len(priced)} not priced yet (no finished peer)")
        if self.log:
            self.log(f"[{self.done}/{self.total}] {config.model} {config.dropout} b{config.batch} "
                     f"s{config.seed}: {record['status']}, {record['epochs_trained']} epochs, "
                     f"best val loss {record['best_val_loss']:.4f}, test ROC AUC "
                     f"{'n/a' if test is None else f'{test:.3f}'}, {minutes:.1f} min; {eta}")

    def _estimate(self, config: TrainConfig) -> float | None:
        peers = self.minutes.get((config.data, config.model, config.batch))
        return sum(peers) / len(peers) if peers else None


def train_many(cache: RunCache, configs: list[TrainConfig], workers: int = 1,
               address: str | None = None, threads: int | None = None,
               gpus_per_run: float = 0, verbose: int = 0, log=print) -> list[dict]:
    """Train (or reuse, or resume) every config; return their records in the given order.

    Parameters
    ----------
    cache : where the runs live.
    configs : the runs, in the order to start them (runs under way first; a run listed
        twice trains once, and both places get its record).
    workers : runs at once on a local Ray instance started for this call; 1 (and no
        ``address``): one after another in this process, with no Ray.
    address : ``HOST:PORT`` of a running Ray cluster (or ``RAY_ADDRESS``): its resources
        decide how many runs go at once.
    threads : CPU threads per run (default: the machine's cores shared among ``workers``).
    gpus_per_run : GPUs per run on Ray (fractions allowed).
    """
    address = address or os.environ.get("RAY_ADDRESS")
    if workers < 1 or (threads is not None and threads < 1) or gpus_per_run < 0:
        raise ValueError(f"workers={workers}, threads={threads}, gpus_per_run={gpus_per_run}: "
                         "expected workers >= 1, threads >= 1 (or None), gpus_per_run >= 0")
    listed = configs
    configs = distinct(listed)  # a run listed twice trains once
    found = cache.records(configs)  # opens (converts) each data path once, before any run
    order = under_way_first(found)
    if workers == 1 and not address:
        trained = cache.train_all([configs[i] for i in order], verbose=verbose, log=log)
        return _as_listed(listed, [configs[i] for i in order], trained)
    # a run that has ended is read (and checked) here: no worker starts for it
    records = [cache.train(c) if r and r["status"] in TERMINAL else None for c, r in zip(configs, found)]
    if all(records):
        return _as_listed(listed, configs, records)
    import ray

    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    else:
        # "local": always a new instance; without it Ray joins whatever cluster the last
        # one on this machine wrote into ray_current_cluster, even a dead one.
        ray.init(address="local", num_cpus=workers * threads, num_gpus=None,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(max_calls=1, max_retries=WORKER_RETRIES, num_cpus=threads,
                            num_gpus=gpus_per_run)(_train_in_worker)
        root = str(Path(cache.root).resolve())
        tasks = {remote.remote(configs[i].to_dict() | {"data": configs[i].data}, root, threads): i
                 for i in order if records[i] is None}
        progress = Progress(len(tasks), log)
        for config, record in zip(configs, records):
            if record and record["status"] == "finished":
                progress.known(config, record)
        at_once = max(1, int(ray.cluster_resources().get("CPU", threads) // threads))
        waiting = list(tasks)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            i = tasks[ready[0]]
            records[i] = ray.get(ready[0])
            pending = [configs[tasks[t]] for t in waiting]
            progress.finished(configs[i], records[i], pending, at_once)
        return _as_listed(listed, configs, records)
    finally:
        ray.shutdown()
