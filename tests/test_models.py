import pytest

from danqrepro.models import PRESETS, build_model, flops_per_sample, layer_table


def test_danq_has_the_published_parameter_count():
    model = build_model("danq", 1000, 919)
    trainable = sum(int(v.numpy().size) for v in model.trainable_variables)
    assert trainable == 46_926_479
    # plus the two non-trainable dropout-rate variables
    assert model.count_params() == 46_926_481
    rows = {r["layer"]: r for r in layer_table(model)}
    assert rows["pool"]["output_shape"] == (75, 320)
    assert rows["bilstm"]["output_shape"] == (75, 640)
    assert rows["flatten"]["output_shape"] == (48_000,)
    assert rows["dense"]["parameters"] == 48_000 * 925 + 925
    # about 1.2 GFLOP per sample for a training step (issue 6's figure)
    assert 1.1e9 < flops_per_sample(model) < 1.3e9


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_maps_sequences_to_targets(preset):
    import numpy as np
    model = build_model(preset, 1000, 919)
    assert model.input_shape == (None, 1000, 4)
    assert model.output_shape == (None, 919)
    if model.count_params() < 2_000_000:
        out = model(np.zeros((2, 1000, 4), np.float32))
        assert out.shape == (2, 919)


def test_sequence_length_and_targets_are_parameters():
    model = build_model("danq-tiny", 500, 7)
    assert model.output_shape == (None, 7)
    assert dict((r["layer"], r["output_shape"]) for r in layer_table(model))["pool"] == (36, 8)


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown model preset 'danq-huge'"):
        build_model("danq-huge")


def test_c1_pair_keeps_the_published_parameter_ratio():
    # DanQ has 0.888 of DeepSEA's parameters as published; the cpu pair of C1 keeps that
    published = build_model("danq").count_params() / build_model("deepsea").count_params()
    matched = build_model("danq-cpu").count_params() / build_model("deepsea-cpu-matched").count_params()
    assert build_model("danq-cpu").count_params() == 3_081_553
    assert build_model("deepsea-cpu-matched").count_params() == 3_484_044
    assert abs(matched - published) < 0.01


def test_the_chip_pair_keeps_the_ratio_on_200_bp_windows():
    published = build_model("danq").count_params() / build_model("deepsea").count_params()
    danq, cnn = build_model("danq-cpu", 200, 1), build_model("deepsea-chip-matched", 200, 1)
    assert (danq.count_params(), cnn.count_params()) == (396_285, 445_006)
    assert abs(danq.count_params() / cnn.count_params() - published) < 0.01
