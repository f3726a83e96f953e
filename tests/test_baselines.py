"""The planted-motif scan: exact log-odds on both strands, and it separates positives."""

import numpy as np
import pytest

from danqrepro.evaluate import score
from danqrepro.pwm import best_score
from danqrepro.replication.baselines import motif_scan_scores, scan


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


def test_planted_site_variants_break_the_site_and_spare_it(tiny_store):
    from danqrepro.data.motifs import load_jaspar
    from danqrepro.replication.baselines import (
        CENTRAL,
        GOOD_MATCH,
        planted_site_variants,
    )
    variants = planted_site_variants(tiny_store, "test", n=5)
    assert 1 <= len(variants) <= 5 and variants.motif.is_unique
    pwms = {m.matrix_id: m.pwm for m in load_jaspar()}
    codes = tiny_store.split("test").codes
    for _, v in variants.iterrows():
        pwm = pwms[v.motif]
        good = GOOD_MATCH * best_score(pwm)
        seq = np.asarray(codes[v.sequence])
        assert CENTRAL.start <= v.break_start < CENTRAL.stop and v.break_start != v.control_start
        np.testing.assert_array_equal(v.break_ref, seq[v.break_start:v.break_start + 50])
        assert sorted(v.break_alt) == sorted(v.break_ref)  # a shuffle: the same bases
        assert scan(v.break_ref[None], pwm).max() > good > scan(v.control_ref[None], pwm).max()
        assert v.oracle_ref > 0.5 > 0.01 > v.oracle_break  # the rule's baseline without the site
