"""The reader against files written in the DeepSEA layout, and its errors."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from danqrepro import sequence
from danqrepro.data import DataError, class_ranges, load_split
from danqrepro.data.deepsea import open_mat_split
from danqrepro.data.synthetic import MATLAB_USERBLOCK, create_mat73
from danqrepro.sequence import codes_to_one_hot, one_hot_to_codes, reverse_complement

SEQS = ["ACGT" * 250, "N" * 10 + "GATTACA" * 140 + "A" * 10, "T" * 1000]


def encode(seq):
    return codes_to_one_hot(sequence.encode(seq))


def decode(x):
    return sequence.decode(one_hot_to_codes(x))


def write_bundle(path, seqs=SEQS, n_targets=5):
    """A bundle in the published layout: train.mat v7.3 (HDF5, 512-byte user block,
    (1000, 4, N) and (targets, N)), valid.mat and test.mat v5 ((n, 4, 1000), (n, targets))."""
    path.mkdir(parents=True, exist_ok=True)
    fwd = np.stack([encode(s) for s in seqs])
    x = np.concatenate([fwd, reverse_complement(fwd)])
    y = np.zeros((len(x), n_targets), np.uint8)
    y[:, 1] = 1
    y[0, 3] = 1
    y[len(seqs), 3] = 1
    f = create_mat73(path / "train.mat", {"trainxdata": ((1000, 4, len(x)), "uint8"),
                                          "traindata": ((n_targets, len(x)), "uint8")})
    f["trainxdata"][...] = x.transpose(1, 2, 0)
    f["traindata"][...] = y.T
    f.close()
    for split in ("valid", "test"):
        scipy.io.savemat(path / f"{split}.mat", {f"{split}xdata": x.transpose(0, 2, 1),
                                                 f"{split}data": y})
    return x, y


def test_train_mat_has_matlab_user_block(tmp_path):
    write_bundle(tmp_path)
    with open(tmp_path / "train.mat", "rb") as f:
        assert f.read(19) == b"MATLAB 7.3 MAT-file"
    with h5py.File(tmp_path / "train.mat", "r") as f:
        assert f.userblock_size == MATLAB_USERBLOCK
        assert f["trainxdata"].shape == (1000, 4, 6)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_decodes_base_by_base(tmp_path, split):
    x, y = write_bundle(tmp_path)
    xs, ys = load_split(tmp_path, split)
    assert xs.shape == (6, 1000, 4) and xs.dtype == np.uint8
    assert ys.shape == (6, 5) and ys.dtype == np.uint8
    assert [decode(s) for s in xs[:3]] == SEQS
    assert decode(xs[3]) == SEQS[0][::-1].translate(str.maketrans("ACGT", "TGCA"))
    np.testing.assert_array_equal(ys, y)
    xs2, ys2 = load_split(tmp_path, split, 2, 4)
    np.testing.assert_array_equal(xs2, x[2:4])


def test_reference_file_second_half_is_reverse_complement():
    path = Path(__file__).parent / "data" / "danq_example.h5"  # a copy of shared/reference's
    with h5py.File(path, "r") as f:
        raw = f["testxdata"][...]
    assert raw.shape == (8, 4, 1000) and raw.dtype == np.uint8
    x = raw.transpose(0, 2, 1)  # DeepSEA valid/test layout -> (n, 1000, 4)
    assert set(np.unique(x)) <= {0, 1} and x.sum(axis=2).max() == 1
    np.testing.assert_array_equal(x[4:], reverse_complement(x[:4]))
    assert not np.array_equal(x[4:], x[:4])
    seq = decode(x[0])
    assert set(seq) <= set("ACGTN") and 0.2 < (seq.count("G") + seq.count("C")) / 1000 < 0.8


def test_class_ranges_keep_deepsea_proportions():
    r = class_ranges(919)
    assert (r["DNase"], r["TF"], r["histone"]) == (range(0, 125), range(125, 815), range(815, 919))
    small = class_ranges(92)
    assert [len(v) for v in small.values()] == [13, 69, 10]


def test_missing_key_names_file_and_key(tmp_path):
    scipy.io.savemat(tmp_path / "valid.mat", {"validxdata": np.zeros((2, 4, 1000), np.uint8)})
    with pytest.raises(DataError, match=r"valid\.mat.*'validdata'"):
        open_mat_split(tmp_path / "valid.mat", "valid")


def test_mismatched_counts(tmp_path):
    scipy.io.savemat(tmp_path / "test.mat", {"testxdata": np.zeros((4, 4, 1000), np.uint8),
                                             "testdata": np.zeros((6, 3), np.uint8)})
    with pytest.raises(DataError, match=r"test\.mat.*testdata.*\(4, targets\)"):
        open_mat_split(tmp_path / "test.mat", "test")


def test_odd_count_and_bad_values(tmp_path):
    scipy.io.savemat(tmp_path / "valid.mat", {"validxdata": np.zeros((3, 4, 1000), np.uint8),
                                              "validdata": np.zeros((3, 2), np.uint8)})
    with pytest.raises(DataError, match="even count"):
        open_mat_split(tmp_path / "valid.mat", "valid")
    x = np.zeros((2, 4, 1000), np.uint8)
    x[0, :, 0] = 1  # four bases at one position
    scipy.io.savemat(tmp_path / "valid.mat", {"validxdata": x, "validdata": np.zeros((2, 2), np.uint8)})
    with pytest.raises(DataError, match="one-hot"):
        open_mat_split(tmp_path / "valid.mat", "valid")


def test_wrong_train_shape(tmp_path):
    with h5py.File(tmp_path / "train.mat", "w") as f:
        f["trainxdata"] = np.zeros((1000, 5, 2), np.uint8)
        f["traindata"] = np.zeros((3, 2), np.uint8)
    with pytest.raises(DataError, match=r"train\.mat.*\(length, 4, N\)"):
        open_mat_split(tmp_path / "train.mat", "train")


def test_truncated_train_mat(tmp_path):
    write_bundle(tmp_path)
    data = (tmp_path / "train.mat").read_bytes()
    (tmp_path / "train.mat").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"train\.mat.*(truncated|corrupt)"):
        open_mat_split(tmp_path / "train.mat", "train")
