"""The training recipe: :class:`TrainConfig`, whose fields and defaults are the one source
that the CLI's options, the replication's presets and the run cache read.

Importing this module loads neither Keras nor TensorFlow, so the CLI can build its options
without them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

# The random-dropout paper's uniform ranges for DanQ's two dropout layers.
PAPER_RANGES = {"drop_pool": (0.1, 0.3), "drop_lstm": (0.4, 0.6)}
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Fields added after the first runs were recorded: left out of ``to_dict`` at their
# defaults, so those runs keep their keys (see danqrepro.runcache.run_key) and still match.
LATER_FIELDS = ("precision", "jit_compile", "distribute", "deterministic", "optimizer",
                "output_bias", "unroll")
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
    unroll : DanQ's LSTM unrolled over its time steps: the same arithmetic without the
        loop's per-step overhead, faster for small models at small batches on a CPU
        (``benchmarks/step.py``).
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
    unroll: bool = False

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
        from .models import (
            PRESETS as MODELS,  # a bad name fails here, before any data work
        )
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
        defaults = {f.name: f.default for f in fields(self)}
        return {k: v for k, v in d.items() if k not in LATER_FIELDS or v != defaults[k]}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}")
        return cls(**d)
