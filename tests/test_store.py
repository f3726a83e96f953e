"""Conversion round-trips exactly; bad input leaves nothing behind."""

import json

import numpy as np
import pytest
from test_deepsea import write_bundle

from danqrepro.data import DataError, convert, load_split, open_store
from danqrepro.data.store import sha256_file


def test_round_trip_every_split(tmp_path):
    write_bundle(tmp_path / "bundle")
    store = convert(tmp_path / "bundle", tmp_path / "store", slab=4, progress=False)
    for split in ("train", "valid", "test"):
        for a, b in zip(load_split(tmp_path / "bundle", split), load_split(tmp_path / "store", split)):
            np.testing.assert_array_equal(a, b)
        assert store.manifest["splits"][split]["n"] == 6
    # code 4 marks the N run at the start of the second sequence
    assert (store.split("train").codes[1, :10] == 4).all()
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "deepsea" and manifest["n_targets"] == 5
    for split, entry in manifest["splits"].items():
        for key, file in entry["files"].items():
            assert sha256_file(tmp_path / "store" / file) == entry["sha256"][key]
    assert manifest["splits"]["train"]["positive_rate"][1] == 1.0


def test_rerun_reuses_store(tmp_path):
    write_bundle(tmp_path / "bundle")
    a = convert(tmp_path / "bundle", tmp_path / "store", progress=False)
    b = convert(tmp_path / "bundle", tmp_path / "store", progress=False)
    assert a.fingerprint == b.fingerprint


def test_corrupt_bundle_leaves_nothing(tmp_path):
    write_bundle(tmp_path / "bundle")
    data = (tmp_path / "bundle" / "train.mat").read_bytes()
    (tmp_path / "bundle" / "train.mat").write_bytes(data[:4000])
    with pytest.raises(DataError, match="train.mat"):
        convert(tmp_path / "bundle", tmp_path / "store", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_failure_mid_conversion_leaves_nothing(tmp_path, monkeypatch):
    write_bundle(tmp_path / "bundle")
    from danqrepro.data import store as store_module

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "write_json_atomic", boom)  # dies before the manifest
    with pytest.raises(KeyboardInterrupt):
        convert(tmp_path / "bundle", tmp_path / "store", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    monkeypatch.undo()
    assert convert(tmp_path / "bundle", tmp_path / "store", progress=False).split("train").n == 6


def test_not_a_store(tmp_path):
    with pytest.raises(DataError, match="not a danqrepro store"):
        open_store(tmp_path)
    with pytest.raises(DataError, match="neither a store"):
        load_split(tmp_path, "train")
