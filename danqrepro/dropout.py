"""Dropout whose rate can change while training, and the random-dropout callback.

A stock ``keras.layers.Dropout`` stores its rate as a Python float that is baked into
the train function when Keras traces it, so assigning ``layer.rate`` afterwards changes
nothing. :class:`VariableRateDropout` keeps the rate in a non-trainable variable that
the compiled step reads on every call, and :class:`RandomDropout` assigns it.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable("danqrepro")
class VariableRateDropout(keras.layers.Layer):
    """Inverted dropout with its rate in a non-trainable variable.

    Parameters
    ----------
    rate : initial fraction of units set to zero during training.
    seed : seed of the layer's own random stream.

    Input and output shapes are equal; at inference the layer is the identity.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.initial_rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape):
        self.rate = self.add_weight(shape=(), name="rate", trainable=False,
                                    initializer=keras.initializers.Constant(self.initial_rate))

    def call(self, inputs, training=False):
        if not training:
            return inputs
        # float32 draws and comparison: under mixed precision the variable reads as float16
        rate = ops.cast(self.rate, "float32")
        keep = keras.random.uniform(ops.shape(inputs), dtype="float32", seed=self.seed_generator) >= rate
        return ops.where(keep, inputs / ops.cast(1 - rate, inputs.dtype), ops.zeros_like(inputs))

    def set_rate(self, rate: float) -> None:
        if not 0 <= rate < 1:
            raise ValueError(f"{self.name}: dropout rate must be in [0, 1), got {rate}")
        self.rate.assign(rate)

    def reseed(self, seed: int) -> None:
        """Reset the random stream, e.g. at each epoch start so a resumed run replays it."""
        self.seed_generator.state.assign(
            np.array([seed % (2**31 - 1), 0], dtype=self.seed_generator.state.dtype))

    def get_config(self):
        return {**super().get_config(), "rate": self.initial_rate, "seed": self.seed}


class RandomDropout(keras.callbacks.Callback):
    """Redraw dropout rates from uniform ranges at the start of every epoch (or batch).

    Parameters
    ----------
    ranges : layer name -> (low, high); e.g. :data:`danqrepro.config.PAPER_RANGES`.
    seed : the callback's own seed. Rates are drawn from ``(seed, epoch)`` (or
        ``(seed, epoch, batch)``), not from a running stream, so a resumed run draws the
        same rates as an uninterrupted one.
    per : ``"epoch"`` (the natural reading of the paper) or ``"batch"``.

    Attributes
    ----------
    rates : epoch -> {layer name: list of the rates used}; the epoch mean is also written
        into the logs (``rate_<layer>``) and hence into the Keras history.
    """

    def __init__(self, ranges: dict[str, tuple[float, float]], seed: int, per: str = "epoch"):
        super().__init__()
        if per not in ("epoch", "batch"):
            raise ValueError(f"per must be 'epoch' or 'batch', got {per!r}")
        for name, (low, high) in ranges.items():
            if not 0 <= low <= high < 1:
                raise ValueError(f"dropout range for {name}: expected 0 <= low <= high < 1, "
                                 f"got ({low}, {high})")
        self.ranges, self.seed, self.per = dict(ranges), seed, per
        self.rates: dict[int, dict[str, list[float]]] = {}
        self._epoch = 0

    def _draw(self, *key: int) -> None:
        rng = np.random.default_rng([self.seed, *key])
        for name, (low, high) in self.ranges.items():
            rate = float(rng.uniform(low, high))
            self.model.get_layer(name).set_rate(rate)
            self.rates[self._epoch].setdefault(name, []).append(rate)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self.rates[epoch] = {}
        if self.per == "epoch":
            self._draw(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per == "batch":
            self._draw(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, drawn in self.rates.get(epoch, {}).items():
                logs[f"rate_{name}"] = float(np.mean(drawn))
