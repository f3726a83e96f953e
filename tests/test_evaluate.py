import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from danqrepro.evaluate import (
    average_precision,
    average_strands,
    compare_targets,
    roc_auc,
    score,
)


def test_reverse_complement_averaging():
    pred = np.array([[0.1, 0.9], [0.4, 0.2], [0.3, 0.7], [0.0, 0.4]])
    labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    p, y = average_strands(pred, labels)
    np.testing.assert_allclose(p, [[0.2, 0.8], [0.2, 0.3]])
    np.testing.assert_array_equal(y, labels[:2])
    with pytest.raises(ValueError, match="even"):
        average_strands(pred[:3], labels[:3])


def test_aucs_equal_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random((3000, 30)) < np.linspace(0.005, 0.4, 30)).astype(np.uint8)
    s = np.round(rng.random((3000, 30)) * 0.3 + 0.5 * y, 2)  # rounding makes many ties
    roc, ap = roc_auc(y, s), average_precision(y, s)
    for t in range(30):
        assert roc[t] == pytest.approx(roc_auc_score(y[:, t], s[:, t]), abs=1e-12)
        assert ap[t] == pytest.approx(average_precision_score(y[:, t], s[:, t]), abs=1e-12)


def test_targets_without_positives_or_negatives_are_skipped():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 5)) < 0.3).astype(np.uint8)
    y[:, 1] = 0
    y[:, 3] = 1
    result = score(rng.random((200, 5)), y)
    assert result["n_skipped"] == 2 and result["skipped"] == [1, 3]
    assert result["roc_auc"][1] is None and result["pr_auc"][3] is None
    assert result["n_scored"] == 3 and result["n_samples"] == 100


def test_compare_targets():
    a = {"roc_auc": [0.9, 0.8, 0.7], "pr_auc": [0.3, 0.2, 0.1]}
    b = {"roc_auc": [0.8, 0.85, 0.6], "pr_auc": [0.1, 0.25, 0.09]}
    c = compare_targets(a, b)
    assert c["roc_better_fraction"] == pytest.approx(2 / 3)
    assert c["pr_better_fraction"] == pytest.approx(2 / 3)
    assert c["pr_gain_over_50pct"] == 1
