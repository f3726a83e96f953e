"""C1's order benchmark end to end: a bundle with order rules, a run on it, its order
targets scored where only the order tells (danqrepro.replication.order)."""

import json

import numpy as np
import pytest

from danqrepro.data import SyntheticSpec, convert, generate
from danqrepro.data.synthetic import OrderSpec
from danqrepro.files import DataError
from danqrepro.replication import order
from danqrepro.train import TrainConfig, train


@pytest.fixture(scope="module")
def order_store(tmp_path_factory):
    spec = SyntheticSpec(n_train=1024, n_valid=256, n_test=1024, n_targets=60, n_motifs=16,
                         n_pairs=4, seed=5)
    rules = OrderSpec(n_rules=2, n_targets=6, spacing=(100, 600), fill=0.8)
    root = tmp_path_factory.mktemp("order")
    bundle = generate(root / "bundle", spec, progress=False, order=rules)
    return convert(bundle, root / "store", progress=False)


def test_a_run_is_scored_on_its_order_targets(order_store, tmp_path):
    run = tmp_path / "run"
    train(TrainConfig(data=str(order_store.path), model="danq-tiny", batch=128, n_train=None,
                      max_epochs=1, patience=1), run, verbose=0)
    columns = order.order_columns(order_store)
    assert len(columns) == 6
    metrics = order.score_run(run, order_store)
    assert json.loads((run / order.ORDER_METRICS).read_text()) == metrics
    assert metrics["columns"] == columns and metrics["rules"] == [0, 1, 0, 1, 0, 1]
    # where a target's motifs are present in either order, the co-occurrence oracle is
    # blind (0.5) and the oracle is not; a one-epoch model lies somewhere in [0, 1]
    assert metrics["cooccurrence"] == [0.5] * 6
    assert min(metrics["oracle"]) > 0.7
    assert all(0 <= v <= 1 for v in metrics["model"])


def test_order_aucs_read_only_the_samples_holding_the_motifs():
    # two forward samples hold the pair (oracles differ), two do not; then their RCs
    oracle = np.array([[0.9], [0.1], [0.2], [0.2]] * 1, np.float32)
    cooccurrence = np.array([[0.5], [0.5], [0.2], [0.2]], np.float32)
    labels = np.array([[1], [0], [1], [0]], np.uint8)
    pred = np.array([[0.8], [0.3], [0.0], [0.9]], np.float32)  # right order, wrong elsewhere
    both = lambda a: np.concatenate([a, a])  # noqa: E731 - the reverse-complement half
    aucs = order.order_aucs(both(pred), both(labels), both(oracle), both(cooccurrence), [0])
    assert aucs.tolist() == [1.0]  # the two samples without the pair do not count


def test_a_store_without_order_rules_has_no_cooccurrence_oracle(tiny_store):
    assert order.order_columns(tiny_store) == []
    with pytest.raises(DataError, match="no co-occurrence oracle of split 'test'"):
        order.cooccurrence_oracle(tiny_store)
