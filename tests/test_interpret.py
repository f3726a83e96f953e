"""First-layer filters as motifs: a filter set by hand to a JASPAR PWM is recovered."""

import numpy as np
import pytest

from danqrepro.data.motifs import load_jaspar
from danqrepro.interpret import filter_pwms, match_jaspar, recovered
from danqrepro.models import build_model
from danqrepro.pwm import information


@pytest.fixture(scope="module")
def jaspar():
    return load_jaspar()


def test_a_filter_set_to_a_jaspar_pwm_matches_that_motif(jaspar):
    motif = next(m for m in jaspar if m.name == "CTCF" and m.length <= 26)
    model = build_model("danq-tiny", 1000, 40, seed=0)
    kernel, bias = (np.zeros_like(w) for w in model.get_layer("conv").get_weights())
    log_odds = np.log(np.clip(motif.pwm, 1e-3, 1) / 0.25)  # (length, 4) A,G,C,T
    kernel[:motif.length, :, 0] = log_odds
    bias[0] = -0.6 * log_odds.max(axis=1).sum()  # fires on good sites only
    model.get_layer("conv").set_weights([kernel, bias])

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (300, 1000))
    for i in range(0, 300, 2):  # a sampled site in every other sequence
        start = rng.integers(0, 1000 - motif.length)
        codes[i, start:start + motif.length] = motif.sample(rng, 1)[0]
    x = np.eye(4, dtype=np.float32)[codes]

    filters = filter_pwms(model, x)
    assert filters[0]["n_sites"] >= 50 and filters[0]["pwm"].shape == (26, 4)
    assert information(filters[0]["pwm"][:motif.length]) > 0.5 * motif.information_content()
    assert all(f["pwm"] is None and f["n_sites"] == 0 for f in filters[1:])  # silent filters
    matches = match_jaspar(filters, jaspar)
    assert matches.loc[0, "matrix_id"] == motif.matrix_id, matches.loc[0].to_dict()
    assert matches.loc[0, "q_value"] < 0.05
    found = recovered(matches, [motif.matrix_id, jaspar[0].matrix_id])
    assert found["recovered"] == 1 and found["fraction"] == 0.5


def test_information_of_uniform_and_certain_columns():
    assert information(np.full((3, 4), 0.25)) == pytest.approx(0)
    assert information(np.eye(4)[[0, 1]]) == pytest.approx(4, abs=1e-6)


def test_planted_motifs_by_class():
    from danqrepro.interpret import planted_classes
    rules = {"pairs": [{"first": "P1", "second": "P2", "gap": 5}],
             "targets": [{"class": "TF", "motifs": ["S1"], "rule": "single"},
                         {"class": "TF", "motifs": ["P1", "P2"], "rule": "pair"},
                         {"class": "DNase", "motifs": ["S1", "D1"], "rule": "any"},
                         {"class": "histone", "motifs": [], "rule": "density"}],
             "density_groups": [["H1", "S1"]]}
    assert planted_classes(rules) == {"TF single": ["S1"], "TF pair": ["P1", "P2"],
                                      "DNase": ["D1", "S1"], "histone": ["H1", "S1"]}


def test_uninformative_flanks_are_trimmed_before_matching(jaspar):
    from danqrepro.interpret import core, match_jaspar
    sharp = np.eye(4)[[0, 1, 2, 3, 0]] * 0.97 + 0.0075  # five columns of about 1.8 bits
    padded = np.vstack([np.full((5, 4), 0.25), sharp, np.full((3, 4), 0.25)])
    np.testing.assert_array_equal(core(padded), sharp)
    assert len(core(np.full((26, 4), 0.25))) == 0
    flat = {"filter": 0, "pwm": np.full((26, 4), 0.25), "n_sites": 500, "information": 0.0,
            "max_activation": 1.0}
    row = match_jaspar([flat], jaspar).iloc[0]
    assert row["core_length"] == 0 and np.isnan(row.get("q_value", np.nan))  # never matched
