"""One training run, start to finish, resumable.

``train(config, out)`` trains a model (:class:`danqrepro.config.TrainConfig`) on a store with
binary cross-entropy,
stops early on validation loss, keeps the best weights, and writes ``out/run.json``
atomically after every epoch. A run killed at any point resumes from its last finished
epoch and ends with the same result as an uninterrupted run, because everything random
in an epoch is a function of ``(seed, epoch)``: the batch order, the dropout masks and
the random dropout rates.

Files in ``out``::

    run.json                    config, history (losses, validation AUCs), rates, timings,
                                provenance, status
    best.weights.h5             weights of the best epoch (by validation loss)
    checkpoints/epoch-NNN.npz   model and optimiser state after the last finished epoch
    metrics-test.json           per-target AUCs (written by evaluation)
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from .data import check_split_sizes, resolve_store
from .data.pipeline import eval_dataset, positive_rates, subset_indices, train_dataset
from .data.store import n_first
from .files import LOCK_FILE, DataError, RefusedError, atomic_file, locked, write_json_atomic
from .config import TrainConfig
from .provenance import provenance
from .runs import BEST_WEIGHTS, RUN_FILE, TERMINAL, load_run, load_weights

RECORD_VERSION = 1
# A training loss above this multiple of the first epoch's is a divergence (stopped like a NaN).
DIVERGENCE_FACTOR = 100.0
def _checkpoint_path(out: Path, epoch: int) -> Path:
    return out / "checkpoints" / f"epoch-{epoch:03d}.npz"


def _save_checkpoint(model, out: Path, epoch: int) -> Path:
    """Model and optimiser state after ``epoch`` (1-based), written atomically."""
    path = _checkpoint_path(out, epoch)
    path.parent.mkdir(exist_ok=True)
    from keras.ops import convert_to_numpy
    arrays = {f"w{i}": np.asarray(v) for i, v in enumerate(model.get_weights())}
    arrays.update({f"o{i}": convert_to_numpy(v) for i, v in enumerate(model.optimizer.variables)})
    with atomic_file(path) as tmp:
        np.savez(tmp, **arrays)
    return path


def _load_checkpoint(model, path: Path) -> None:
    with np.load(path) as data:
        n_w = sum(1 for k in data.files if k.startswith("w"))
        model.set_weights([data[f"w{i}"] for i in range(n_w)])
        model.optimizer.build(model.trainable_variables)
        for i, var in enumerate(model.optimizer.variables):
            var.assign(data[f"o{i}"])


def _save_best(model, out: Path) -> None:
    with atomic_file(out / BEST_WEIGHTS) as tmp:
        model.save_weights(tmp)


def _distribution_scope(model):
    """The scope a model was built in (TensorFlow's strategy; elsewhere none is needed)."""
    import contextlib
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _compiled_model(config: TrainConfig, store):
    import keras

    from . import backend

    from .models import build_model

    model = build_model(config.model, store.seq_len, store.n_targets, seed=config.seed,
                        unroll=config.unroll)
    optimizer = (keras.optimizers.RMSprop(config.learning_rate, rho=config.rho)
                 if config.optimizer == "rmsprop" else keras.optimizers.Adam(config.learning_rate))
    model.compile(optimizer=optimizer, loss="binary_crossentropy",
                  jit_compile=backend.jit_compile(config.jit_compile))
    if config.output_bias == "label_rates":
        split = store.split("train")
        rates = np.clip(positive_rates(split, subset_indices(split.n, config.n_train,
                                                             config.subset_seed)), 1e-4, 1 - 1e-4)
        output = model.get_layer("output")
        output.bias.assign(np.log(rates / (1 - rates)).astype("float32"))
    return model


def prepare_model(config: TrainConfig, store) -> tuple:
    """Seed everything, make the backend deterministic (if asked), set the precision policy,
    return the compiled model (on all GPUs if ``config.distribute``) with the callbacks of a
    run (the random-dropout schedule when ``config.dropout == "random"``)."""
    import keras

    from . import backend
    from .dropout import RandomDropout

    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        backend.set_determinism()
    keras.mixed_precision.set_global_policy(config.precision)  # global in Keras: set per run
    with backend.distribution(config.distribute):
        model = _compiled_model(config, store)
    callbacks = []
    if config.dropout == "random":  # TrainConfig has checked that the model is a DanQ
        callbacks.append(RandomDropout({"drop_pool": config.pool_range,
                                        "drop_lstm": config.lstm_range},
                                       seed=config.seed, per=config.redraw))
    return model, callbacks


def fit_epoch(model, callbacks: list, config: TrainConfig, split, indices: np.ndarray,
              epoch: int, verbose: int = 0):
    """Train one epoch (0-based) through the streaming pipeline; returns Keras' History.

    The dropout layers are reseeded from ``(seed, epoch)`` first, so the epoch's masks do
    not depend on what ran before it (a resumed run draws the same ones).
    """
    from .models import dropout_layers

    for i, layer in enumerate(dropout_layers(model)):
        layer.reseed(config.seed * 1_000_003 + epoch * 101 + i)
    return model.fit(train_dataset(split, indices, config.batch, config.seed, epoch),
                     initial_epoch=epoch, epochs=epoch + 1, verbose=verbose,
                     callbacks=callbacks, shuffle=False)


def train(config: TrainConfig, out: str | os.PathLike, verbose: int | None = None,
          wait: bool = False, store=None) -> dict:
    """Train one run to early stopping (or resume it), evaluate it, return its record.

    Parameters
    ----------
    config : the run's configuration.
    out : the run directory. An existing finished run with the same config is returned
        as it is; an unfinished one is resumed; one with another config is an error.
    verbose : Keras progress (0 silent, 1 bar, 2 a line per epoch); default: a bar on a
        terminal, else a line per epoch.
    wait : if another process is training into ``out``, wait for it (then return or
        resume its run) instead of raising :class:`danqrepro.files.LockedError`.
    store : ``config.data`` already opened (:func:`danqrepro.data.resolve_store`), so that
        a caller training many runs opens each store once.

    Returns
    -------
    dict, the content of ``run.json``.
    """
    out = Path(out)
    _check_run_directory(out)
    if store is None:
        check_split_sizes(config.data, {"train": config.n_train, "valid": config.n_valid})
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    record = load_run(out)
    if record is not None and record["status"] in TERMINAL:  # done: read, nothing locked or written
        store = store or resolve_store(config.data, progress=verbose != 0)
        _check_same_run(config, record, store, out)
        return record
    with locked(out, "training run", wait=wait):
        store = store or resolve_store(config.data, progress=verbose != 0)
        if config.n_train is not None and config.n_train > store.split("train").n:
            raise DataError(f"n_train={config.n_train} exceeds the {store.split('train').n} "
                            f"training samples of {config.data}")
        record = _resume_or_none(config, store, out)
        if record is not None and record["status"] in TERMINAL:
            return record
        return _Run(config, store, out, verbose, record).to_the_end()


def _check_run_directory(out: Path) -> None:
    """A run trains into a directory that is absent, empty, or a run's: never into another
    directory whose files it would replace (``best.weights.h5``, ``run.json``)."""
    if out.exists() and not out.is_dir():
        raise RefusedError(f"{out}: exists and is not a directory")
    if out.is_dir() and not (out / RUN_FILE).is_file():
        foreign = [p.name for p in out.iterdir() if p.name != LOCK_FILE
                   and not p.name.startswith(".tmp-")]
        if foreign:
            raise RefusedError(f"{out}: holds files that are not a run's ({', '.join(sorted(foreign)[:3])}); "
                               "train into an empty or new directory")


def _architecture(model_name: str) -> dict:
    """The preset's layer sizes as run.json holds them (JSON types)."""
    from .models import get_config
    return json.loads(json.dumps(get_config(model_name).to_dict()))


def _validate(model, valid_ds, labels: np.ndarray) -> tuple[float, float, float]:
    """Validation loss (binary cross-entropy, as Keras computes it) and the mean over
    scorable targets of ROC AUC and PR AUC, per sample (no strand averaging), from one pass
    of predictions."""
    from .evaluate import mean_bce, per_target_aucs

    probs = model.predict(valid_ds, verbose=0)
    roc, pr = per_target_aucs(labels, probs)
    return mean_bce(labels, probs), float(np.nanmean(roc)), float(np.nanmean(pr))


def _check_same_run(config: TrainConfig, record: dict, store, out: Path) -> None:
    # The data is identified by its content, so a run moved to another machine (or
    # cache directory) is still recognised.
    wanted = {k: v for k, v in config.to_dict().items() if k != "data"}
    held = {k: v for k, v in record["config"].items() if k != "data"}
    differences = sorted(k for k in wanted if held.get(k) != wanted[k])
    if record["data"]["fingerprint"] != store.fingerprint:
        differences.append("data")
    from . import backend
    if record.get("execution", {}).get("backend", "tensorflow") != backend.name():
        differences.append("the Keras backend")
    held_architecture = record["model"].get("architecture")  # absent in the first records
    if held_architecture and held_architecture != _architecture(config.model):
        differences.append(f"the architecture of {config.model}")
    if differences:
        raise ValueError(f"{out / RUN_FILE}: holds a run with another config "
                         f"(differs in {', '.join(differences)}); use another output directory")


def _resume_or_none(config: TrainConfig, store, out: Path) -> dict | None:
    """The record in ``out`` to return or resume, or None to train afresh."""
    record = load_run(out)
    if record is None:
        return None
    _check_same_run(config, record, store, out)
    checkpoint = out / record["checkpoint"] if record["checkpoint"] else None
    if record["status"] not in TERMINAL and checkpoint and not zipfile.is_zipfile(checkpoint):
        # an unfinished record without a readable checkpoint (copied without the weights,
        # or cut short by a full disk): its epochs cannot be continued exactly
        state = "unreadable" if checkpoint.is_file() else "missing"
        print(f"{out}: {record['checkpoint']} is {state}; training the run from the start",
              file=sys.stderr)
        return None
    return record


class Patience:
    """The stopping rule: stop once ``patience`` epochs in a row bring no new best
    validation loss. Built from a record's epochs, so a resumed run continues its count."""

    def __init__(self, patience: int, best_loss: float | None, best_epoch: int | None,
                 epochs: list[dict]):
        self.patience = patience
        self.best = math.inf if best_loss is None else best_loss
        self.wait = sum(1 for e in epochs if e["epoch"] > (best_epoch or 0))

    def update(self, val_loss: float) -> bool:
        """Take one epoch's validation loss; True when it is a new best."""
        if val_loss < self.best:
            self.best, self.wait = val_loss, 0
            return True
        self.wait += 1
        return False

    @property
    def stop(self) -> bool:
        return self.wait >= self.patience


def _failed(entry: dict, first_loss: float | None) -> str | None:
    """``"nan"`` or ``"diverged"`` where an epoch's losses end the run, else None."""
    loss, val_loss = entry["loss"], entry["val_loss"]
    if not (math.isfinite(loss) and math.isfinite(val_loss)):
        return "nan"
    if entry["epoch"] > 1 and first_loss is not None and loss > DIVERGENCE_FACTOR * first_loss:
        print(f"warning: training loss {loss:.4g} is over {DIVERGENCE_FACTOR:g} times the "
              f"first epoch's ({first_loss:.4g}): stopped as diverged", file=sys.stderr)
        return "diverged"
    return None


class _Run:
    """One run being trained into ``out``: its record, model and data, epoch by epoch.

    ``run.json`` is rewritten atomically after every epoch, with the checkpoint of that
    epoch: the commit point from which a killed run resumes."""

    def __init__(self, config: TrainConfig, store, out: Path, verbose: int, record: dict | None):
        self.config, self.store, self.out, self.verbose = config, store, out, verbose
        self.train_split, self.valid_split = store.split("train"), store.split("valid")
        self.indices = subset_indices(self.train_split.n, config.n_train, config.subset_seed)
        self.n_valid = n_first(self.valid_split.n, config.n_valid)
        self.model, self.callbacks = prepare_model(config, store)
        self.record = self._new_record() if record is None else self._resumed(record)
        write_json_atomic(out / RUN_FILE, self.record)

    def _new_record(self) -> dict:
        from . import backend
        model, store = self.model, self.store
        return {
            "record_version": RECORD_VERSION,
            "config": self.config.to_dict(),
            "status": "running",
            # jit_compile as Keras resolved it: it keeps the cuDNN LSTM over XLA for DanQ
            "execution": {"backend": backend.name(), "precision": self.config.precision,
                          "jit_compile": bool(model.jit_compile),
                          "deterministic": backend.is_deterministic(), "threads": backend.threads(),
                          "replicas": backend.replicas(model, self.config.distribute)},
            "model": {"preset": self.config.model, "architecture": _architecture(self.config.model),
                      "parameters": int(model.count_params()),
                      "trainable_parameters": int(sum(np.prod(v.shape) for v in model.trainable_variables))},
            "data": {"path": str(store.path.resolve()), "fingerprint": store.fingerprint,
                     "kind": store.manifest["source"]["kind"], "n_train": int(self.indices.size),
                     "n_valid": int(self.n_valid),
                     "manifest": {k: v for k, v in store.manifest.items()
                                  if k not in ("synthetic", "splits")}},
            "provenance": provenance(),
            "epochs": [],
            "best_epoch": None, "best_val_loss": None, "epochs_trained": 0, "checkpoint": None,
        }

    def _resumed(self, record: dict) -> dict:
        record["status"] = "running"
        record.setdefault("resumed", []).append({"at_epoch": record["epochs_trained"],
                                                 "provenance": provenance()})
        if record["checkpoint"]:  # else it died inside its first epoch: start that epoch again
            with _distribution_scope(self.model):  # optimiser slots are built here
                _load_checkpoint(self.model, self.out / record["checkpoint"])
        return record

    def _epoch(self, epoch: int, valid_ds, valid_labels) -> dict:
        """Train and validate one epoch (0-based); returns its entry of the record."""
        from .models import dropout_layers
        started = time.perf_counter()
        history = fit_epoch(self.model, self.callbacks, self.config, self.train_split,
                            self.indices, epoch, self.verbose)
        train_seconds = time.perf_counter() - started
        val_loss, val_roc, val_pr = _validate(self.model, valid_ds, valid_labels)
        seconds = time.perf_counter() - started
        rates = (self.callbacks[0].rates[epoch] if self.callbacks else
                 {layer.name: [layer.initial_rate] for layer in dropout_layers(self.model)})
        return {"epoch": epoch + 1, "loss": float(history.history["loss"][-1]), "val_loss": val_loss,
                "val_roc_mean": val_roc, "val_pr_mean": val_pr,
                "train_seconds": round(train_seconds, 3), "seconds": round(seconds, 3),
                "samples_per_second": round(self.indices.size / train_seconds, 1),
                "rates": {k: (v if len(v) > 1 else v[0]) for k, v in rates.items()}}

    def _commit(self, epoch: int) -> None:
        """Save the checkpoint of ``epoch`` (1-based) and the record that points to it,
        then drop the previous checkpoint."""
        record = self.record
        previous = record["checkpoint"]
        record["checkpoint"] = str(_checkpoint_path(self.out, epoch).relative_to(self.out))
        _save_checkpoint(self.model, self.out, epoch)
        write_json_atomic(self.out / RUN_FILE, record)
        if previous and previous != record["checkpoint"]:
            (self.out / previous).unlink(missing_ok=True)

    def _train_epochs(self) -> str:
        """Epochs until the stopping rule, a failure or the cap; returns the stop reason.

        The stopping decision is committed with the epoch that made it, so a run killed
        after it (say, during the final evaluation) never trains past it when resumed."""
        record, config = self.record, self.config
        if record.get("stop_reason"):
            return record["stop_reason"]
        rule = Patience(config.patience, record["best_val_loss"], record["best_epoch"],
                        record["epochs"])
        valid_ds = eval_dataset(self.valid_split, max(config.batch, 1000), self.n_valid)
        valid_labels = self.valid_split.labels(slice(0, self.n_valid))
        for epoch in range(record["epochs_trained"], config.max_epochs):
            entry = self._epoch(epoch, valid_ds, valid_labels)
            record["epochs"].append(entry)
            record["epochs_trained"] = epoch + 1
            if self.verbose:
                print(f"epoch {epoch + 1}: loss {entry['loss']:.5f} val_loss "
                      f"{entry['val_loss']:.5f} ({entry['seconds']:.1f} s)", flush=True)
            failure = _failed(entry, record["epochs"][0]["loss"])
            if failure:
                record["status"] = record["stop_reason"] = failure
                write_json_atomic(self.out / RUN_FILE, record)
                return failure
            if rule.update(entry["val_loss"]):
                record["best_epoch"], record["best_val_loss"] = epoch + 1, entry["val_loss"]
                _save_best(self.model, self.out)
            if rule.stop:
                record["stop_reason"] = "stopped_early"
            elif epoch + 1 == config.max_epochs:
                record["stop_reason"] = "max_epochs"
            self._commit(epoch + 1)
            if rule.stop:
                return "stopped_early"
        return "max_epochs"

    def to_the_end(self) -> dict:
        """Train, evaluate the best weights (``config.evaluate``), finish the record."""
        status = self._train_epochs()
        record = self.record
        record["stop_reason"] = status
        record["wall_seconds"] = round(sum(e["seconds"] for e in record["epochs"]), 3)
        if status not in ("nan", "diverged") and self.config.evaluate:
            from .evaluate import evaluate_run
            load_weights(self.model, self.out / BEST_WEIGHTS)
            metrics = evaluate_run(self.model, self.store, self.config.evaluate, self.out,
                                   batch=max(self.config.batch, 1000))
            record[self.config.evaluate] = metrics["by_class"]
        record["status"] = status if status in ("nan", "diverged") else "finished"
        write_json_atomic(self.out / RUN_FILE, record)
        return record
