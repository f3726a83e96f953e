"""Your own data: FASTA + labels into a store, predictions, variant effects, and the
errors bad input gets (issue 13). Every file here is a few records the test writes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from danqrepro import sequence
from danqrepro.data import DataError
from danqrepro.data.fasta import convert_fasta
from danqrepro.sequence import (
    ALPHABET,
    codes_to_one_hot,
    encode,
    fit_length,
    reverse_complement,
)

SEQS = {  # name: sequence; "b" has an N and soft-masked bases
    "a": "ACGTACGTAC", "b": "GGNNccttAA", "c": "TTTTTAAAAA", "d": "ACGACGACGA", "e": "CCCCCGGGGG",
    "f": "ATATATATAT"}
LABELS = {"a": "101", "b": "010", "c": "111", "d": "000", "e": "100", "f": "001"}
TARGETS = ["CTCF", "DNase|K562", "H3K27ac"]


def write_fasta(path, records, width=4):
    """FASTA with lines of ``width`` bases (multi-line records, as real files have) and a
    description after each name."""
    sequence.write_fasta(path, ((f"{name} some description", seq) for name, seq in records.items()),
                         width)
    return path


def write_labels(path, labels, targets=TARGETS):
    path.write_text("name\t" + "\t".join(targets) + "\n"
                    + "".join(f"{n}\t" + "\t".join(v) + "\n" for n, v in labels.items()))
    return path


def by_split(tmp_path, seqs=SEQS):
    splits = {"train": ["a", "b", "c"], "valid": ["d", "e"], "test": ["f"]}
    return {s: write_fasta(tmp_path / f"{s}.fa", {n: seqs[n] for n in names})
            for s, names in splits.items()}


def test_fasta_and_labels_round_trip_through_the_store(tmp_path):
    store = convert_fasta(by_split(tmp_path), write_labels(tmp_path / "labels.tsv", LABELS),
                          tmp_path / "store", progress=False)
    assert store.seq_len == 10 and store.n_targets == 3 and not store.is_synthetic
    assert store.manifest["targets"] == TARGETS
    assert store.target_classes == {}  # your targets are not DeepSEA's DNase/TF/histone blocks
    train = store.split("train")
    assert train.n == 6  # 3 sequences, then their 3 reverse complements
    x, y = train.read()
    forward = codes_to_one_hot(np.stack([encode(SEQS[n]) for n in "abc"]))
    np.testing.assert_array_equal(x[:3], forward)
    np.testing.assert_array_equal(x[3:], reverse_complement(forward))
    # "GGNNccttAA": A,G,C,T = 0..3; N an all-zero row; lower case read as upper
    np.testing.assert_array_equal(train.codes[1], [1, 1, 4, 4, 2, 2, 3, 3, 0, 0])
    np.testing.assert_array_equal(train.codes[4], [3, 3, 0, 0, 1, 1, 4, 4, 2, 2])  # its RC
    assert x[1, 2].sum() == 0
    np.testing.assert_array_equal(y, [[1, 0, 1], [0, 1, 0], [1, 1, 1]] * 2)
    assert store.split("valid").n == 4 and store.split("test").n == 2
    assert (store.path / "valid.names.txt").read_text() == "d\ne\n"
    source = store.manifest["source"]
    assert source["kind"] == "fasta" and len(source["files"]["labels"]["sha256"]) == 64
    assert store.manifest["splits"]["train"]["positive_rate"] == pytest.approx([2 / 3, 2 / 3, 2 / 3])


def test_length_centres_crops_and_pads_with_n(tmp_path):
    np.testing.assert_array_equal(fit_length(np.arange(4, dtype=np.uint8), 7), [4, 0, 1, 2, 3, 4, 4])
    np.testing.assert_array_equal(fit_length(np.arange(7, dtype=np.uint8), 4), [1, 2, 3, 4])
    seqs = dict(SEQS, a="ACGTACGTACGTAC", c="TTTAAA")  # 14 and 6 bases
    store = convert_fasta(by_split(tmp_path, seqs), write_labels(tmp_path / "labels.tsv", LABELS),
                          tmp_path / "store", length=8, progress=False)
    codes = store.split("train").codes
    np.testing.assert_array_equal(codes[0], encode("TACGTACG"))  # 3 cropped each side
    np.testing.assert_array_equal(codes[2], [4, 3, 3, 3, 0, 0, 0, 4])  # 1 N each side


def test_one_fasta_split_by_seeded_fraction_or_by_chromosome(tmp_path):
    rng = np.random.default_rng(0)
    chroms = ["chr1", "chr7", "chr8", "chr9", "chr2"] * 8
    seqs = {f"{c}:{1000 * i}-{1000 * i + 12}": "".join(rng.choice(list("ACGT"), 12))
            for i, c in enumerate(chroms)}
    labels = {n: "".join(rng.choice(["0", "1"], 3)) for n in seqs}
    fasta = write_fasta(tmp_path / "all.fa", seqs)
    write_labels(tmp_path / "labels.tsv", labels)
    a = convert_fasta(fasta, tmp_path / "labels.tsv", tmp_path / "a", valid_fraction=0.25,
                      test_fraction=0.25, seed=1, progress=False)
    b = convert_fasta(fasta, tmp_path / "labels.tsv", tmp_path / "b", valid_fraction=0.25,
                      test_fraction=0.25, seed=1, progress=False)
    assert a.fingerprint == b.fingerprint  # the seed fixes the split
    assert sum(a.split(s).n for s in ("train", "valid", "test")) == 2 * 40
    by_chrom = convert_fasta(fasta, tmp_path / "labels.tsv", tmp_path / "c",
                             chromosomes={"valid": ["chr7"], "test": ["chr8", "chr9"]}, progress=False)
    names = {s: (by_chrom.path / f"{s}.names.txt").read_text().split() for s in ("train", "valid", "test")}
    assert {n.split(":")[0] for n in names["valid"]} == {"chr7"}
    assert {n.split(":")[0] for n in names["test"]} == {"chr8", "chr9"}
    assert {n.split(":")[0] for n in names["train"]} == {"chr1", "chr2"}
    assert by_chrom.manifest["source"]["split"]["by"] == "chromosome"


BAD = {
    "a character other than ACGTN": (
        lambda t: (by_split(t, dict(SEQS, c="TTTTXAAAAA")), LABELS),
        r"train\.fa: record 'c', line 11: character 'X' at position 5"),
    "a duplicate FASTA name": (
        lambda t: ({"valid": by_split(t)["valid"], "train": _duplicate(t)}, LABELS),
        r"train\.fa: .*[Dd]uplicate"),
    "a FASTA record without labels": (
        lambda t: (by_split(t), {k: v for k, v in LABELS.items() if k != "e"}),
        r"valid\.fa: record 'e' \(line 5\) has no row in .*labels\.tsv"),
    "a label row without a record": (
        lambda t: (by_split(t), dict(LABELS, z="111")), r"labels\.tsv: line 8: sequence 'z' is in no FASTA"),
    "a label other than 0/1": (
        lambda t: (by_split(t), dict(LABELS, d="021")),
        r"labels\.tsv: line 5, target 'DNase\|K562': '2' \(labels must be 0 or 1\)"),
    "a label that is not a number": (
        lambda t: (by_split(t), dict(LABELS, e="1y0")),
        r"labels\.tsv: line 6, target 'DNase\|K562': 'y' \(labels must be 0 or 1\)"),
    "unequal lengths without a length": (
        lambda t: (by_split(t, dict(SEQS, e="ACGT")), LABELS),
        r"valid\.fa: record 'e' \(line 5\) has 4 bases where 'a' has 10; pass a length"),
    "an empty split": (
        lambda t: ({"train": by_split(t)["train"], "valid": write_fasta(t / "empty.fa", {})},
                   LABELS), r"empty\.fa: no FASTA records"),
}


def _duplicate(tmp_path):
    path = tmp_path / "train.fa"
    path.write_text(">a\nACGTACGTAC\n>b\nGGNNccttAA\n>a\nTTTTTAAAAA\n")
    return path


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_naming_file_and_line_and_leaves_no_store(tmp_path, case):
    make, message = BAD[case]
    fasta, labels = make(tmp_path)
    with pytest.raises(DataError, match=message):
        convert_fasta(fasta, write_labels(tmp_path / "labels.tsv", labels), tmp_path / "store",
                      progress=False)
    assert not (tmp_path / "store").exists()
    assert not list(tmp_path.glob(".store.partial-*"))


def test_an_empty_split_by_chromosome_is_refused(tmp_path):
    fasta = write_fasta(tmp_path / "all.fa", {"chr1:0-10": SEQS["a"], "chr2:0-10": SEQS["b"]})
    labels = write_labels(tmp_path / "labels.tsv", {"chr1:0-10": "101", "chr2:0-10": "010"})
    with pytest.raises(DataError, match="split 'valid' is empty"):
        convert_fasta(fasta, labels, tmp_path / "store", chromosomes={"valid": ["chr7"]}, progress=False)
    assert not (tmp_path / "store").exists()


def test_models_follow_the_input_length_and_refuse_a_too_short_one():
    from danqrepro.models import build_model
    model = build_model("danq-tiny", 101, 3, seed=0)
    assert model.input_shape == (None, 101, 4) and model.output_shape == (None, 3)
    assert model.get_layer("flatten").output.shape[-1] == (101 - 25) // 13 * 2 * 8  # 5 steps x BiLSTM
    with pytest.raises(ValueError, match="seq_len=37: too short .* at least 38 bp"):
        build_model("danq-tiny", 37, 3)
    with pytest.raises(ValueError, match="seq_len=162: .* at least 163 bp"):
        build_model("deepsea-tiny", 162, 3)


def test_predictions_are_the_mean_over_both_strands(tmp_path):
    from danqrepro.models import build_model
    from danqrepro.predict import predict_fasta
    model = build_model("danq-tiny", 40, 3, seed=0)
    model.get_layer("output").set_weights([w + 0.3 * np.random.default_rng(0).standard_normal(w.shape)
                                           for w in model.get_layer("output").get_weights()])
    rng = np.random.default_rng(1)
    seqs = {f"s{i}": "".join(rng.choice(list("ACGTN"), 40, p=[.24, .24, .24, .24, .04])) for i in range(7)}
    fasta = write_fasta(tmp_path / "q.fa", seqs, width=60)
    n = predict_fasta(model, fasta, tmp_path / "preds.tsv", TARGETS, batch=3, progress=False)
    lines = (tmp_path / "preds.tsv").read_text().splitlines()
    assert n == 7 and lines[0] == "name\t" + "\t".join(TARGETS) and len(lines) == 8
    got = np.array([[float(v) for v in line.split("\t")[1:]] for line in lines[1:]])
    x = codes_to_one_hot(np.stack([encode(s) for s in seqs.values()])).astype(np.float32)
    want = (model.predict(x, verbose=0) + model.predict(reverse_complement(x), verbose=0)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(want, model.predict(x, verbose=0))  # the strands differ: the mean matters
    import h5py
    assert predict_fasta(model, fasta, tmp_path / "preds.h5", TARGETS, batch=3, progress=False) == 7
    with h5py.File(tmp_path / "preds.h5") as f:
        np.testing.assert_allclose(f["probabilities"][:], want, rtol=1e-6, atol=1e-7)
        assert [t.decode() for t in f["targets"][:]] == TARGETS
        assert [n.decode() for n in f["names"][:]] == list(seqs)
    with pytest.raises(DataError, match=r"q2\.fa: record 'short' \(line 1\) has 12 bases, the model takes 40"):
        predict_fasta(model, write_fasta(tmp_path / "q2.fa", {"short": "ACGTACGTACGT"}),
                      tmp_path / "p2.tsv", TARGETS, progress=False)
    assert not (tmp_path / "p2.tsv").exists()
    predict_fasta(model, tmp_path / "q2.fa", tmp_path / "p2.tsv", TARGETS, length=40, progress=False)
    assert len((tmp_path / "p2.tsv").read_text().splitlines()) == 2


@pytest.fixture(scope="module")
def ctcf_model():
    """Convolutions set to JASPAR's CTCF log-odds and its reverse complement, the best match
    over the sequence, a sigmoid: a model that knows one motif on either strand, for variant
    effects with a known answer."""
    import keras

    from danqrepro.data.motifs import load_jaspar
    motif = next(m for m in load_jaspar() if m.name == "CTCF" and m.length <= 20)
    log_odds = np.log(np.clip(motif.pwm, 1e-3, 1) / 0.25)
    inputs = keras.Input((100, 4))
    conv = keras.layers.Conv1D(2, motif.length, name="conv")  # the motif on either strand
    score = keras.layers.GlobalMaxPooling1D()(keras.layers.Reshape((-1, 1))(conv(inputs)))
    out = keras.layers.Dense(1, activation="sigmoid", name="output")
    model = keras.Model(inputs, out(score))
    conv.set_weights([np.stack([log_odds, log_odds[::-1, ::-1]], axis=-1), np.zeros(2)])
    best = log_odds.max(axis=1).sum()  # the consensus site's score: probability sigmoid(4)
    out.set_weights([np.full((1, 1), 1.5), np.full(1, 4 - 1.5 * best)])
    return model, motif


def write_vcf(path, rows, contigs=(("chr1", 400),)):
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n in contigs]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    path.write_text("\n".join(header + ["\t".join(map(str, r)) + "\t.\t.\t." for r in rows]) + "\n")
    return path


def test_a_variant_breaking_a_planted_motif_lowers_its_target_most(tmp_path, ctcf_model):
    from danqrepro.variants import variant_effects
    model, motif = ctcf_model
    rng = np.random.default_rng(0)
    genome = list(rng.choice(list("ACGT"), 400))
    site = 200
    consensus = [ALPHABET[j] for j in motif.pwm.argmax(axis=1)]
    genome[site:site + motif.length] = consensus
    genome = "".join(genome)
    write_fasta(tmp_path / "genome.fa", {"chr1": genome, "chr2": "ACGT" * 50}, width=60)
    key = int(np.argmax(motif.pwm.max(axis=1)))  # the site's most certain base
    worst = ALPHABET[int(motif.pwm[key].argmin())]
    p = site + key + 1  # 1-based
    far = 60  # in the background, 140 bp from the site: outside every window around it
    rows = [("chr1", p, "break", genome[p - 1], worst),
            ("chr1", far, "background", genome[far - 1], "ACGT".replace(genome[far - 1], "")[0]),
            ("chr1", p, "multi", genome[p - 1], f"{worst},{'ACGT'.replace(genome[p - 1], '')[1]}"),
            ("chr1", p, "mismatch", "ACGT".replace(genome[p - 1], "")[0], "A"),
            ("chr1", site + 3, "deletion", genome[site + 2:site + 6], genome[site + 2]),
            ("chr1", p, "symbolic", genome[p - 1], "<DEL>"),
            ("chr1", 10, "edge", genome[9], "A" if genome[9] != "A" else "C"),
            ("chr2", 100, "other", "ACGT"[99 % 4], "T" if "ACGT"[99 % 4] != "T" else "A")]
    vcf = write_vcf(tmp_path / "v.vcf", rows, contigs=(("chr1", 400), ("chr2", 200)))
    out = tmp_path / "effects.tsv"
    summary = variant_effects(model, vcf, tmp_path / "genome.fa", out, ["CTCF"], progress=False)
    assert summary["records"] == 8
    assert summary["skipped"] == {"reference mismatch": 1, "symbolic or missing alternative allele": 1,
                                  "within 50 bp of a chromosome end": 1}
    import pandas as pd
    effects = pd.read_csv(out, sep="\t").set_index("id")
    assert list(effects.columns[:4]) == ["chrom", "pos", "ref", "alt"]
    assert len(effects.loc["multi"]) == 2  # one row per alternative allele
    broken, background = effects.loc["break"], effects.loc["background"]
    assert broken.ref_prob > 0.9 and broken["diff"] < -0.5  # the site is lost
    assert abs(background["diff"]) < 0.05 and abs(broken["diff"]) > 10 * abs(background["diff"])
    assert effects.loc["deletion", "diff"] < -0.5  # a deletion inside the site breaks it too
    np.testing.assert_allclose(broken.logodds_diff, np.log(broken.alt_prob / (1 - broken.alt_prob))
                               - np.log(broken.ref_prob / (1 - broken.ref_prob)), rtol=1e-4)
    skipped = (tmp_path / "effects.tsv.skipped.tsv").read_text()
    assert "mismatch\t" in skipped and "<DEL>" in skipped
    with pytest.raises(DataError, match=r"v\.vcf: record 4 \(chr1:\d+\): REF 'A|C|G|T' differs"):
        variant_effects(model, vcf, tmp_path / "genome.fa", tmp_path / "e2.tsv", ["CTCF"],
                        on_mismatch="fail", progress=False)
    assert not (tmp_path / "e2.tsv").exists()


def test_a_vcf_chromosome_missing_from_the_genome_is_refused_first(tmp_path, ctcf_model):
    from danqrepro.variants import variant_effects
    write_fasta(tmp_path / "genome.fa", {"chr1": "ACGT" * 100})
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 200, "a", "T", "A"), ("chrX", 5, "b", "A", "C")],
                    contigs=(("chr1", 400), ("chrX", 10)))
    with pytest.raises(DataError, match=r"v\.vcf: record 2 \(chrX:5\): chromosome 'chrX' is not in .*genome\.fa"):
        variant_effects(ctcf_model[0], vcf, tmp_path / "genome.fa", tmp_path / "e.tsv", ["CTCF"],
                        progress=False)
    assert not (tmp_path / "e.tsv").exists()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "danqrepro.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_convert_train_predict_variant_effect_from_the_command_line(tmp_path):
    rng = np.random.default_rng(2)
    seqs = {f"chr{1 + i % 3}:{100 * i}-{100 * i + 60}": "".join(rng.choice(list("ACGT"), 60))
            for i in range(60)}
    write_fasta(tmp_path / "all.fa", seqs, width=50)
    write_labels(tmp_path / "labels.tsv", {n: "".join(rng.choice(["0", "1"], 3)) for n in seqs})
    r = cli("convert", "--fasta", tmp_path / "all.fa", "--labels", tmp_path / "labels.tsv",
            "--by-chromosome", "valid=chr2", "--by-chromosome", "test=chr3", tmp_path / "store")
    assert r.returncode == 0, r.stderr
    r = cli("train", "--data", tmp_path / "store", "--model", "danq-tiny", "--batch", 16,
            "--n-train", 0, "--max-epochs", 1, "--out", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((tmp_path / "run" / "metrics-test.json").read_text())
    assert list(metrics["by_class"]) == ["all"] and len(metrics["roc_auc"]) == 3
    queries = write_fasta(tmp_path / "q.fa", dict(list(seqs.items())[:5]))
    r = cli("predict", tmp_path / "run", queries, "-o", tmp_path / "preds.tsv")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "preds.tsv").read_text().splitlines()
    assert lines[0] == "name\t" + "\t".join(TARGETS) and len(lines) == 6
    write_fasta(tmp_path / "genome.fa", {"chr1": "".join(rng.choice(list("ACGT"), 300))})
    ref = (tmp_path / "genome.fa").read_text().replace("\n", "")[len(">chr1"):][149]
    write_vcf(tmp_path / "v.vcf", [("chr1", 150, "v1", ref, "A" if ref != "A" else "G")])
    r = cli("variant-effect", tmp_path / "run", "--vcf", tmp_path / "v.vcf", "--genome",
            tmp_path / "genome.fa", "-o", tmp_path / "effects.tsv", "--targets", "CTCF", "H3K27ac")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["scored"] == 1
    rows = (tmp_path / "effects.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].split("\t")[5] == "CTCF"
    r = cli("convert", "--fasta", tmp_path / "all.fa", "--labels", tmp_path / "labels.tsv",
            "--by-chromosome", "valid=chr9", tmp_path / "store2")
    assert r.returncode == 1 and "split 'valid' is empty" in r.stderr
    assert not (tmp_path / "store2").exists()


def test_labels_read_in_chunks_keep_rows_and_line_numbers(tmp_path):
    from danqrepro.data.fasta import read_labels
    labels = write_labels(tmp_path / "labels.tsv", LABELS)
    targets, rows = read_labels(labels, tmp_path / "packed.npy", values_per_chunk=6)  # 2 rows a chunk
    assert targets == TARGETS and rows == {n: i for i, n in enumerate(LABELS)}
    packed = np.load(tmp_path / "packed.npy")
    np.testing.assert_array_equal(np.unpackbits(packed, axis=1, count=3),
                                  [[int(c) for c in v] for v in LABELS.values()])
    write_labels(labels, dict(LABELS, f="01x"))  # the 6th row: line 7, in the third chunk
    with pytest.raises(DataError, match=r"line 7, target 'H3K27ac': 'x'"):
        read_labels(labels, tmp_path / "packed.npy", values_per_chunk=6)
    write_labels(labels, LABELS)
    labels.write_text(labels.read_text() + "g\t0\t0\t0\na\t1\t1\t1\n")  # 'a' again, on line 9
    with pytest.raises(DataError, match=r"line 9: sequence 'a' already on line 2"):
        read_labels(labels, tmp_path / "packed.npy", values_per_chunk=6)
