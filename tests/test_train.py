"""Early stopping, resume equivalence and the run record, on a tiny bundle."""

import json

import numpy as np
import pytest

from danqrepro import train as train_module
from danqrepro.train import Patience, TrainConfig, train


def config(store, **kw):
    base = dict(data=str(store.path), model="danq-tiny", batch=128, n_train=512,
                max_epochs=3, patience=2, seed=1)
    base.update(kw)
    return TrainConfig(**base)


def test_early_stopping_follows_validation_loss(tiny_store, tmp_path):
    record = train(config(tiny_store, max_epochs=8, patience=1, learning_rate=0.05), tmp_path / "r",
                   verbose=0)
    val = [e["val_loss"] for e in record["epochs"]]
    best = int(np.argmin(val)) + 1
    assert record["best_epoch"] == best
    assert record["best_val_loss"] == pytest.approx(min(val))
    # the run stopped where the rule, replayed over its validation losses, stops
    rule = Patience(1, None, None, [])
    stops = [e for e, loss in enumerate(val, start=1) if (rule.update(loss), rule.stop)[1]]
    assert record["epochs_trained"] == (stops[0] if stops else 8)
    assert record["stop_reason"] == ("stopped_early" if stops else "max_epochs")


def test_patience_counts_epochs_without_a_new_best_across_a_resume():
    rule = Patience(2, None, None, [])
    assert [(rule.update(v), rule.stop) for v in (0.5, 0.4, 0.45, 0.39, 0.41, 0.42)] == [
        (True, False), (True, False), (False, False), (True, False), (False, False), (False, True)]
    epochs = [{"epoch": e} for e in range(1, 6)]  # resumed after epoch 5, whose best was epoch 4
    resumed = Patience(2, 0.39, 4, epochs)
    assert resumed.wait == 1 and not resumed.update(0.40) and resumed.stop


def test_resume_after_a_crash_gives_the_same_run(tiny_store, tmp_path, monkeypatch):
    cfg = config(tiny_store, dropout="random")
    clean = train(cfg, tmp_path / "clean", verbose=0)

    real = train_module.train_dataset

    def dies_in_epoch_three(split, indices, batch, seed, epoch):
        if epoch == 2:
            raise RuntimeError("killed")
        return real(split, indices, batch, seed, epoch)

    monkeypatch.setattr(train_module, "train_dataset", dies_in_epoch_three)
    with pytest.raises(RuntimeError, match="killed"):
        train(cfg, tmp_path / "resumed", verbose=0)
    partial = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert partial["status"] == "running" and partial["epochs_trained"] == 2
    monkeypatch.undo()
    resumed = train(cfg, tmp_path / "resumed", verbose=0)
    assert resumed["resumed"][0]["at_epoch"] == 2
    for a, b in zip(clean["epochs"], resumed["epochs"]):
        assert a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"]
        assert a["rates"] == b["rates"]
    assert clean["test"] == resumed["test"]


def test_record_contents_and_reuse(tiny_store, tmp_path):
    cfg = config(tiny_store, max_epochs=2)
    record = train(cfg, tmp_path / "r", verbose=0)
    assert record["status"] == "finished" and record["epochs_trained"] == 2
    assert record["config"] == cfg.to_dict()
    assert record["model"]["trainable_parameters"] == 21_824  # danq-tiny at 40 targets: 840 + 1,088 + 19,216 + 680
    assert record["data"]["kind"] == "synthetic" and record["data"]["n_train"] == 512
    assert set(record["provenance"]) == {"versions", "git", "code_fingerprint", "hardware", "settings"}
    assert record["provenance"]["settings"]["TF_ENABLE_ONEDNN_OPTS"] == "1"  # as conftest set it
    assert len(record["provenance"]["code_fingerprint"]) == 64
    assert record["provenance"]["versions"]["tensorflow"]
    assert record["epochs"][0]["rates"] == {"drop_pool": 0.2, "drop_lstm": 0.5}
    assert {"DNase", "TF", "histone", "all"} <= set(record["test"])
    assert (tmp_path / "r" / "metrics-test.json").is_file()
    assert (tmp_path / "r" / "best.weights.h5").is_file()
    assert [p.name for p in (tmp_path / "r" / "checkpoints").iterdir()] == ["epoch-002.npz"]
    # validation loss and AUCs come from one pass of predictions: the loss is Keras'
    from danqrepro.data.pipeline import eval_dataset
    from danqrepro.train import load_weights, prepare_model
    model, _ = prepare_model(cfg, tiny_store)
    load_weights(model, tmp_path / "r" / "best.weights.h5")
    keras_loss = model.evaluate(eval_dataset(tiny_store.split("valid"), 1000, None), verbose=0)
    assert record["best_val_loss"] == pytest.approx(keras_loss, rel=1e-5)
    assert all(0.2 < e["val_roc_mean"] < 0.8 and 0 < e["val_pr_mean"] < 1 for e in record["epochs"])
    assert train(cfg, tmp_path / "r", verbose=0) == record  # cached, not retrained
    with pytest.raises(ValueError, match="differs in batch"):
        train(config(tiny_store, max_epochs=2, batch=64), tmp_path / "r", verbose=0)


def test_bad_config_is_refused_before_training(tiny_store):
    with pytest.raises(ValueError, match="dropout='sometimes'"):
        config(tiny_store, dropout="sometimes")
    with pytest.raises(ValueError, match="n_train=513"):
        config(tiny_store, n_train=513)
    with pytest.raises(ValueError, match="exceeds the 1024 training samples"):
        train(config(tiny_store, n_train=4096), "/nonexistent/never-written", verbose=0)
    with pytest.raises(ValueError, match="dropout='random' needs a DanQ model"):
        config(tiny_store, model="deepsea-tiny", dropout="random")
    with pytest.raises(ValueError, match="model='danq-huge'"):
        config(tiny_store, model="danq-huge")
    with pytest.raises(ValueError, match="n_valid=0"):
        config(tiny_store, n_valid=0)


def test_optimizer_choice_keeps_old_run_keys(tiny_store):
    from danqrepro.train import prepare_model
    assert "optimizer" not in config(tiny_store).to_dict()  # runs recorded before it still match
    adam = config(tiny_store, optimizer="adam")
    assert adam.to_dict()["optimizer"] == "adam"
    model, _ = prepare_model(adam, tiny_store)
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        config(tiny_store, optimizer="sgd")


def test_label_rate_output_bias(tiny_store):
    from danqrepro.data.pipeline import positive_rates, subset_indices
    from danqrepro.train import prepare_model
    split = tiny_store.split("train")
    indices = subset_indices(split.n, 512, 0)
    rates = positive_rates(split, indices, chunk=100)  # several chunks, one partial
    np.testing.assert_array_equal(rates, split.labels(indices).mean(axis=0))
    assert 0 < rates.max() < 1
    cfg = config(tiny_store, output_bias="label_rates")
    assert cfg.to_dict()["output_bias"] == "label_rates"
    assert "output_bias" not in config(tiny_store).to_dict()
    model, _ = prepare_model(cfg, tiny_store)
    bias = model.get_layer("output").bias.numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), np.clip(rates, 1e-4, 1 - 1e-4), rtol=1e-5)
    zero, _ = prepare_model(config(tiny_store), tiny_store)
    assert not zero.get_layer("output").bias.numpy().any()
    with pytest.raises(ValueError, match="output_bias='prior'"):
        config(tiny_store, output_bias="prior")
