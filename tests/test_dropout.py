"""The drawn rate is the rate the compiled train step uses."""

import keras
import numpy as np
import pytest

from danqrepro.dropout import RandomDropout, VariableRateDropout

WIDTH = 20_000


class ZeroFraction(keras.metrics.Mean):
    """Fraction of zeroed units in the model's output, as computed inside train_step."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(keras.ops.mean(keras.ops.cast(y_pred == 0, "float32")))


class NonZeroValue(keras.metrics.Mean):
    """Mean of the surviving units: 1 / (1 - rate) for inputs of one."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        kept = keras.ops.cast(y_pred != 0, "float32")
        return super().update_state(keras.ops.sum(y_pred) / keras.ops.sum(kept))


class Scale(keras.layers.Layer):
    """Its input times one weight that starts at 1 and stays there (SGD at rate 0): a
    graph with a weight to train whose output is its input, in a few bytes (an identity
    Dense layer of this width held 1.6 GB)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer="ones")

    def call(self, x):
        return x * self.w


def probe_model(layer):
    inputs = keras.Input((WIDTH,))
    model = keras.Model(inputs, layer(Scale()(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse",
                  metrics=[ZeroFraction(name="zeros"), NonZeroValue(name="kept_value")])
    return model


def test_compiled_step_follows_each_drawn_rate():
    keras.utils.set_random_seed(0)
    layer = VariableRateDropout(0.2, name="drop_pool")
    model = probe_model(layer)
    x = np.ones((4, WIDTH), np.float32)
    callback = RandomDropout({"drop_pool": (0.05, 0.95)}, seed=1)
    history = model.fit(x, x, epochs=4, batch_size=4, verbose=0, callbacks=[callback])
    drawn = [callback.rates[e]["drop_pool"][0] for e in range(4)]
    assert len(set(np.round(drawn, 3))) == 4, "four distinct rates were drawn"
    np.testing.assert_allclose(history.history["zeros"], drawn, atol=0.02)
    np.testing.assert_allclose(history.history["kept_value"], 1 / (1 - np.array(drawn)), rtol=0.01)
    np.testing.assert_allclose(history.history["rate_drop_pool"], drawn)


def test_per_batch_redraw_changes_rate_within_an_epoch():
    layer = VariableRateDropout(0.5, name="drop_pool")
    model = probe_model(layer)
    x = np.ones((12, WIDTH), np.float32)
    callback = RandomDropout({"drop_pool": (0.1, 0.9)}, seed=2, per="batch")
    model.fit(x, x, epochs=1, batch_size=4, verbose=0, callbacks=[callback])
    rates = callback.rates[0]["drop_pool"]
    assert len(rates) == 3 and len(set(rates)) == 3
    assert float(layer.rate.numpy()) == pytest.approx(rates[-1])


def test_rates_are_a_function_of_seed_and_epoch():
    def draws(seed):
        layer = VariableRateDropout(0.5, name="drop_pool")
        model = probe_model(layer)
        cb = RandomDropout({"drop_pool": (0.1, 0.3)}, seed=seed)
        model.fit(np.ones((4, WIDTH)), np.ones((4, WIDTH)), epochs=3, verbose=0, callbacks=[cb])
        return [cb.rates[e]["drop_pool"][0] for e in range(3)]

    assert draws(5) == draws(5)
    assert draws(5) != draws(6)
    assert all(0.1 <= r <= 0.3 for r in draws(5))


def test_stock_dropout_ignores_a_reassigned_rate():
    """Why VariableRateDropout exists: the stock layer's rate is frozen into the trace."""
    layer = keras.layers.Dropout(0.2)
    model = probe_model(layer)
    x = np.ones((4, WIDTH), np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    layer.rate = 0.8
    history = model.fit(x, x, epochs=1, verbose=0)
    assert history.history["zeros"][0] == pytest.approx(0.2, abs=0.02)


def test_identity_at_inference_and_bad_rates():
    layer = VariableRateDropout(0.5)
    x = np.ones((2, 10), np.float32)
    np.testing.assert_array_equal(layer(x, training=False), x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        VariableRateDropout(1.0)
    with pytest.raises(ValueError, match="drop_lstm"):
        RandomDropout({"drop_lstm": (0.6, 0.4)}, seed=0)
