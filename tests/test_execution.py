"""The GPU path, exercised on the CPU: the cuDNN LSTM conditions, mixed precision, the
XLA and MirroredStrategy options, and the keys of runs recorded before these existed."""

import os
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras.src.backend.tensorflow.rnn import _do_lstm_arguments_support_cudnn

from danqrepro.models import build_model
from danqrepro.runcache import run_key
from danqrepro.train import TrainConfig, prepare_model, train


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def tiny(store, **kw):
    return TrainConfig(**{**dict(data=str(store.path), model="danq-tiny", batch=128, n_train=256,
                                 max_epochs=1, patience=1, seed=3, evaluate=None), **kw})


def test_danq_lstm_keeps_the_cudnn_kernel():
    bilstm = build_model("danq").get_layer("bilstm")
    for lstm in (bilstm.forward_layer, bilstm.backward_layer):
        # Keras falls back to the generic loop on a GPU unless all of these hold.
        assert _do_lstm_arguments_support_cudnn(lstm.activation, lstm.recurrent_activation,
                                                lstm.unroll, lstm.use_bias)
        assert lstm.recurrent_dropout == 0 and lstm.use_cudnn in ("auto", True)


def test_mixed_precision_keeps_float32_outputs_and_scales_the_loss(tiny_store, tmp_path,
                                                                   float32_afterwards):
    config = tiny(tiny_store, precision="mixed_float16")
    model, _ = prepare_model(config, tiny_store)
    assert model.get_layer("conv").compute_dtype == "float16"
    assert model.get_layer("conv").kernel.dtype == "float32"  # variables stay float32
    assert model.output.dtype == "float32"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    record = train(config, tmp_path / "run", verbose=0)
    assert record["execution"] == {"backend": "tensorflow", "threads": os.cpu_count(), "precision": "mixed_float16", "jit_compile": False,
                                   "deterministic": True, "replicas": 1}
    assert np.isfinite(record["epochs"][0]["loss"])


def test_xla_is_declined_under_determinism_and_for_the_lstm(tiny_store, float32_afterwards):
    with pytest.warns(UserWarning, match="jit_compile"):
        danq, _ = prepare_model(tiny(tiny_store, jit_compile=True), tiny_store)
    assert danq.jit_compile is False


def test_xla_mirrored_nondeterministic_cnn_run_from_the_cli(tiny_store, tmp_path):
    # A fresh process: op determinism, once on in this one, cannot be turned off.
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "danqrepro.cli", "train", "--data", tiny_store.path,
                    "--model", "deepsea-tiny", "--batch", "128", "--n-train", "256",
                    "--max-epochs", "1", "--no-evaluate", "--xla", "--mirrored",
                    "--nondeterministic", "--out", out], check=True, capture_output=True)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished"
    assert record["execution"]["jit_compile"] is True and record["execution"]["deterministic"] is False
    assert record["execution"]["replicas"] >= 1
    assert record["config"]["distribute"] is True


def test_execution_fields_at_defaults_leave_run_keys_unchanged(tiny_store):
    config = tiny(tiny_store)
    assert {"precision", "jit_compile", "distribute"}.isdisjoint(config.to_dict())
    assert run_key(config, tiny_store) != run_key(tiny(tiny_store, precision="mixed_bfloat16"),
                                                  tiny_store)
    # A run recorded before these fields existed (a first-study record) still loads with
    # its own config and keeps its key.
    recorded = {"batch": 100, "data": "/data/store", "dropout": "fixed", "evaluate": "test",
                "learning_rate": 0.001, "lstm_range": [0.4, 0.6], "max_epochs": 15,
                "model": "danq-small", "n_train": 6000, "n_valid": 2000, "patience": 3,
                "pool_range": [0.1, 0.3], "redraw": "epoch", "rho": 0.9, "seed": 1,
                "subset_seed": 0}
    assert TrainConfig.from_dict(recorded).to_dict() == recorded


def test_unknown_precision_is_refused(tiny_store):
    with pytest.raises(ValueError, match="precision='float16'"):
        tiny(tiny_store, precision="float16")
