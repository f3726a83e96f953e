"""The planted-motif scan: exact log-odds on both strands, and it separates positives."""

import numpy as np
import pytest

from danqrepro.baselines import motif_scan_scores, scan
from danqrepro.evaluate import score


def test_scan_scores_both_strands_exactly():
    pwm = np.array([[0.7, 0.1, 0.1, 0.1],   # A
                    [0.1, 0.7, 0.1, 0.1],   # G
                    [0.1, 0.1, 0.1, 0.7]])  # T
    best = 3 * np.log2(0.7 / 0.25)
    codes = np.array([[4, 0, 1, 3, 4],      # N A G T N: the site forward at position 1
                      [4, 0, 2, 3, 4]])     # N A C T N: the reverse complement of A G T
    s = scan(codes, pwm)
    assert s.shape == (2, 3)
    assert s[0, 1] == pytest.approx(best, rel=1e-6) and s[1, 1] == pytest.approx(best, rel=1e-6)
    # N A G: N scores 0; A and G sit where the PWM (and its reverse complement A C T) wants others
    assert s[0, 0] == pytest.approx(2 * np.log2(0.1 / 0.25), rel=1e-6)


def test_scan_separates_positives_on_the_tiny_bundle(tiny_store):
    scores = motif_scan_scores(tiny_store, "valid")
    labels = tiny_store.split("valid").labels(slice(None))
    assert scores.shape == labels.shape == (256, 40)
    tf = score(scores, labels)["by_class"]["TF"]
    assert tf["roc_mean"] > 0.7  # the planted truth ranks positives first
