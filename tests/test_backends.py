"""The toolkit on Keras' other backends: the same batches, the same model, the drawn rate
inside the compiled step, training with resume, and weights that load across backends.

The TensorFlow suite runs in this process; the JAX checks run in subprocesses with
``KERAS_BACKEND=jax`` and TensorFlow blocked (as on a GPU machine that has no TensorFlow).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from danqrepro.data.pipeline import (Batches, decode, eval_batches, eval_dataset, train_batches,
                                     train_dataset)
from danqrepro.sequence import codes_to_one_hot

HERE = Path(__file__).parent
pytest.importorskip("jax")


def test_numpy_and_tf_data_batches_are_identical(tiny_store):
    split = tiny_store.split("train")
    indices = np.arange(split.n)
    for tf_ds, index in ((train_dataset(split, indices, 96, seed=4, epoch=2),
                          train_batches(indices, 96, seed=4, epoch=2)),
                         (eval_dataset(split, 200, 700), eval_batches(split.n, 200, 700))):
        numpy_ds = Batches(split, index)
        tf_batches = [(x.numpy(), y.numpy()) for x, y in tf_ds]
        assert len(tf_batches) == len(numpy_ds) == len(index)
        for i, (x, y) in enumerate(tf_batches):
            nx, ny = numpy_ds[i]
            assert nx.dtype == x.dtype == np.float32 and ny.dtype == y.dtype == np.float32
            np.testing.assert_array_equal(nx, x)
            np.testing.assert_array_equal(ny, y)
    assert [len(b) for b in train_batches(indices, 96, 4, 2)] == [96] * 10 + [64]  # 1024 samples


def test_tensorflow_losses_are_those_of_the_pipeline_before_backends(tiny_store, tmp_path):
    """The TensorFlow path is unchanged: a tiny random-dropout run gives the losses that the
    code before the backend work gave (commit fde19cf, recorded on this project's CPU;
    another CPU's kernels may round otherwise, hence the tolerance)."""
    from danqrepro.train import TrainConfig, train
    record = train(TrainConfig(data=str(tiny_store.path), model="danq-tiny", dropout="random",
                               n_train=512, batch=128, max_epochs=2, patience=2, evaluate=None),
                   tmp_path / "run", verbose=0)
    got = [[e["loss"], e["val_loss"]] for e in record["epochs"]]
    np.testing.assert_allclose(got, [[0.6703251004219055, 0.6238027349636093],
                                     [0.5972328186035156, 0.5637665369200008]], rtol=1e-4)


def test_decode_unpacks_what_the_store_packed(tiny_store):
    split = tiny_store.split("valid")
    x, y = decode(np.asarray(split.codes[:5]), np.asarray(split.labels_packed[:5]), split.n_targets)
    np.testing.assert_array_equal(x, codes_to_one_hot(np.asarray(split.codes[:5])))
    np.testing.assert_array_equal(y, split.labels(slice(0, 5)))


def run_without_tensorflow(code: str, tmp_path, backend: str = "jax") -> dict:
    """Run ``code`` with ``backend`` and TensorFlow blocked; it prints one JSON line last.
    Asserts that TensorFlow was never imported."""
    script = tmp_path / "probe.py"
    script.write_text((HERE / "no_tensorflow.py").read_text() + "\n" + code)
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result.pop("tensorflow_imported") is False
    return result


def test_jax_trains_resumes_and_follows_the_drawn_rates(tiny_store, tmp_path):
    """`danqrepro train` on JAX with no TensorFlow: a random-dropout smoke run, killed after
    its first epoch and resumed, ends with the record of an uninterrupted run; the compiled
    step's dropout follows each drawn rate."""
    code = f"""
import json, sys
import numpy as np
import keras
from danqrepro import train as train_module
from danqrepro.cli import main
from danqrepro.dropout import RandomDropout, VariableRateDropout
from danqrepro.runs import load_run

args = ["train", "--data", {str(tiny_store.path)!r}, "--model", "danq-tiny", "--dropout", "random",
        "--batch", "128", "--n-train", "512", "--max-epochs", "3", "--patience", "3", "--no-evaluate"]
main(args + ["--out", {str(tmp_path / "whole")!r}])
real = train_module.fit_epoch
def dies_in_epoch_two(model, callbacks, config, split, indices, epoch, verbose=0):
    if epoch == 1:
        raise KeyboardInterrupt
    return real(model, callbacks, config, split, indices, epoch, verbose)
train_module.fit_epoch = dies_in_epoch_two
try:
    main(args + ["--out", {str(tmp_path / "killed")!r}])
except KeyboardInterrupt:
    pass
partial = load_run({str(tmp_path / "killed")!r})["epochs_trained"]
train_module.fit_epoch = real
main(args + ["--out", {str(tmp_path / "killed")!r}])
whole, resumed = load_run({str(tmp_path / "whole")!r}), load_run({str(tmp_path / "killed")!r})

# the drawn rate inside the compiled (jitted) train step
class ZeroFraction(keras.metrics.Mean):
    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(keras.ops.mean(keras.ops.cast(y_pred == 0, "float32")))
inputs = keras.Input((20000,))
scale = keras.layers.Dense(1, use_bias=False)  # a weight to train; the output is the dropout's
model = keras.Model(inputs, VariableRateDropout(0.2, name="drop_pool")(inputs + 0 * scale(inputs)))
model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=[ZeroFraction(name="zeros")])
callback = RandomDropout({{"drop_pool": (0.05, 0.95)}}, seed=1)
x = np.ones((4, 20000), np.float32)
history = model.fit(x, x, epochs=4, batch_size=4, verbose=0, callbacks=[callback])
print(json.dumps({{"partial": partial, "whole": [e["loss"] for e in whole["epochs"]],
                  "resumed": [e["loss"] for e in resumed["epochs"]],
                  "rates_whole": [e["rates"] for e in whole["epochs"]],
                  "rates_resumed": [e["rates"] for e in resumed["epochs"]],
                  "execution": whole["execution"], "jit": bool(model.jit_compile),
                  "zeros": history.history["zeros"],
                  "drawn": [callback.rates[e]["drop_pool"][0] for e in range(4)],
                  "tensorflow_imported": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}}))
"""
    r = run_without_tensorflow(code, tmp_path)
    assert r["partial"] == 1 and len(r["whole"]) == 3
    assert r["resumed"] == r["whole"] and r["rates_resumed"] == r["rates_whole"]
    assert r["execution"]["backend"] == "jax" and r["execution"]["jit_compile"] is True and r["jit"]
    assert len(set(np.round(r["drawn"], 3))) == 4
    np.testing.assert_allclose(r["zeros"], r["drawn"], atol=0.02)


def test_weights_saved_on_tensorflow_load_on_jax(tiny_store, tmp_path):
    """A `.weights.h5` written by a TensorFlow run predicts the same on JAX."""
    from danqrepro.runs import load_run_model
    from danqrepro.train import TrainConfig, train
    out = tmp_path / "tf-run"
    train(TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                      max_epochs=1, patience=1, evaluate=None), out, verbose=0)
    model, _ = load_run_model(out)
    x = codes_to_one_hot(np.asarray(tiny_store.split("test").codes[:6])).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(model.predict_on_batch(x))
    code = f"""
import json, sys
import numpy as np
from danqrepro.runs import load_run_model
model, _ = load_run_model({str(out)!r})
p = np.asarray(model.predict_on_batch(np.load({str(tmp_path / "x.npy")!r})))
print(json.dumps({{"p": p.tolist(),
                  "tensorflow_imported": any(m.split(".")[0] == "tensorflow" for m in sys.modules)}}))
"""
    got = np.array(run_without_tensorflow(code, tmp_path)["p"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_distribution_on_torch_is_a_clear_error(monkeypatch):
    from danqrepro import backend
    monkeypatch.setattr(backend, "name", lambda: "torch")
    with pytest.raises(ValueError, match="torch backend has no data-parallel strategy"):
        backend.distribution(True)
