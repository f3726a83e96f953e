"""Every chapter template runs at the smoke preset; the book's chapters match their
templates; the site builds without warnings."""

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from danqrepro.replication.book_runner import CHAPTERS, run_chapter
from danqrepro.replication.presets import get_preset
from danqrepro.replication.report import glued

ROOT = Path(__file__).resolve().parents[1]


LOG_MARKERS = ("absl::", "I0000", "E0000", "W0000", "oneDNN", "cuInit", "cudart_stub", "Traceback",
               "Warning")


def streams(path) -> str:
    """Everything an executed notebook printed to stdout or stderr."""
    return "".join("".join(o.get("text", "")) for c in json.loads(Path(path).read_text())["cells"]
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def cells(path, kind):
    nb = json.loads(Path(path).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind
            and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def smoke_chapters(tmp_path_factory, smoke_runs):
    out = tmp_path_factory.mktemp("chapters")
    return {name: run_chapter(name, "smoke", out, str(smoke_runs)) for name in CHAPTERS}


def smoke_study(runs):
    """The smoke preset, its data path and the run cache the smoke chapters trained into."""
    from danqrepro.replication import experiments
    from danqrepro.runcache import RunCache
    p = get_preset("smoke")
    return p, experiments.data_path(p), RunCache(runs)


def test_every_template_runs_and_glues_sane_values(smoke_chapters, smoke_runs):
    from danqrepro.evaluate import compare_targets
    from danqrepro.interpret import run_motifs
    from danqrepro.replication import claims, experiments, study
    p, data, cache = smoke_study(smoke_runs)
    values = {name: glued(path) for name, path in smoke_chapters.items()}
    assert values["architecture"]["danq_params"] == "'46,926,479'"
    registered = values["plan"]  # the plan's numbers do not depend on the preset
    assert float(registered["first_min_p"]) == pytest.approx(0.0625)
    assert float(registered["c2_power"]) >= 0.8 > float(registered["c2_power_first"])
    assert int(registered["pairs_80"]) <= int(registered["pairs"]) == 20
    compare = values["compare"]
    for key in ("loss_random", "loss_fixed", "epochs_p"):  # smoke: two runs per arm, so a p-value
        assert math.isfinite(float(compare[key].strip("'"))), key
    for key in ("epochs_random", "epochs_fixed"):  # "≥" in front: runs reached the cap
        assert 1 <= float(compare[key].strip("'").lstrip("≥")) <= 3, key  # smoke: max_epochs 3
    # the registered study's arms, at the rate its grid chose, recomputed from the runs
    shown = experiments.dropout_arm_runs(p, data, p.large_batch, cache, train=False)
    arms = study.table(cache.records(shown))
    assert {c.seed for c in shown} == {100, 101} and len(arms) == 4
    assert compare["verdict"].strip("'") == claims.claim_c2(arms)["verdict"]
    assert "registered study's runs (plan version 2)" in compare["study_sentence"]
    assert "2 of the 2 planned seed pairs (seeds 100-101)" in compare["study_sentence"]
    assert compare["computation_sentence"].startswith("'All 4 runs carry one training-code fingerprint")
    assert compare["data_label"] == "'synthetic'"
    assert "random-dropout run" in compare["target_sentence"] and "fixed-dropout run" in compare["target_sentence"]
    assert compare["jitter_pairs"].endswith("of 2 seed pairs'")  # smoke: two seeds both arms ran
    batch = values["batchsize"]
    # no side-by-side timing of the smoke batches: no seconds compared, run clocks never pooled
    assert batch["c4_sentence"].startswith("'No side-by-side timing of batches 64 and 256")
    assert batch["c4_verdict"] == "'not testable here'"
    full = values["fulldata"]
    full_runs = experiments.full_data_runs(p, data, p.small_batch)
    danq, cnn = (cache.metrics(c) for c in full_runs)
    c1 = claims.claim_c1(compare_targets(danq, cnn), [danq["by_class"]["all"]["roc_mean"]],
                         [cnn["by_class"]["all"]["roc_mean"]])
    assert float(full["c1_roc_better"]) == pytest.approx(100 * c1["roc_better_fraction"])
    assert 0.5 < float(full["reference_roc"]) <= 1  # the oracle
    chip = values["chipseq"]  # smoke: SERBP1 alone, no run of the study trained
    assert chip["n_tfs"] == "1" and chip["n_motif"] == "0"  # SERBP1: no JASPAR matrix of its own
    assert chip["c1_verdict"] == "'inconclusive'"
    assert chip["arms_progress"].startswith("'0 of the 8 planned runs have finished")  # 2 pairs, 2 batches
    motifs = values["motifs"]
    assert motifs["danq_filters"] == "8"  # danq-tiny
    n_sequences = papermill.inspect_notebook(str(ROOT / "notebooks" / "motifs.ipynb"))["n_sequences"]["default"]
    [danq_dir] = cache.with_weights(full_runs[:1])
    again = run_motifs(danq_dir, int(n_sequences))["summary"]["filters_matched_q05"]
    assert int(motifs["danq_matched"]) == again  # recomputed from the run
    assert "planted motifs" in motifs["recovered_sentence"]
    own = values["own_data"]  # the three own-data commands, end to end
    assert own["round_trip"] == "'equal'" and float(own["max_difference"]) < 1e-5
    assert int(own["n_pairs"]) >= 1 and math.isfinite(float(own["break_mean"]))
    repro = values["reproducing"]  # the compute the smoke runs used, and every chapter's execution
    assert int(repro["used_runs"]) >= 10 and float(repro["used_hours"]) > 0
    assert repro["retired_runs"] == "0"  # a scratch run cache has no git history
    assert float(repro["chapters_minutes"]) > 0
    card = values["scorecard"]
    assert {"claims_table", "n_supported", "danq_test_roc", "hours"} <= set(card)
    assert card["n_rows"] == "6"  # C1-C4, and C5 within each batch size
    answer = card["c2_answer"].strip("'\"")  # a repr: double quotes where the text has an apostrophe
    assert answer.startswith("At batch 256, random dropout stopped after") and "nan" not in answer
    counts = ("n_supported", "n_not_supported", "n_equivalent", "n_inconclusive", "n_untestable")
    assert sum(int(card[k]) for k in counts) == 6
    for name, path in smoke_chapters.items():  # no logs reach the saved notebooks
        printed = streams(path)
        assert not [m for m in LOG_MARKERS if m in printed], (name, printed[:1000])
        text = Path(path).read_text()
        assert str(ROOT) not in text, name  # no machine paths (the test's own parameters aside)
        meta = json.loads(text)["metadata"]
        assert meta["papermill"]["input_path"] == f"notebooks/{name}.ipynb"
        assert meta["danqrepro"]["preset"] == "smoke" and len(meta["danqrepro"]["commit"]) == 40


@pytest.mark.parametrize("name", CHAPTERS)
def test_book_chapter_is_an_unedited_run_of_its_template(name):
    chapter = ROOT / "book" / "chapters" / f"{name}.ipynb"
    template = ROOT / "notebooks" / f"{name}.ipynb"
    assert chapter.is_file(), f"{chapter} missing: run `make reproduce`"
    meta = json.loads(chapter.read_text())["metadata"]
    assert "papermill" in meta, f"{chapter} was not produced by papermill"
    for kind in ("code", "markdown"):
        assert cells(chapter, kind) == cells(template, kind), (
            f"{chapter} no longer matches {template}: rerun `make reproduce`")


SNAKE = re.compile(r"[a-z]+(_[a-z0-9]+)+")
REPR = re.compile(r"\{'[^']*': |dtype: (int|float|object|bool)|<[a-zA-Z_.]+ object at 0x")


def site_problems(html_dir: Path) -> list[str]:
    """What a reader must not meet on the built site: a script included twice (a console
    error), Python reprs (dicts, Series, objects) or log lines in outputs, tracebacks,
    unfilled glue roles, images outside a captioned figure, links to pages that do not exist,
    table headers that are field names (snake_case)."""
    from bs4 import BeautifulSoup
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        name = str(page.relative_to(html_dir))
        if name.startswith(("_", "genindex", "search")):
            continue
        soup = BeautifulSoup(page.read_text(), "html.parser")
        scripts = [s.get("src") or s.get_text() for s in soup.find_all("script")]
        repeated = sorted({s[:40] for s in scripts if s and scripts.count(s) > 1})
        problems += [f"{name}: a script included twice ({s})" for s in repeated]  # a console error
        main = soup.find("main") or BeautifulSoup("", "html.parser")
        text = main.get_text(" ")
        for output in main.select("div.cell_output"):
            out = output.get_text(" ")
            if REPR.search(out):
                problems.append(f"{name}: a Python repr in an output: {REPR.search(out).group(0)!r}")
            problems += [f"{name}: a log line ({m}) in an output" for m in LOG_MARKERS if m in out]
        problems += [f"{name}: a field name as a table header ({th.get_text(strip=True)})"
                     for th in main.find_all("th") if SNAKE.fullmatch(th.get_text(strip=True))]
        if "Traceback" in text:
            problems.append(f"{name}: a traceback")
        if "{glue" in text:
            problems.append(f"{name}: an unfilled glue role")
        for img in main.find_all("img"):
            figure = img.find_parent("figure")
            if figure is None or figure.find("figcaption") is None:
                problems.append(f"{name}: an image without a numbered caption ({img.get('src', '')[:40]})")
        for a in main.find_all("a", href=True):
            href = a["href"].split("#")[0]
            if href and "://" not in href and not href.startswith("mailto:") \
                    and not (page.parent / href).exists():
                problems.append(f"{name}: a link to a missing page {href}")
    return problems


def test_book_builds_without_warnings_and_reads_clean(tmp_path):
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    result = subprocess.run([jb, "build", str(ROOT / "book"), "--path-output", str(tmp_path),
                             "-W", "--keep-going"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    assert (html / "chapters" / "compare.html").is_file()
    assert not (html / "genindex.html").exists()  # no empty index page
    problems = site_problems(html)
    assert not problems, "\n".join(problems[:30])


def test_site_check_catches_what_it_should(tmp_path):
    page = tmp_path / "chapter.html"
    page.write_text("<script>const A = 1;</script><script>const A = 1;</script>"
                    "<main><div class='cell_output'>{'n': 3, 'mean': 1.5}</div>"
                    "<div class='cell_output'>I0000 oneDNN custom operations</div>"
                    "<p>{glue:text}`x`</p><img src='a.png'><a href='missing.html'>x</a>"
                    "<table><tr><th>samples_s</th><th>test ROC AUC</th></tr></table></main>")
    problems = " | ".join(site_problems(tmp_path))
    for expected in ("a script included twice", "a Python repr", "a log line (I0000)", "an unfilled glue role",
                     "an image without a numbered caption", "a link to a missing page",
                     "a field name as a table header (samples_s)"):
        assert expected in problems
    assert "test ROC AUC" not in problems


def test_positive_control_chapter_glues_sane_values(smoke_chapters, smoke_runs):
    from danqrepro.replication import experiments
    p, data, cache = smoke_study(smoke_runs)
    path = smoke_chapters["control"]
    control = glued(path)
    study_danq = cache.record(experiments.positive_controls(p, data)[0])
    assert float(control["danq_roc"]) == pytest.approx(study_danq["test"]["all"]["roc_mean"], abs=5e-4)
    assert 0.5 < float(control["oracle_roc"]) <= 1
    assert 0.5 < float(control["scan_roc"]) <= 1  # the planted motifs rank positives first
    assert float(control["oracle_loss"]) < float(control["constant_loss"])
    assert "optimiser rmsprop" in control["control_sentence"]  # smoke: no optimiser control
    # smoke: one learning rate; C1's DanQ trains on the whole split, the study's on a subset
    assert "Every DanQ run of this preset trains at learning rate 0.001." in control["rate_sentence"]
    assert "danq-tiny and deepsea-tiny, trained alike at learning rate 0.001" in control["c1_sentence"]
    assert control["data_label"] == "'synthetic'" and control["n_train"] == "'1,024'"  # the study's subset at smoke
    printed = streams(path)
    assert not [m for m in LOG_MARKERS if m in printed], printed[:2000]  # no logs in the notebook
