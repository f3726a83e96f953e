"""One training run, start to finish, resumable.

``train(config, out)`` trains a model on a store with RMSprop and binary cross-entropy,
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
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .data import check_split_sizes, resolve_store
from .data.pipeline import eval_dataset, positive_rates, subset_indices, train_dataset
from .dropout import PAPER_RANGES
from .files import DataError, atomic_file, locked, read_json, write_json_atomic
from .provenance import provenance

RUN_FILE = "run.json"
BEST_WEIGHTS = "best.weights.h5"
RECORD_VERSION = 1
# A run in one of these states is done: rerunning it returns its record.
TERMINAL = ("finished", "nan", "diverged")
# A training loss above this multiple of the first epoch's is a divergence (stopped like a NaN).
DIVERGENCE_FACTOR = 100.0
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Fields added after the first runs were recorded: left out of ``to_dict`` at their
# defaults, so those runs keep their keys (see danqrepro.study.run_key) and still match.
LATER_DEFAULTS = {"precision": "float32", "jit_compile": False, "distribute": False,
                  "deterministic": True, "optimizer": "rmsprop", "output_bias": "zero"}
OPTIMIZERS = ("rmsprop", "adam")
OUTPUT_BIASES = ("zero", "label_rates")


@dataclass
class TrainConfig:
    """Everything that defines a run; two runs with equal configs give equal results.

    Attributes
    ----------
    data : a store or a DeepSEA-layout bundle directory.
    model : a preset of :data:`danqrepro.models.PRESETS`.
    dropout : ``"fixed"`` (the preset's rates) or ``"random"`` (redrawn, see
        :class:`danqrepro.dropout.RandomDropout`).
    redraw : ``"epoch"`` or ``"batch"``: when random rates are redrawn.
    pool_range, lstm_range : uniform ranges for the two DanQ dropout layers.
    n_train : training subset size (both strands; None = whole split), formed by
        :func:`danqrepro.data.pipeline.subset_indices` from ``subset_seed``.
    n_valid : validation samples used (the first ``n_valid``; None = all).
    optimizer : ``"rmsprop"`` (DanQ's, with ``learning_rate`` and ``rho``) or ``"adam"``
        (Keras defaults but ``learning_rate``; not DanQ's, offered for the CPU-scale
        study, where RMSprop does not get past the label rates in the steps it can afford).
    output_bias : ``"zero"`` (Keras' default, as DanQ) or ``"label_rates"``: the output
        biases start at the log-odds of each target's positive rate in the training subset
        (the prior initialisation of Lin et al. 2017), so the first steps need not spend
        themselves on learning 919 base rates; rates are clipped to [1e-4, 1 - 1e-4].
    precision : ``"float32"``, or a Keras mixed-precision policy for GPUs
        (``"mixed_float16"`` with loss scaling, ``"mixed_bfloat16"``); the output layer and
        the loss stay float32.
    jit_compile : compile the train step with XLA. Keras declines it (with a warning)
        under op determinism, and always for DanQ on TensorFlow, whose LSTM keeps the
        cuDNN kernel that XLA cannot compile; the DeepSEA CNN takes it when
        ``deterministic=False``. ``run.json`` records what was used.
    distribute : train under ``tf.distribute.MirroredStrategy`` on all GPUs of the
        machine; ``batch`` is then the global batch, split across them.
    deterministic : turn on TensorFlow's op determinism (a seed then fixes the run on
        any one machine). It is process-wide: once on, it stays on for later runs.
    """

    data: str
    model: str = "danq"
    dropout: str = "fixed"
    redraw: str = "epoch"
    pool_range: tuple[float, float] = PAPER_RANGES["drop_pool"]
    lstm_range: tuple[float, float] = PAPER_RANGES["drop_lstm"]
    batch: int = 100
    n_train: int | None = 40_000
    n_valid: int | None = None
    max_epochs: int = 60
    patience: int = 5
    learning_rate: float = 1e-3
    rho: float = 0.9
    optimizer: str = "rmsprop"
    output_bias: str = "zero"
    seed: int = 0
    subset_seed: int = 0
    evaluate: str | None = "test"
    precision: str = "float32"
    jit_compile: bool = False
    distribute: bool = False
    deterministic: bool = True

    def __post_init__(self):
        self.data = str(self.data)
        self.pool_range, self.lstm_range = tuple(self.pool_range), tuple(self.lstm_range)
        problems = []
        if self.dropout not in ("fixed", "random"):
            problems.append(f"dropout={self.dropout!r} (expected 'fixed' or 'random')")
        if self.redraw not in ("epoch", "batch"):
            problems.append(f"redraw={self.redraw!r} (expected 'epoch' or 'batch')")
        for name in ("batch", "max_epochs", "patience"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} (expected >= 1)")
        if self.n_train is not None and (self.n_train < 2 or self.n_train % 2):
            problems.append(f"n_train={self.n_train} (expected an even count >= 2, or None)")
        if self.n_valid is not None and self.n_valid < 1:
            problems.append(f"n_valid={self.n_valid} (expected >= 1, or None for the whole split)")
        from .models import PRESETS as MODELS  # a bad name fails here, before any data work
        if self.model not in MODELS:
            problems.append(f"model={self.model!r} (expected one of {', '.join(sorted(MODELS))})")
        elif self.dropout == "random" and MODELS[self.model].arch != "danq":
            problems.append(f"dropout='random' needs a DanQ model (its drop_pool and drop_lstm "
                            f"layers); {self.model} is a {MODELS[self.model].arch} model")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate={self.learning_rate} (expected > 0)")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer={self.optimizer!r} (expected one of {', '.join(OPTIMIZERS)})")
        if self.output_bias not in OUTPUT_BIASES:
            problems.append(f"output_bias={self.output_bias!r} (expected one of "
                            f"{', '.join(OUTPUT_BIASES)})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision={self.precision!r} (expected one of {', '.join(PRECISIONS)})")
        if self.evaluate not in (None, "valid", "test"):
            problems.append(f"evaluate={self.evaluate!r} (expected 'test', 'valid' or None)")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    def to_dict(self) -> dict:
        d = json.loads(json.dumps(asdict(self)))
        return {k: v for k, v in d.items() if k not in LATER_DEFAULTS or v != LATER_DEFAULTS[k]}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}")
        return cls(**d)


def _checkpoint_path(out: Path, epoch: int) -> Path:
    return out / "checkpoints" / f"epoch-{epoch:03d}.npz"


def _save_checkpoint(model, out: Path, epoch: int) -> Path:
    """Model and optimiser state after ``epoch`` (1-based), written atomically."""
    path = _checkpoint_path(out, epoch)
    path.parent.mkdir(exist_ok=True)
    arrays = {f"w{i}": np.asarray(v) for i, v in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
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


def load_run(out: str | os.PathLike) -> dict | None:
    """The record in ``out/run.json``, or None where there is none; a broken file raises
    :class:`danqrepro.files.DataError` naming it."""
    path = Path(out) / RUN_FILE
    return read_json(path, "run record") if path.is_file() else None


def load_weights(model, path: str | os.PathLike) -> None:
    """Load a run's weights; a missing, truncated or foreign file raises
    :class:`danqrepro.files.DataError` naming it and what to do."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no weights file; the run has not finished an epoch "
                        "(re-run training)")
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: weights file truncated or not from a {model.name} of this "
                        f"shape ({type(err).__name__}); re-run training or remove the run") from err


def load_run_model(run_dir: str | os.PathLike, data: str | None = None) -> tuple:
    """The model of a finished run with its best weights, its record and its store
    (``data`` overrides the run's own data). Raises DataError when ``run_dir`` holds no run."""
    from .models import build_model
    record = load_run(run_dir)
    if record is None:
        raise DataError(f"{Path(run_dir) / RUN_FILE}: no run record (is it a run directory?)")
    store = resolve_store(data or record["config"]["data"])
    model = build_model(record["config"]["model"], store.seq_len, store.n_targets)
    load_weights(model, Path(run_dir) / BEST_WEIGHTS)
    return model, record, store


def _compiled_model(config: TrainConfig, store):
    import keras
    from .models import build_model

    model = build_model(config.model, store.seq_len, store.n_targets, seed=config.seed)
    optimizer = (keras.optimizers.RMSprop(config.learning_rate, rho=config.rho)
                 if config.optimizer == "rmsprop" else keras.optimizers.Adam(config.learning_rate))
    model.compile(optimizer=optimizer,
                  loss="binary_crossentropy", jit_compile=config.jit_compile)
    if config.output_bias == "label_rates":
        split = store.split("train")
        rates = np.clip(positive_rates(split, subset_indices(split.n, config.n_train,
                                                             config.subset_seed)), 1e-4, 1 - 1e-4)
        output = model.get_layer("output")
        output.bias.assign(np.log(rates / (1 - rates)).astype("float32"))
    return model


def prepare_model(config: TrainConfig, store) -> tuple:
    """Seed everything, turn on op determinism (if asked), set the precision policy, return the
    compiled model (under MirroredStrategy if ``config.distribute``) with the callbacks
    of a run (the random-dropout schedule when ``config.dropout == "random"``)."""
    import keras
    import tensorflow as tf
    from .dropout import RandomDropout

    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(config.precision)  # global in Keras: set per run
    strategy = tf.distribute.MirroredStrategy() if config.distribute else tf.distribute.get_strategy()
    with strategy.scope():
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
          wait: bool = False) -> dict:
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

    Returns
    -------
    dict, the content of ``run.json``.
    """
    out = Path(out)
    check_split_sizes(config.data, {"train": config.n_train, "valid": config.n_valid})
    with locked(out, "training run", wait=wait):
        return _train_locked(config, out, verbose)


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
    held_architecture = record["model"].get("architecture")  # absent in the first records
    if held_architecture and held_architecture != _architecture(config.model):
        differences.append(f"the architecture of {config.model}")
    if differences:
        raise ValueError(f"{out / RUN_FILE}: holds a run with another config "
                         f"(differs in {', '.join(differences)}); use another output directory")


def _train_locked(config: TrainConfig, out: Path, verbose: int | None) -> dict:
    from tensorflow.python.framework.config import is_op_determinism_enabled

    from .models import dropout_layers

    store = resolve_store(config.data, progress=verbose != 0)
    record = load_run(out)
    if record is not None:
        _check_same_run(config, record, store, out)
        if record["status"] in TERMINAL:
            return record
        if record["checkpoint"] and not (out / record["checkpoint"]).is_file():
            # an unfinished record without its checkpoint (e.g. copied or cloned without
            # the weights): its epochs cannot be continued exactly, so train it afresh
            print(f"{out}: {record['checkpoint']} is missing; training the run from the "
                  "start", file=sys.stderr)
            record = None
    train_split, valid_split = store.split("train"), store.split("valid")
    indices = subset_indices(train_split.n, config.n_train, config.subset_seed)
    n_valid = valid_split.n if config.n_valid is None else min(config.n_valid, valid_split.n)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2

    model, callbacks = prepare_model(config, store)

    if record is None:
        record = {
            "record_version": RECORD_VERSION,
            "config": config.to_dict(),
            "status": "running",
            # jit_compile as Keras resolved it: it keeps the cuDNN LSTM over XLA for DanQ
            "execution": {"precision": config.precision, "jit_compile": bool(model.jit_compile),
                          "deterministic": bool(is_op_determinism_enabled()),
                          "replicas": int(model.distribute_strategy.num_replicas_in_sync)},
            "model": {"preset": config.model, "architecture": _architecture(config.model),
                      "parameters": int(model.count_params()),
                      "trainable_parameters": int(sum(np.prod(v.shape) for v in model.trainable_variables))},
            "data": {"path": str(store.path), "fingerprint": store.fingerprint,
                     "kind": store.manifest["source"]["kind"], "n_train": int(indices.size),
                     "n_valid": int(n_valid), "manifest": {k: v for k, v in store.manifest.items()
                                                          if k not in ("synthetic", "splits")}},
            "provenance": provenance(),
            "epochs": [],
            "best_epoch": None, "best_val_loss": None, "epochs_trained": 0, "checkpoint": None,
        }
    else:
        record["status"] = "running"
        record.setdefault("resumed", []).append({"at_epoch": record["epochs_trained"],
                                                 "provenance": provenance()})
        if record["checkpoint"]:  # else it died inside its first epoch: start that epoch again
            with model.distribute_strategy.scope():  # optimiser slots are built here
                _load_checkpoint(model, out / record["checkpoint"])
    write_json_atomic(out / RUN_FILE, record)

    best = math.inf if record["best_val_loss"] is None else record["best_val_loss"]
    wait = sum(1 for e in record["epochs"] if e["epoch"] > (record["best_epoch"] or 0))
    valid_ds = eval_dataset(valid_split, max(config.batch, 1000), n_valid)
    valid_labels = valid_split.labels(slice(0, n_valid))
    # The stopping decision is committed with the epoch that made it, so a run killed
    # after it (say, during the final evaluation) never trains past it when resumed.
    status = record.get("stop_reason") or "max_epochs"
    epochs = [] if record.get("stop_reason") else range(record["epochs_trained"], config.max_epochs)
    for epoch in epochs:
        started = time.perf_counter()
        history = fit_epoch(model, callbacks, config, train_split, indices, epoch, verbose)
        train_seconds = time.perf_counter() - started
        val_loss, val_roc, val_pr = _validate(model, valid_ds, valid_labels)
        epoch_seconds = time.perf_counter() - started
        loss = float(history.history["loss"][-1])
        rates = (callbacks[0].rates[epoch] if callbacks else
                 {layer.name: [layer.initial_rate] for layer in dropout_layers(model)})
        entry = {"epoch": epoch + 1, "loss": loss, "val_loss": val_loss,
                 "val_roc_mean": val_roc, "val_pr_mean": val_pr,
                 "train_seconds": round(train_seconds, 3), "seconds": round(epoch_seconds, 3),
                 "samples_per_second": round(indices.size / train_seconds, 1),
                 "rates": {k: (v if len(v) > 1 else v[0]) for k, v in rates.items()}}
        record["epochs"].append(entry)
        record["epochs_trained"] = epoch + 1
        if verbose:
            print(f"epoch {epoch + 1}: loss {loss:.5f} val_loss {val_loss:.5f} "
                  f"({epoch_seconds:.1f} s)", flush=True)
        first_loss = record["epochs"][0]["loss"]
        if not (math.isfinite(loss) and math.isfinite(val_loss)):
            status = "nan"
        elif epoch > 0 and first_loss is not None and loss > DIVERGENCE_FACTOR * first_loss:
            status = "diverged"
            print(f"warning: training loss {loss:.4g} is over {DIVERGENCE_FACTOR:g} times the "
                  f"first epoch's ({first_loss:.4g}): stopped as diverged", file=sys.stderr)
        if status in ("nan", "diverged"):
            record["status"] = record["stop_reason"] = status
            write_json_atomic(out / RUN_FILE, record)
            break
        if val_loss < best:
            best, wait = val_loss, 0
            record["best_epoch"], record["best_val_loss"] = epoch + 1, val_loss
            _save_best(model, out)
        else:
            wait += 1
        if wait >= config.patience:
            status = record["stop_reason"] = "stopped_early"
        elif epoch + 1 == config.max_epochs:
            record["stop_reason"] = "max_epochs"
        previous = record["checkpoint"]
        record["checkpoint"] = str(_checkpoint_path(out, epoch + 1).relative_to(out))
        _save_checkpoint(model, out, epoch + 1)
        write_json_atomic(out / RUN_FILE, record)  # the commit point of this epoch
        if previous and previous != record["checkpoint"]:
            (out / previous).unlink(missing_ok=True)
        if status == "stopped_early":
            break

    record["stop_reason"] = status
    record["wall_seconds"] = round(sum(e["seconds"] for e in record["epochs"]), 3)
    if status not in ("nan", "diverged") and config.evaluate:
        from .evaluate import evaluate_run
        load_weights(model, out / BEST_WEIGHTS)
        metrics = evaluate_run(model, store, config.evaluate, out, batch=max(config.batch, 1000))
        record[config.evaluate] = metrics["by_class"]
    record["status"] = status if status in ("nan", "diverged") else "finished"
    write_json_atomic(out / RUN_FILE, record)
    return record
