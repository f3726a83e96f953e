"""Peak-only data into a store (danqrepro.data.peaks): dinucleotide shuffles, DeepBind
tables, negatives seeded and recorded, bad tables refused by line and column."""

import gzip
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chisquare

from danqrepro.cli import main
from danqrepro.data.peaks import convert_peaks, read_table
from danqrepro.data.shuffle import dinucleotide_shuffle
from danqrepro.data.store import open_store
from danqrepro.files import DataError

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "deepbind-encode"


def dinucleotides(s):
    return Counter(a + b for a, b in zip(s, s[1:]))


@pytest.mark.parametrize("seed", range(20))
def test_the_shuffle_keeps_every_dinucleotide_count(seed):
    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("ACGTN"), 101, p=[0.3, 0.2, 0.2, 0.28, 0.02]))
    shuffled = dinucleotide_shuffle(seq, np.random.default_rng([seed, 1]))
    assert dinucleotides(shuffled) == dinucleotides(seq)
    assert shuffled[0] == seq[0] and shuffled[-1] == seq[-1] and shuffled != seq
    assert dinucleotide_shuffle(seq, np.random.default_rng([seed, 1])) == shuffled  # seeded


def test_the_shuffle_draws_every_walk_alike():
    # all sequences with the dinucleotides of "AACAGA...": enumerate, then sample
    seq = "ACAGACTCA"
    walks = {"".join(p) for p in itertools.permutations(seq)
             if p[0] == seq[0] and p[-1] == seq[-1] and dinucleotides("".join(p)) == dinucleotides(seq)}
    rng = np.random.default_rng(0)
    drawn = Counter(dinucleotide_shuffle(seq, rng) for _ in range(6000))
    assert set(drawn) == walks and len(walks) > 2
    assert chisquare([drawn[w] for w in sorted(walks)]).pvalue > 0.001


def test_a_deepbind_table_becomes_a_store_with_shuffled_negatives(tmp_path):
    train = SHIPPED / "SERBP1_H1-hESC_HudsonAlpha_AC.seq.gz"
    test = SHIPPED / "SERBP1_H1-hESC_HudsonAlpha_B.seq.gz"
    rows = read_table(train)
    assert len(rows) == 1263 and {b for _, _, b in rows} == {1} and len(rows[0][1]) == 101
    store = convert_peaks({"train": train, "test": test}, tmp_path / "s", shuffled_negatives=2,
                          length=200, valid_fraction=0.1, seed=7, progress=False)
    assert store.seq_len == 200 and store.manifest["targets"] == ["SERBP1"]
    negatives = store.manifest["source"]["negatives"]
    assert negatives["per_positive"] == 2 and negatives["seed"] == 7
    assert negatives["splits"] == ["train", "valid"]  # the test table brings its own
    n = {s: store.split(s).n for s in ("train", "valid", "test")}
    assert n["test"] == 2 * 2644 and n["train"] + n["valid"] == 2 * 3 * 1263  # + RCs
    labels = store.split("train").labels(slice(None))
    assert labels.mean() == pytest.approx(1 / 3)
    # a 101-bp sequence centred in 200 bp: 49 N before, 50 after (all-zero one-hot rows)
    x, _ = store.split("test").read(0, 1)
    assert (x[0, :49].sum() == 0) and (x[0, 49:150].sum(axis=1) == 1).all() and x[0, 150:].sum() == 0
    again = convert_peaks({"train": train, "test": test}, tmp_path / "t", shuffled_negatives=2,
                          length=200, valid_fraction=0.1, seed=7, progress=False)
    assert again.fingerprint == store.fingerprint  # one seed, one store


def test_the_cli_takes_a_fasta_of_positives(tmp_path):
    rng = np.random.default_rng(0)
    fasta = tmp_path / "peaks.fa"
    fasta.write_text("".join(f">p{i}\n{''.join(rng.choice(list('ACGT'), 50))}\n" for i in range(40)))
    main(["convert", "--fasta", str(fasta), "--shuffled-negatives", "1", "--target", "MYC",
          "--valid-fraction", "0.25", str(tmp_path / "s")])
    store = open_store(tmp_path / "s")
    assert store.manifest["targets"] == ["MYC"] and store.seq_len == 50
    assert store.split("train").n + store.split("valid").n == 2 * 80


@pytest.mark.parametrize("body, message", [
    ("FoldID\tEventID\tseq\n", "line 1: no column 'Bound'"),
    ("FoldID\tEventID\tseq\tBound\nA\tx\tACGT\t2\n", "line 2, column 'Bound': '2'"),
    ("FoldID\tEventID\tseq\tBound\nA\tx\tACGT\t1\nA\ty\tACXT\t1\n", "line 3, column 'seq': character 'X'"),
    ("FoldID\tEventID\tseq\tBound\nA\tx\tACGT\t1\nA\tx\tACGA\t1\n", "line 3: name 'x' already on line 2"),
    ("FoldID\tEventID\tseq\tBound\nA\tx\tACGT\n", "line 2: 3 columns, the header has 4"),
])
def test_a_bad_table_is_refused_naming_line_and_column(tmp_path, body, message):
    path = tmp_path / "t.seq.gz"
    with gzip.open(path, "wt") as f:
        f.write(body)
    with pytest.raises(DataError, match=f"t.seq.gz: {message}"):
        convert_peaks({"train": path}, tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_the_shipped_tables_are_the_published_files():
    import hashlib
    sums = dict(line.split()[::-1] for line in (SHIPPED / "SHA256SUMS").read_text().splitlines())
    assert len(sums) == 24  # 12 TFs, a training and a test table each
    for name, digest in sums.items():
        assert hashlib.sha256((SHIPPED / name).read_bytes()).hexdigest() == digest, name


def test_a_tf_is_scanned_with_its_own_motif_or_none(tmp_path):
    from danqrepro.replication.chip import matrices_for, pwm_baseline
    assert [m.matrix_id for m in matrices_for("TCF12")] == ["MA0521.3", "MA1648.2"]
    assert matrices_for("SERBP1") == []  # an RNA-binding protein: no JASPAR matrix
    store = convert_peaks({"train": SHIPPED / "SRF_H1-hESC_SRF_HudsonAlpha_AC.seq.gz",
                           "test": SHIPPED / "SRF_H1-hESC_SRF_HudsonAlpha_B.seq.gz"},
                          tmp_path / "srf", length=200, progress=False)
    srf = pwm_baseline("SRF", store, n_select=500)
    assert srf["matrix_id"] == "MA0083.3" and 0.75 < srf["test_roc"] < 0.9  # 0.821 measured
    assert pwm_baseline("SERBP1", store)["test_roc"] is None
