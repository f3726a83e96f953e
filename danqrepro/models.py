"""DanQ, DeepSEA's CNN and their presets, described by a config.

``build_model(preset_or_config, seq_len, n_targets)`` returns an uncompiled Keras model;
:func:`layer_table` and :func:`flops_per_sample` describe it for the architecture chapter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers

from .dropout import VariableRateDropout


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a DanQ-style or DeepSEA-style model.

    ``arch="danq"``: one convolution (``conv_filters[0]`` x ``conv_width``), max-pool of
    ``pool`` (stride ``pool``), dropout ``dropout[0]``, a BiLSTM of ``lstm_units`` per
    direction over the pooled positions, dropout ``dropout[1]``, flatten, dense
    ``dense_units`` ReLU, sigmoid output.
    ``arch="deepsea"``: convolutions ``conv_filters`` of width ``conv_width``, a max-pool
    of ``pool`` after all but the last, each followed by its dropout, then dense and
    output as above.
    """

    arch: str
    conv_filters: tuple[int, ...]
    conv_width: int
    pool: int
    dropout: tuple[float, ...]
    dense_units: int
    lstm_units: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, ModelConfig] = {
    "danq": ModelConfig("danq", (320,), 26, 13, (0.2, 0.5), 925, lstm_units=320),
    "danq-small": ModelConfig("danq", (64,), 26, 13, (0.2, 0.5), 128, lstm_units=32),
    # the cpu study's pair: 1/10 of the published convolution widths (two filters per
    # planted motif, one per strand), DanQ's LSTM at 1/20 and the published dense width
    "danq-cpu": ModelConfig("danq", (32,), 26, 13, (0.2, 0.5), 925, lstm_units=16),
    "danq-tiny": ModelConfig("danq", (8,), 26, 13, (0.2, 0.5), 16, lstm_units=8),
    "deepsea": ModelConfig("deepsea", (320, 480, 960), 8, 4, (0.2, 0.2, 0.5), 925),
    "deepsea-small": ModelConfig("deepsea", (64, 96, 128), 8, 4, (0.2, 0.2, 0.5), 128),
    "deepsea-cpu": ModelConfig("deepsea", (32, 48, 96), 8, 4, (0.2, 0.2, 0.5), 925),
    # deepsea-cpu with its last convolution narrowed to 53 filters, so that danq-cpu has
    # 0.884 of its parameters, as the published DanQ has 0.888 of DeepSEA's (C1's pair)
    "deepsea-cpu-matched": ModelConfig("deepsea", (32, 48, 53), 8, 4, (0.2, 0.2, 0.5), 925),
    # the same for 200-bp ChIP-seq windows and one target: danq-cpu there has 0.891 of its
    # parameters (the real-data chapter's pair)
    "deepsea-chip-matched": ModelConfig("deepsea", (32, 48, 136), 8, 4, (0.2, 0.2, 0.5), 925),
    "deepsea-tiny": ModelConfig("deepsea", (8, 8, 8), 8, 4, (0.2, 0.2, 0.5), 16),
}


def get_config(model: str | ModelConfig) -> ModelConfig:
    if isinstance(model, ModelConfig):
        return model
    if model not in PRESETS:
        raise ValueError(f"unknown model preset {model!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[model]


def build_model(model: str | ModelConfig, seq_len: int = 1000, n_targets: int = 919,
                seed: int | None = None, unroll: bool = False) -> keras.Model:
    """Build an uncompiled model.

    Parameters
    ----------
    model : a preset name (see :data:`PRESETS`) or a :class:`ModelConfig`.
    seq_len, n_targets : input length and number of outputs.
    seed : seeds the dropout layers' random streams.
    unroll : DanQ's LSTM unrolled over its time steps (the same arithmetic in another
        graph: no loop, one op per step; ``benchmarks/step.py`` times it).

    Returns
    -------
    keras.Model mapping float32 (batch, seq_len, 4) to probabilities (batch, n_targets).
    """
    config = get_config(model)
    builder = {"danq": _danq, "deepsea": _deepsea}.get(config.arch)
    if builder is None:
        raise ValueError(f"unknown arch {config.arch!r}; expected 'danq' or 'deepsea'")
    if n_targets < 1:
        raise ValueError(f"n_targets={n_targets}: expected at least one target")
    shortest = min_length(config)
    if seq_len < shortest:
        raise ValueError(f"seq_len={seq_len}: too short for {config.arch} with {config.conv_width}-bp "
                         f"filters and pooling {config.pool}; it needs at least {shortest} bp")
    return builder(config, seq_len, n_targets, seed, unroll)


def min_length(config: ModelConfig) -> int:
    """The shortest input that leaves one position after every convolution and pooling."""
    def positions(length: int) -> int:
        n_conv = 1 if config.arch == "danq" else len(config.conv_filters)
        for i in range(n_conv):
            length -= config.conv_width - 1
            if config.arch == "danq" or i < n_conv - 1:
                length //= config.pool
        return length
    length = config.conv_width
    while positions(length) < 1:
        length += 1
    return length


def _danq(c: ModelConfig, seq_len: int, n_targets: int, seed, unroll: bool = False) -> keras.Model:
    """DanQ (Quang & Xie 2016), as in ``DanQ_train.py`` of uci-cbcl/DanQ.

    At the ``danq`` preset, 1000 bp and 919 targets this has 46,926,479 parameters, the
    count of the published Keras model. Where this port differs from the 2016 code:

    - LSTM gates use the sigmoid (Keras 3 default, and what keeps the cuDNN kernel on a
      GPU), where Keras 0.2 used the hard sigmoid; the recurrent initialiser is
      orthogonal and the forget-gate bias starts at one in both.
    - Dropout layers are :class:`VariableRateDropout` so the rates can change between
      steps; at fixed rates they compute the same inverted dropout as ``Dropout``.
    - Convolution kernels start uniform in (-0.05, 0.05) as in the original; dense
      layers use Glorot-uniform (also the original default); biases start at zero.
    - The optimiser is Keras 3 RMSprop (lr 1e-3, rho 0.9) whose epsilon is 1e-7 (was 1e-6).
    """
    inputs = keras.Input((seq_len, 4), name="sequence")
    x = layers.Conv1D(c.conv_filters[0], c.conv_width, padding="valid", activation="relu",
                      kernel_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
                      name="conv")(inputs)
    x = layers.MaxPooling1D(c.pool, strides=c.pool, name="pool")(x)
    x = VariableRateDropout(c.dropout[0], seed=seed, name="drop_pool")(x)
    x = layers.Bidirectional(layers.LSTM(c.lstm_units, return_sequences=True, unroll=unroll),
                             merge_mode="concat", name="bilstm")(x)
    x = VariableRateDropout(c.dropout[1], seed=None if seed is None else seed + 1,
                            name="drop_lstm")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(c.dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(n_targets, activation="sigmoid", name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="danq")


def _deepsea(c: ModelConfig, seq_len: int, n_targets: int, seed, unroll: bool = False) -> keras.Model:
    """DeepSEA's CNN (Zhou & Troyanskaya 2015), the CNN-only baseline.

    Differences from the 2015 Torch model: no L2 weight penalty, no L1 sparsity penalty
    on the dense layer and no max-norm constraint; trained with the same optimiser and
    early stopping as DanQ here, so the comparison isolates the architecture.
    """
    inputs = keras.Input((seq_len, 4), name="sequence")
    x = inputs
    for i, (filters, rate) in enumerate(zip(c.conv_filters, c.dropout), start=1):
        x = layers.Conv1D(filters, c.conv_width, padding="valid", activation="relu",
                          name=f"conv{i}")(x)
        if i < len(c.conv_filters):
            x = layers.MaxPooling1D(c.pool, strides=c.pool, name=f"pool{i}")(x)
        x = VariableRateDropout(rate, seed=None if seed is None else seed + i,
                                name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(c.dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(n_targets, activation="sigmoid", name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="deepsea")


def dropout_layers(model: keras.Model) -> list[VariableRateDropout]:
    return [layer for layer in model.layers if isinstance(layer, VariableRateDropout)]


def _layer_flops(layer, in_shape, out_shape) -> int:
    """Forward multiply-add FLOPs (2 per MAC) of one layer for one sample."""
    if isinstance(layer, layers.Conv1D):
        return 2 * out_shape[1] * out_shape[2] * layer.kernel_size[0] * in_shape[2]
    if isinstance(layer, layers.Dense):
        return 2 * in_shape[-1] * out_shape[-1]
    if isinstance(layer, layers.Bidirectional):
        units, steps, features = layer.forward_layer.units, in_shape[1], in_shape[2]
        return 2 * 2 * steps * 4 * units * (features + units)  # 2 directions, 4 gates
    return 0


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, parameters, forward FLOPs per sample."""
    rows = []
    for layer in model.layers:
        in_shape = getattr(layer, "input", None)
        in_shape = tuple(in_shape.shape) if in_shape is not None and hasattr(in_shape, "shape") else None
        out_shape = tuple(layer.output.shape)
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": out_shape[1:],
            "parameters": layer.count_params() if layer.built else 0,
            "forward_flops": _layer_flops(layer, in_shape, out_shape) if in_shape else 0,
        })
    return rows


def flops_per_sample(model: keras.Model, training: bool = True) -> int:
    """Model FLOPs per sample: forward, or about 3x forward for a training step
    (forward, and backward to both activations and weights)."""
    forward = sum(row["forward_flops"] for row in layer_table(model))
    return 3 * forward if training else forward

