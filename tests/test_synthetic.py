"""The synthetic benchmark: layout, proportions, determinism, oracle."""

import json

import h5py
import numpy as np
import pytest
import scipy.io

from danqrepro.data import SyntheticSpec, class_ranges, generate, load_split
from danqrepro.pwm import log_odds as pwm_log_odds
from danqrepro.sequence import reverse_complement


def test_layout_is_deepsea(tiny_bundle):
    with h5py.File(tiny_bundle / "train.mat", "r") as f:
        assert f.userblock_size == 512
        assert f["trainxdata"].shape == (1000, 4, 1024) and f["trainxdata"].dtype == np.uint8
        assert f["traindata"].shape == (40, 1024)
    v = scipy.io.loadmat(tiny_bundle / "valid.mat")
    assert v["validxdata"].shape == (256, 4, 1000) and v["validdata"].shape == (256, 40)
    for split in ("train", "valid", "test"):
        x, y = load_split(tiny_bundle, split)
        half = len(x) // 2
        np.testing.assert_array_equal(x[half:], reverse_complement(x[:half]))
        np.testing.assert_array_equal(y[half:], y[:half])


def test_targets_follow_deepsea_classes(tiny_bundle):
    meta = json.loads((tiny_bundle / "synthetic.json").read_text())
    classes = [t["class"] for t in meta["rules"]["targets"]]
    for name, cols in class_ranges(40).items():
        assert [classes[c] for c in cols] == [name] * len(cols)
    assert meta["jaspar"]["release"].startswith("JASPAR")
    assert all(m["matrix_id"].startswith("MA") for m in meta["rules"]["motifs"])
    rules = {t["rule"] for t in meta["rules"]["targets"]}
    assert rules == {"any", "single", "pair", "density"}


def test_deterministic_from_seed(tmp_path, tiny_bundle):
    spec = SyntheticSpec(n_train=1024, n_valid=256, n_test=256, n_targets=40, seed=3)
    again = generate(tmp_path / "again", spec, progress=False)
    other = generate(tmp_path / "other", SyntheticSpec(n_train=1024, n_valid=256, n_test=256,
                                                        n_targets=40, seed=4), progress=False)
    a, b, c = (load_split(p, "train") for p in (tiny_bundle, again, other))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_oracle_agrees_with_labels_and_rates_are_deepsea_like(tmp_path):
    bundle = generate(tmp_path / "b", SyntheticSpec(n_train=2, n_valid=2, n_test=16384, seed=1),
                      progress=False)
    _, y = load_split(bundle, "test")
    with h5py.File(bundle / "oracle.h5", "r") as f:
        p = f["test"][...].astype(np.float64)
    assert p.shape == y.shape == (16384, 919)
    # labels are Bernoulli(oracle): the mean of the oracle matches the label rate per class
    for cols in class_ranges().values():
        cols = list(cols)
        assert abs(y[:, cols].mean() - p[:, cols].mean()) < 0.1 * p[:, cols].mean()
    rates = y.mean(axis=0)
    assert 0.005 < rates.mean() < 0.06
    no_positive = (y.sum(axis=1) == 0).mean()
    assert 0.05 < no_positive < 0.15
    # the oracle ranks positives first: mean AUC over frequent targets well above chance
    from danqrepro.evaluate import roc_auc
    auc = roc_auc(y[:8192], p[:8192])
    assert np.nanmean(auc) > 0.9


def test_default_spec_still_writes_the_first_generators_bundles(tmp_path):
    # the learnability knobs are off at their defaults: the committed runs' data is unchanged
    import hashlib
    out = generate(tmp_path / "b", SyntheticSpec(n_train=256, n_valid=2, n_test=2,
                                                 n_targets=40, seed=3), progress=False)
    x, y = load_split(out, "train")
    assert hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest() == (
        "c3839761ff7d2a5ff9de97d88f519f0c80a7226807e5a35e211d6ccb167b5659")


def pwm_scan(codes, pwm):
    """Best log-odds score of a PWM (length, 4) on either strand of each sequence."""
    one_hot = np.eye(4)[codes]
    windows = np.lib.stride_tricks.sliding_window_view(one_hot, pwm.shape, axis=(1, 2))[:, :, 0]
    log_odds = pwm_log_odds(pwm)
    forward = (windows * log_odds).sum(axis=(2, 3)).max(axis=1)
    reverse = (windows * log_odds[::-1, ::-1]).sum(axis=(2, 3)).max(axis=1)  # RC: A,G,C,T reversed
    return np.maximum(forward, reverse)


def test_learnability_knobs_plant_clusters_and_gc():
    from danqrepro.data.motifs import load_jaspar
    from danqrepro.data.synthetic import Rules
    from danqrepro.evaluate import roc_auc
    spec = SyntheticSpec(n_targets=919, n_motifs=16, n_pairs=8, copies=3, slot_fill=0.6,
                         site_sharpness=2, gc_sd=0.05, min_information=10)
    rules = Rules(spec, load_jaspar())
    codes, labels, oracle = rules.sample(np.random.default_rng(1), 3000)
    assert all(m.length <= 16 for m in rules.motifs)  # three sites fit a 50 bp slot
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    assert 0.04 < gc.std() < 0.07 and abs(gc.mean() - 0.41) < 0.03
    # a PWM scan of the central 200 bp separates the positives of single-motif TF targets
    central = codes[:, 400:600]
    singles = [(col, rule) for col, rule in enumerate(rules.target_rules) if rule["rule"] == "single"]
    ids = [m.matrix_id for m in rules.motifs]
    aucs = [roc_auc(labels[:, [col]], pwm_scan(central, rules.motifs[ids.index(rule["motifs"][0])].pwm)[:, None])[0]
            for col, rule in singles[:4]]
    assert min(aucs) > 0.85, aucs
    # histone targets follow GC with the sign of their weight
    gc_column = rules.n_features - 1
    histone = [col for col, r in enumerate(rules.target_rules) if r["class"] == "histone"]
    signs = np.sign(rules.weights[gc_column, histone])
    logit = np.log(oracle / (1 - oracle))
    corr = [np.corrcoef(gc, logit[:, col])[0, 1] for col in histone[:8]]
    assert all(np.sign(corr) == signs[:8]), corr


def test_order_rules_need_the_order_not_the_motifs():
    from danqrepro.data.motifs import load_jaspar
    from danqrepro.data.synthetic import OrderSpec, Rules
    from danqrepro.evaluate import roc_auc
    spec = SyntheticSpec(n_targets=919, n_motifs=16, n_pairs=8, copies=3, slot_fill=0.6,
                         site_sharpness=2, gc_sd=0.04, min_information=10)
    order = OrderSpec(n_rules=4, n_targets=40, spacing=(100, 600), fill=0.6)
    plain, rules = Rules(spec, load_jaspar()), Rules(spec, load_jaspar(), order)
    columns = [c for c, t in enumerate(rules.target_rules) if t["rule"] == "order"]
    assert len(columns) == 40 and all(rules.target_rules[c]["class"] == "TF" for c in columns)
    others = [c for c in range(919) if c not in columns]
    # every other target keeps the rule it has without order rules
    assert np.array_equal(rules.weights[:plain.n_features, others], plain.weights[:, others])
    assert [rules.target_rules[c] for c in others] == [plain.target_rules[c] for c in others]
    # the two sites of an instance sit in flank slots 100-600 bp apart
    gaps = np.diff(rules.order_slots, axis=1).ravel()
    assert rules.order_slots.shape[1] == 2 and (gaps > 0).all()
    codes, labels, oracle, cooccurrence = rules.sample_with_cooccurrence(np.random.default_rng(3), 4000)
    assert codes.shape == (4000, 1000) and oracle.shape == cooccurrence.shape == (4000, 919)
    # the co-occurrence oracle differs only on the order targets
    assert np.array_equal(oracle[:, others], cooccurrence[:, others])
    # among the samples holding a target's two motifs (where the oracles differ) only the
    # order tells positives: the co-occurrence oracle is a constant there, the oracle is not
    for col in columns[:8]:
        holding = oracle[:, col] != cooccurrence[:, col]
        assert 450 < holding.sum() < 650  # 4000 x 0.92 non-empty x fill 0.6 / 4 rules
        assert np.unique(cooccurrence[holding, col]).size == 1
        assert roc_auc(labels[holding][:, [col]], oracle[holding][:, [col]])[0] > 0.75
    # without order rules the co-occurrence oracle is the oracle
    _, _, o, c = plain.sample_with_cooccurrence(np.random.default_rng(3), 100)
    assert np.array_equal(o, c)
    with pytest.raises(ValueError, match="n_targets=500: at most the"):
        Rules(spec, load_jaspar(), OrderSpec(n_targets=500))
