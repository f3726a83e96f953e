"""Never overwrite what the user did not ask to lose, never read a half-trained run without
saying so, and refuse bad input before any work: one test per case of the hostile-user
review (issue 28), each modelled on its command."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from danqrepro import files
from danqrepro.runs import load_run
from danqrepro.sequence import codes_to_one_hot, encode
from danqrepro.train import TrainConfig, train

from test_own_data import SEQS, write_fasta, write_labels

LABELS = {"a": "101", "b": "010", "c": "111", "d": "000", "e": "100", "f": "001"}


def cli(*args, cwd=None):
    """The command run as the CLI runs it, in this process (TensorFlow loads once for the
    file): ``returncode`` and, for an error, the one line the CLI exits with as ``stderr``."""
    from types import SimpleNamespace

    from danqrepro.cli import main
    here = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        main([str(a) for a in args])
        return SimpleNamespace(returncode=0, stdout="", stderr="")
    except SystemExit as exit_:
        return SimpleNamespace(returncode=1 if exit_.code else 0, stdout="", stderr=str(exit_.code))
    finally:
        os.chdir(here)


def one_line_error(r, *words):
    """The command failed with one line naming what it should (the CLI turns the error
    into that line, with no traceback)."""
    assert r.returncode == 1, r.stderr
    assert "\n" not in r.stderr.strip() and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


@pytest.fixture
def fasta_and_labels(tmp_path):
    seqs = {f"chr{1 + i % 3}:{10 * i}-{10 * i + 10}": s for i, s in enumerate(SEQS.values())}
    labels = {n: LABELS[k] for n, k in zip(seqs, SEQS)}
    return write_fasta(tmp_path / "q.fa", seqs), write_labels(tmp_path / "l.tsv", labels)


@pytest.fixture(scope="module")
def finished_run(tiny_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    train(TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                      max_epochs=1, patience=1, evaluate=None), out, verbose=0)
    return out


def fasta_of_length(path, n, length=1000):
    rng = np.random.default_rng(0)
    write_fasta(path, {f"s{i}": "".join(rng.choice(list("ACGT"), length)) for i in range(n)}, width=60)
    return path


# 1: a directory with a file named manifest.json is not a store; an existing store is kept
def test_convert_fasta_keeps_foreign_directories_and_existing_stores(fasta_and_labels, tmp_path):
    fasta, labels = fasta_and_labels
    web = tmp_path / "web"
    web.mkdir()
    (web / "manifest.json").write_text("{}")
    (web / "notes.txt").write_text("x")
    r = cli("convert", "--fasta", fasta, "--labels", labels, web)
    one_line_error(r, str(web), "--overwrite")
    assert (web / "notes.txt").read_text() == "x"
    store = tmp_path / "store"
    split = ("--by-chromosome", "valid=chr2", "--by-chromosome", "test=chr3")
    r = cli("convert", "--fasta", fasta, "--labels", labels, *split, store)
    assert r.returncode == 0, r.stderr
    before = (store / "manifest.json").read_text()
    again = cli("convert", "--fasta", fasta, "--labels", labels, "--by-chromosome", "valid=chr3", store)
    one_line_error(again, "a store exists", "--overwrite")
    assert (store / "manifest.json").read_text() == before
    assert cli("convert", "--fasta", fasta, "--labels", labels, "--by-chromosome", "valid=chr3",
               "--overwrite", store).returncode == 0


# 2: -o is never an input, never a run's file, and not an existing file without --overwrite
def test_predict_and_variant_effect_outputs(finished_run, tmp_path):
    q = fasta_of_length(tmp_path / "q.fa", 3)
    one_line_error(cli("predict", finished_run, q, "-o", q), "is an input")
    weights = finished_run / "best.weights.h5"
    size = weights.stat().st_size
    one_line_error(cli("predict", finished_run, q, "-o", weights), "files danqrepro keeps")
    assert weights.stat().st_size == size
    out = tmp_path / "p.tsv"
    assert cli("predict", finished_run, q, "-o", out).returncode == 0
    identity = json.loads((tmp_path / "p.tsv.run.json").read_text())
    assert identity["status"] == "finished" and identity["best_epoch"] == 1
    one_line_error(cli("predict", finished_run, q, "-o", out), "exists", "--overwrite")
    assert cli("predict", finished_run, q, "-o", out, "--overwrite").returncode == 0
    one_line_error(cli("predict", finished_run, q, "-o", tmp_path), "is a directory")  # 11
    one_line_error(cli("predict", finished_run, q, "-o", tmp_path / "b.tsv", "--batch", 0),
                   "batch=0")  # 11
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    one_line_error(cli("variant-effect", finished_run, "--vcf", vcf, "--genome", q, "-o", vcf),
                   "is an input")


# 3: train never writes into a directory that is not a run's
def test_train_refuses_a_foreign_directory(tiny_store, tmp_path):
    u = tmp_path / "u"
    u.mkdir()
    (u / "best.weights.h5").write_text("mine")
    r = cli("train", "--data", tiny_store.path, "--model", "danq-tiny", "--n-train", 256,
            "--batch", 128, "--max-epochs", 1, "--out", u)
    one_line_error(r, str(u), "not a run's")
    assert (u / "best.weights.h5").read_text() == "mine"


# 4: two writers of one output: the second is refused at once, naming the first
def test_a_second_writer_of_one_store_is_refused_at_once(fasta_and_labels, tmp_path):
    fasta, labels = fasta_and_labels
    target = tmp_path / "store"
    with files.locked(tmp_path / ".store.writer", "writing store"):  # as a first writer holds it
        r = cli("convert", "--fasta", fasta, "--labels", labels, target)
    one_line_error(r, "in progress", f"pid {os.getpid()}")
    assert not target.exists()


# 5: commands that read a run refuse an unfinished one unless asked, and say which epoch
def test_reading_an_unfinished_run_needs_allow_unfinished(tiny_store, tmp_path, monkeypatch):
    from danqrepro import train as train_module
    config = TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                         max_epochs=3, patience=3, evaluate=None)
    real = train_module.fit_epoch

    def dies_in_epoch_two(model, callbacks, config, split, indices, epoch, verbose=0):
        if epoch == 1:
            raise KeyboardInterrupt
        return real(model, callbacks, config, split, indices, epoch, verbose)
    monkeypatch.setattr(train_module, "fit_epoch", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "run", verbose=0)
    q = fasta_of_length(tmp_path / "q.fa", 2)
    one_line_error(cli("predict", tmp_path / "run", q, "-o", tmp_path / "p.tsv"),
                   "unfinished", "--allow-unfinished")
    one_line_error(cli("evaluate", tmp_path / "run"), "unfinished")
    r = cli("predict", tmp_path / "run", q, "-o", tmp_path / "p.tsv", "--allow-unfinished")
    assert r.returncode == 0, r.stderr
    identity = json.loads((tmp_path / "p.tsv.run.json").read_text())
    assert identity["status"] == "running" and identity["epochs_trained"] == 1


# 6: empty or misnamed splits, and empty records, refused before any work
def test_bad_splits_and_empty_records_are_refused_before_work(fasta_and_labels, tmp_path):
    fasta, labels = fasta_and_labels
    r = cli("convert", "--fasta", fasta, "--labels", labels, "--by-chromosome", "valid=chr2",
            "--by-chromosome", "test=chrZ", tmp_path / "s1")
    one_line_error(r, "split 'test' is empty")
    one_line_error(cli("convert", "--fasta", fasta, "--labels", labels, "--by-chromosome",
                       "vaild=chr7", tmp_path / "s2"), "vaild", "'valid' or 'test'")
    assert not (tmp_path / "s1").exists() and not (tmp_path / "s2").exists()
    empty = write_fasta(tmp_path / "e.fa", {**{f"x{i}": "ACGTACGTAC" for i in range(5)}, "blank": ""})
    table = write_labels(tmp_path / "e.tsv", {**{f"x{i}": "101" for i in range(5)}, "blank": "010"})
    one_line_error(cli("convert", "--fasta", empty, "--labels", table, "--length", 20,
                       "--valid-fraction", 0.3, tmp_path / "s3"), "'blank'", "has no bases")


# 7: a full disk is one line naming the file, with nothing left behind and no segfault

FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))
from danqrepro.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", ["synth", "train"])
def test_a_full_disk_is_one_line_and_leaves_nothing(command, tiny_store, tmp_path):
    out = tmp_path / "out"
    args = {"synth": ["synth", out, "--n-train", "2048", "--n-valid", "64", "--n-test", "64"],
            "train": ["train", "--data", tiny_store.path, "--model", "danq-cpu", "--batch", "128",
                      "--n-train", "256", "--max-epochs", "1", "--out", out]}[command]
    r = subprocess.run([sys.executable, "-c", FULL_DISK, *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])  # a segfault is -11
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"danqrepro {command}: error: {out}") and "File too large" in last, last
    assert "Exception ignored" not in r.stderr
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name or ".partial-" in p.name]


# 10: a record of any length converts in bounded memory with a length; without, a clear limit

def test_long_records_are_read_by_their_window(tmp_path):
    import tracemalloc

    from danqrepro.data.fasta import MAX_WHOLE_RECORD, convert_fasta
    from danqrepro.data.store import open_store
    rng = np.random.default_rng(1)
    long = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 9_000_000)].tobytes().decode()

    def peak_converting(chrom, out):
        seqs = {"chrom": chrom, **{f"s{i}": "ACGT" * 250 for i in range(9)}}
        fasta = write_fasta(tmp_path / f"{out}.fa", seqs, width=60)
        labels = write_labels(tmp_path / "l.tsv", {n: "101" for n in seqs})
        tracemalloc.start()
        convert_fasta(fasta, labels, tmp_path / out, length=1000, valid_fraction=0.2, seed=0,
                      progress=False)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, fasta, labels

    # both past the 4 MB blocks the input is hashed in
    short_peak = peak_converting(long[:4_500_000], "short")[0]
    long_peak, fasta, labels = peak_converting(long, "long")
    # memory does not grow with the record: 4.5 Mb more read whole would add over 30 MB
    assert long_peak < short_peak + 500_000, (long_peak, short_peak)
    store = open_store(tmp_path / "long")
    rows = [store.split(s).read()[0] for s in ("train", "valid")]
    centre = codes_to_one_hot(encode(long[len(long) // 2 - 500:len(long) // 2 + 500])[None])[0]
    assert any((r == centre).all(axis=(1, 2)).any() for r in rows)  # the record's centred window
    r = cli("convert", "--fasta", fasta, "--labels", labels, "--valid-fraction", 0.2, tmp_path / "s2")
    one_line_error(r, "'chrom' has 9000000 bases", f"over the {MAX_WHOLE_RECORD}", "--length")


# 11: FASTA files are indexed into the data cache: nothing appears beside an input, and a
# read-only directory without an index reads

def test_fasta_indexes_stay_out_of_the_inputs_directories(fasta_and_labels, tmp_path):
    import stat

    from danqrepro.data.fasta import FastaFile, write_index
    fasta, labels = fasta_and_labels
    inputs = fasta.parent
    before = sorted(p.name for p in inputs.iterdir())
    inputs.chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only (for all but root), as a shared genome
    try:
        r = cli("convert", "--fasta", fasta, "--labels", labels, "--valid-fraction", 0.3,
                tmp_path.parent / f"{tmp_path.name}-out")
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in inputs.iterdir()) == before  # no .fai beside q.fa
    finally:
        inputs.chmod(stat.S_IRWXU)
    # the index is samtools' (name, length, offset, bases and bytes per line)
    (tmp_path / "w.fa").write_text(">x\nACGTAACGTA\nACGTAACGTA\nACGTA\n>y desc\nGG\n")
    write_index(tmp_path / "w.fa", tmp_path / "w.fai")
    assert (tmp_path / "w.fai").read_text() == "x\t25\t3\t10\t11\n" "y\t2\t39\t2\t3\n"
    assert FastaFile(tmp_path / "w.fa").sequence("x", 9, 12) == "AAC"
    (tmp_path / "bad.fa").write_text(">x\nACGT\nAC\nACGT\n")
    with pytest.raises(files.DataError, match=r"bad\.fa: line 4: record 'x' has lines of unequal width"):
        FastaFile(tmp_path / "bad.fa")


# 8: broken or foreign files are one line, or recovered from
def test_foreign_records_and_broken_checkpoints(tiny_store, tmp_path):
    for content in ('{"a": 1}', "[]"):
        run = tmp_path / f"foreign{len(content)}"
        run.mkdir()
        (run / "run.json").write_text(content)
        one_line_error(cli("predict", run, tmp_path / "none.fa", "-o", tmp_path / "x.tsv"),
                       "not a danqrepro run record")
        one_line_error(cli("train", "--data", tiny_store.path, "--model", "danq-tiny",
                           "--n-train", 256, "--batch", 128, "--out", run), "not a danqrepro run record")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "synthetic.json").write_text('{"x": 1}')
    one_line_error(cli("synth", bundle, "--n-train", 64, "--n-valid", 16, "--n-test", 16),
                   "not a danqrepro synthetic bundle")
    # a checkpoint cut short (a full disk, a copy) restarts the run rather than crashing
    config = TrainConfig(data=str(tiny_store.path), model="danq-tiny", n_train=256, batch=128,
                         max_epochs=2, patience=2, evaluate=None)
    out = tmp_path / "run"
    whole = train(config, tmp_path / "whole", verbose=0)
    record = train(config, out, verbose=0)
    record["status"], record["stop_reason"], record["epochs_trained"] = "running", None, 1
    record["epochs"] = record["epochs"][:1]
    record["checkpoint"] = "checkpoints/epoch-001.npz"
    (out / "checkpoints").mkdir(exist_ok=True)
    (out / "checkpoints" / "epoch-001.npz").write_bytes(b"PK\x03\x04 cut short")
    (out / "run.json").write_text(json.dumps(record))
    again = train(config, out, verbose=0)
    assert [e["loss"] for e in again["epochs"]] == [e["loss"] for e in whole["epochs"]]


# 9: a record's data path is absolute, so a run is read from any directory
def test_records_hold_absolute_data_paths(tiny_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_store.path.parent)
    out = tmp_path / "run"
    train(TrainConfig(data=tiny_store.path.name, model="danq-tiny", n_train=256, batch=128,
                      max_epochs=1, patience=1, evaluate=None), out, verbose=0)
    path = load_run(out)["data"]["path"]
    assert os.path.isabs(path) and path == str(tiny_store.path.resolve())
    r = cli("evaluate", out, "--split", "valid", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


# 12: temporary files of dead writers go; reading a finished run writes nothing into it
def test_stale_temporaries_are_removed_and_reads_leave_runs_alone(finished_run, tiny_store, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".tmp-{dead}-out.json"
    stale.write_text("half")
    other = tmp_path / f".tmp-{dead}-best.weights.h5"  # a dead writer's, of another file here
    other.write_text("half")
    partial = tmp_path / f".bundle.partial-{dead}"  # a killed synth's, of another output here
    (partial / "train.mat").parent.mkdir()
    (partial / "train.mat").write_bytes(b"x" * 1000)
    files.write_json_atomic(tmp_path / "out.json", {"a": 1})
    assert not stale.exists() and json.loads((tmp_path / "out.json").read_text()) == {"a": 1}
    assert not other.exists()
    with files.atomic_directory(tmp_path / "store", (files.Marker("m.json", "v"),)) as tmp:
        (tmp / "m.json").write_text('{"v": 1}')
    assert not partial.exists() and (tmp_path / "store" / "m.json").is_file()
    lock = finished_run / files.LOCK_FILE
    lock.unlink(missing_ok=True)
    record = load_run(finished_run)
    config = TrainConfig.from_dict(record["config"])
    assert train(config, finished_run, verbose=0) == record
    assert not lock.exists()
