"""What every chapter shows about itself: data, scale, model, seeds, parameters,
commit and versions; and the helpers that glue figures into the book."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..provenance import git_commit, provenance
from .project import CODE_PATHSPECS, root


def glued(path: str | Path) -> dict[str, str]:
    """What an executed chapter glued: name -> the text/plain form of its value (how the
    book shows it; numbers parse with ``float``)."""
    import json
    out = {}
    for cell in json.loads(Path(path).read_text())["cells"]:
        for o in cell.get("outputs", []):
            scrap = o.get("metadata", {}).get("scrapbook")
            if scrap:
                out[scrap["name"]] = o["data"][scrap["mime_prefix"] + "text/plain"]
    return out


def _number(value: float) -> str:
    """Thousands separators from 1,000 up, else four significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 or float(value).is_integer() else f"{value:.4g}"


def figure(value: float, spec: str = ".3f") -> str:
    """A number for prose, or "n/a" where the runs cannot give one (a standard deviation
    or a p-value from a single run per arm)."""
    return "n/a" if value is None or np.isnan(value) else format(value, spec)


def interval(low: float, high: float, spec: str = ".1f") -> str:
    """A confidence interval for prose: "[low, high]", or "n/a" from a single run or pair."""
    if np.isnan(low) or np.isnan(high):
        return "n/a"
    return f"[{format(low, spec)}, {format(high, spec)}]"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: "1 seed pair", "3 seed pairs"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def seeds(values) -> str:
    """Seeds for a caption: "seed 0", "seeds 0-5" when consecutive, else "seeds 0, 2, 5"."""
    v = sorted({int(x) for x in values})
    if len(v) == 1:
        return f"seed {v[0]}"
    if v == list(range(v[0], v[-1] + 1)):
        return f"seeds {v[0]}-{v[-1]}"
    return "seeds " + ", ".join(map(str, v))


def censored(n: int) -> str:
    """How many runs reached the epoch cap, for prose, with what that does to the means."""
    if not n:
        return "no run reached the epoch cap"
    return f"{count(n, 'run')} reached the epoch cap (\"≥\" marks a mean of lower bounds)"


def seconds_caveat(records: list[dict]) -> str:
    """A sentence for prose on what the runs' seconds can compare: the spread of seconds per
    epoch at each batch size over run records that may come from several machines."""
    per_epoch: dict[int, list[float]] = {}
    for r in records:
        per_epoch.setdefault(r["config"]["batch"], []).append(r["wall_seconds"] / r["epochs_trained"])
    def span(v):
        low, high = f"{min(v):.0f}", f"{max(v):.0f}"
        return low if low == high else f"{low}-{high}"
    spans = "; ".join(f"{span(v)} s at batch {b:,}" for b, v in sorted(per_epoch.items()))
    return (f"Seconds are wall-clock on whichever machine ran each run, and an epoch took {spans} "
            "over these runs, so the seconds describe those machines; the epoch and step counts "
            "compare the arms")


def study_sentence(preset, runs_from: str, tables: dict) -> str:
    """Which study a chapter's dropout arms come from, for prose: per batch size, the
    registered study's pairs finished of those planned, or the first study's runs.
    ``tables``: batch -> :func:`study.table` of the runs shown at it, largest batch first."""
    def at(batch, t):
        rates = ", ".join(f"{r:g}" for r in sorted(set(t.learning_rate)))
        pairs = len(set(t[t.dropout == "random"].seed) & set(t[t.dropout == "fixed"].seed))
        planned = f" of the {preset.plan.pairs_per_batch} planned" if runs_from == "registered" else ""
        return (f"at batch {batch:,}, {pairs}{planned} seed pairs "
                f"({seeds(t.seed) if len(t) else 'none finished yet'}) at learning rate {rates}")
    parts = "; ".join(at(b, t) for b, t in sorted(tables.items(), reverse=True))
    if runs_from == "registered":
        return (f"These are the registered study's runs (plan version {preset.plan.version}), each "
                f"batch size at the rate its learning-rate rule chose: {parts}")
    return (f"These are the first study's runs, the pilot whose noise sized the registered plan, "
            f"at the preset's learning rate: {parts}")


def computation_sentence(records: list[dict], registered: bool) -> str:
    """Which computation a chapter's runs come from, for prose. ``registered``: the runs
    must share one training-code fingerprint (:func:`study.computation` raises otherwise);
    else (the first study) how many commits and fingerprints they span."""
    from .study import computation
    if registered:
        c = computation(records)
        commits = c["commits"]
        return (f"All {count(c['n_runs'], 'run')} carry one training-code fingerprint, "
                f"{c['fingerprint'][:12]}, and were trained from "
                f"{'commit' if len(commits) == 1 else 'commits'} {', '.join(commits)} "
                f"on {'; '.join(c['machines'])}")
    git = [r.get("provenance", {}).get("git", {}) for r in records]
    commits = {g.get("commit") for g in git}
    prints = {r.get("provenance", {}).get("code_fingerprint") for r in records} - {None}
    dirty = sum(bool(g.get("dirty")) for g in git)
    return (f"These {count(len(records), 'run')} of the first study were trained from "
            f"{count(len(commits), 'commit')} ({dirty} of the runs with uncommitted changes) and "
            f"carry {count(len(prints), 'training-code fingerprint') if prints else 'no training-code fingerprint'}: "
            "the first study predates the rule that every run share one computation")


def c4_sentence(c4: dict, cost: dict | None, small_batch: int, large_batch: int) -> str:
    """C4's figures for prose (:func:`claims.claim_c4`), saying on which machine the seconds
    were timed, or that no side-by-side timing exists for these batch sizes."""
    epochs = (f"the batch-{small_batch:,} runs trained {c4['epochs_ratio']:.2f} times the epochs "
              f"of the batch-{large_batch:,} runs to their stop")
    if not c4["timed"]:
        return (f"No side-by-side timing of batches {small_batch:,} and {large_batch:,} on one "
                f"machine exists for this preset (`benchmarks/batch_cost.py`), so no seconds are "
                f"compared; {epochs}")
    measured = cost["measured_on"].replace("`", "")  # glued text shows Markdown literally
    return (f"Timed side by side on one machine ({measured}, {cost['threads']} threads), "
            f"a batch-{small_batch:,} epoch took {c4['epoch_time_ratio']:.2f} times as long as a "
            f"batch-{large_batch:,} epoch (rounds: "
            f"{', '.join(f'{x:.2f}' for x in cost['epoch_time_ratio_rounds'])}); {epochs}, so a "
            f"run to early stopping took about {c4['total_time_ratio']:.2f} times as long there")


def mean_epochs(arm) -> str:
    """An arm's mean epoch count for prose, "≥" in front when runs reached the epoch cap
    (the mean of lower bounds is a lower bound). ``arm``: the study table's rows of one arm."""
    return ("≥" if arm.censored.any() else "") + figure(float(arm.epochs.mean()), ".1f")


def order_test(c2: dict) -> str:
    """C2's censoring-aware test as a phrase, or "" when no paired run reached the epoch cap
    (then C2 uses the paired epochs; see :func:`danqrepro.claims.claim_c2`)."""
    o = c2["paired_order"]
    if not o["n_censored"]:
        return ""
    return (f"random dropout stopped first in {o['n_a_smaller']} and fixed dropout in "
            f"{o['n_b_smaller']} of the {count(o['n_known'], 'seed pair')} whose order is known "
            f"({count(o['n_censored'], 'paired run')} at the epoch cap; sign test "
            f"p = {figure(o['p'])})")


def _setting(key: str, values: list) -> str:
    """``key=value`` when every run used one value, else ``key`` and the values used;
    ``n_train`` None (the whole split) reads "all"."""
    shown = sorted({"all" if v is None and key == "n_train" else v for v in values}, key=str)
    if len(shown) == 1:
        return f"`{key}={shown[0]}`"
    return f"`{key}` " + " or ".join(f"`{v}`" for v in shown)


def _yes_no(value) -> str:
    return "yes" if value else "no"


def span(values, fmt: str = "{:.2f}") -> str:
    """The range of ``values`` as text: "0.59" where its ends read alike, else "0.52–0.59"."""
    import numpy as np
    low, high = (fmt.format(v) for v in (np.min(values), np.max(values)))
    return low if low == high else f"{low}–{high}"


_table_numbers = itertools.count(1)  # one kernel renders one page: tables numbered per page


def tidy(df, formats: dict | None = None, caption: str | None = None):
    """A table for the page: no index, numbers formatted (``formats`` maps a column to a
    format such as ``"{:.3f}"``; other numbers get :func:`_number`), true/false columns as
    yes/no, missing values blank; with ``caption``, numbered ("Table 2. ...") and captioned
    below, as the book's figures are."""
    import pandas as pd
    formats = dict(formats or {})
    for column in df.columns:
        if column in formats:
            continue
        values = df[column].dropna()
        if len(values) and all(isinstance(v, (bool, np.bool_)) for v in values):
            formats[column] = _yes_no
        elif pd.api.types.is_numeric_dtype(df[column]):
            formats[column] = _number
    styled = df.style.format(formats, na_rep="").hide(axis="index")
    if caption:
        styled = styled.set_caption(f"Table {next(_table_numbers)}. {caption}").set_table_styles(
            [{"selector": "caption", "props": "caption-side: bottom; text-align: left; padding-top: 0.5em"}])
    return styled


def weights_sentence(cache, configs, dirs) -> str:
    """Where a chapter's trained weights came from (``dirs``: what
    :meth:`RunCache.with_weights` returned for ``configs``): the committed runs' own, or,
    where a record kept none, the run trained again from its configuration here, with the
    epochs it stopped after beside its record's and what differed (the training code, the
    CPU)."""
    from ..runcache import RETRAINED
    from ..runs import load_run
    again = [(c, load_run(d)) for c, d in zip(configs, dirs) if RETRAINED in Path(d).parts]
    if not again:
        return "The weights are those of the committed runs."

    def code(record):
        p = record["provenance"]
        return (f"fingerprint {p['code_fingerprint'][:8]}" if p.get("code_fingerprint")
                else f"commit {p['git']['commit'][:7]}")

    def stop(config, here):
        kept = cache.record(config)
        cpu = (here["provenance"]["hardware"]["cpu"], kept["provenance"]["hardware"]["cpu"])
        differs = ([f"the record's training code is {code(kept)}, this run's {code(here)}"]
                   if code(here) != code(kept) else []) + ([f"it ran on {cpu[1]}"] if cpu[0] != cpu[1] else [])
        return (f"{config.model} stopped after {count(here['epochs_trained'], 'epoch')} here and "
                f"{kept['epochs_trained']} in its record ({'; '.join(differs) or 'the same code and CPU'})")
    return ("The committed records keep no weights, so these runs were trained again from their "
            f"configurations on this machine (in runs/{RETRAINED}/): "
            + "; ".join(stop(c, r) for c, r in again) + ".")


# the training settings a chapter's setup table reads from its run records (``redraw`` only
# where a run used random dropout)
TRAINING_KEYS = ("dropout", "batch", "n_train", "max_epochs", "patience", "optimizer", "learning_rate",
                 "output_bias", "redraw")


def setup_markdown(preset, store, parameters: dict | None = None,
                   records: list[dict] | None = None) -> str:
    """A Markdown table of what a chapter ran with: the data, the preset, the chapter's own
    ``parameters``, and the models, seeds and training settings read from its run
    ``records`` (so a chapter cannot state a setting its runs did not use)."""
    prov = provenance()
    prov["git"] = git_commit(root(), CODE_PATHSPECS)
    kind = "synthetic (JASPAR-planted, DeepSEA layout)" if store.is_synthetic else "DeepSEA"
    splits = store.manifest["splits"]
    rows = [("data", f"{kind}: `{store.path.name}`"),
            ("data scale", ", ".join(f"{k} {v['n']:,}" for k, v in splits.items())
             + f"; {store.n_targets} targets"),
            ("preset", f"`{preset.name}`: {preset.description}")]
    if records:
        models = sorted({(r["config"]["model"], r["model"]["trainable_parameters"]) for r in records})
        rows.append(("models", ", ".join(f"`{m}` ({p:,} parameters)" for m, p in models)))
        rows.append(("seeds", ", ".join(str(s) for s in sorted({r["config"]["seed"] for r in records}))))
        rows.append(("runs", f"{len(records)}"))
        random = any(r["config"].get("dropout") == "random" for r in records)
        rows.append(("training", ", ".join(_setting(k, [r["config"].get(k) for r in records])
                                           for k in TRAINING_KEYS if k != "redraw" or random)))
    if parameters:
        rows.append(("parameters", ", ".join(f"`{k}={v!r}`" for k, v in parameters.items())))
    git = prov["git"]
    rows.append(("commit", f"`{git['commit']}`" + (" (uncommitted changes)" if git["dirty"] else "")))
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in prov["versions"].items() if v)))
    hw = prov["hardware"]
    rows.append(("hardware", f"{hw['cpu']} ({hw['cpu_count']} cores)"
                 + (f", GPUs: {', '.join(hw['gpus'])}" if hw["gpus"] else ", no GPU")))
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _paired(c: dict) -> str:
    """C2's paired epochs for the scorecard: the pairs the exact signed-rank test ranked."""
    q = c["paired_epochs"]
    return (f"{q['mean_difference']:+.1f} epochs (95% CI {interval(q['ci_low'], q['ci_high'], '+.1f')}) over "
            f"{count(q['n_pairs'], 'seed pair')} ({q['n_used']} not tied), exact signed-rank p = "
            f"{figure(q['wilcoxon_p'])}")


def _equivalence(c: dict) -> str:
    """C3's TOST for the scorecard: the 90% t interval against the margin."""
    t = c["equivalence_test"]
    return (f"{t['mean']:+.1f} epochs (90% t interval {interval(t['ci_low'], t['ci_high'], '+.1f')}) over "
            f"{count(t['n'], 'seed pair')}, TOST p = {figure(t['p'])}")


def _epochs(df) -> str:
    return " vs ".join(mean_epochs(df[df.dropout == arm]) for arm in ("random", "fixed"))


def _c1_words(preset, c1: dict) -> str:
    """Our C1 figures for the scorecard: the order benchmark's (:func:`claims.claim_c1_order`)
    or the per-target comparison's (:func:`claims.claim_c1`)."""
    if "n_rules" not in c1:
        return (f"{preset.model} higher ROC AUC on {c1['roc_better_fraction']:.1%} of {c1['n_targets']} "
                f"targets (sign test p = {c1['sign_test_p']:.2g}); mean PR AUC {c1['pr_mean_difference']:+.3f}")
    if not c1["n_seeds"]:
        return "order benchmark: no seed of both models has finished yet"
    return (f"order targets: ROC AUC {c1['danq_roc']:.3f} vs {c1['cnn_roc']:.3f} (co-occurrence oracle "
            f"{c1['cooccurrence_roc']:.3f}, oracle {c1['oracle_roc']:.3f}); difference "
            f"{c1['seed_mean_difference']:+.3f} (95% CI {interval(c1['ci_low'], c1['ci_high'], '+.3f')}) over "
            f"{count(c1['n_seeds'], 'seed')}; DanQ ahead on {c1['rules_danq_ahead']} of {c1['n_rules']} "
            f"order rules (signed-rank p = {figure(c1['rules_p'])})")


def _verdict(c: dict) -> str:
    return c["verdict"] + (f" ({c['reason']})" if c.get("reason") else "")


def real_c1_table(c1: dict, per_tf: dict, per_tf_pr: dict, scans: dict | None = None):
    """C1 on real data, one row per TF: the seeds both models finished, each model's mean
    test ROC AUC and PR AUC over them, DanQ minus the CNN in ROC AUC with its 95% t interval
    over seeds (``c1``: :func:`plan.decide_c1_real`'s verdict), and the motif scan's ROC AUC
    (``scans``: TF -> AUC, or None where the TF has no matrix)."""
    import pandas as pd

    def mean(values):
        return float(np.mean(values)) if len(values) else float("nan")
    rows = []
    for tf, (danq, cnn) in per_tf.items():
        decided = c1["per_tf"][tf]
        rows.append({"TF": tf, "seeds": decided["n_seeds"], "DanQ ROC AUC": mean(danq), "CNN ROC AUC": mean(cnn),
                     "DanQ − CNN": decided["mean_difference"],
                     "95% CI": interval(decided["ci_low"], decided["ci_high"], "+.3f") if len(danq) else None,
                     "DanQ PR AUC": mean(per_tf_pr[tf][0]), "CNN PR AUC": mean(per_tf_pr[tf][1])}
                    | ({"motif scan ROC AUC": scans.get(tf)} if scans is not None else {}))
    return pd.DataFrame(rows)


def arms_words(preset, verdicts: dict, small, large) -> dict[str, str]:
    """Our figures for the dropout arms' claims, by ``C2``, ``C3``, ``C5 small`` and ``C5
    large``: the epochs, effect, interval and p behind each verdict (``verdicts``: what
    :mod:`danqrepro.replication.claims` returned), from the study tables of the two batch
    sizes (``small``, ``large``; None where no run has finished there)."""
    p = preset

    def spread(c, batch):
        return (f"batch {batch}: SD {figure(c['sd_random'], '.1f')} vs {figure(c['sd_fixed'], '.1f')} "
                f"epochs, longest {c['max_random']:.0f}; Brown-Forsythe p = {figure(c['levene_p'])}")

    def unless_empty(df, batch, words):
        return words() if df is not None else f"batch {batch}: no run has finished yet"
    c2, c3 = verdicts["C2"], verdicts["C3"]
    return {
        "C2": unless_empty(large, p.large_batch, lambda: (
            f"batch {p.large_batch}: {_epochs(large)} epochs (random vs fixed); "
            f"{order_test(c2) or _paired(c2)}; loss gap {c2['relative_loss_gap']:+.2%}")),
        "C3": unless_empty(small, p.small_batch, lambda: (
            f"batch {p.small_batch}: {_epochs(small)} epochs; {_equivalence(c3)}; "
            f"margin ±{c3['equivalence_margin']:.1f}")),
        "C5 small": unless_empty(small, p.small_batch, lambda: spread(verdicts["C5 small"], p.small_batch)),
        "C5 large": unless_empty(large, p.large_batch, lambda: spread(verdicts["C5 large"], p.large_batch)),
    }


def real_arms_table(preset, real: dict, data_label: str):
    """The real-data dropout arms' claims, one row per claim (C5 once per batch size): the
    paper's words, ours (:func:`arms_words`) and the verdict. ``real``: what
    :func:`claims.real_verdicts` returned."""
    import pandas as pd

    from .claims import PAPER
    words = arms_words(preset, real, real["arms_small"], real["arms_large"])
    return pd.DataFrame([{"claim": k.split()[0], "paper": PAPER[k.split()[0]], f"ours ({data_label})": ours,
                          "verdict": _verdict(real[k])} for k, ours in words.items()])


def claims_table(preset, data_label: str, verdicts: dict, small, large, real: dict | None = None):
    """The scorecard: one row per claim (C5 once per batch size) with the paper's words,
    ours, the test and the verdict. ``verdicts``: what :mod:`danqrepro.replication.claims`
    returned, by ``C1``-``C4``, ``C5 small`` and ``C5 large``; ``small``, ``large``: the
    study tables of the two batch sizes; ``real``: the real-data study's verdicts
    (:func:`claims.real_verdicts`), a second verdict column where given (C4 is not tested
    there)."""
    import pandas as pd

    from .claims import PAPER, TESTS
    p = preset
    c4 = verdicts["C4"]
    arms = arms_words(p, verdicts, small, large)
    keys = ["C1", "C2", "C3", "C4", "C5 small", "C5 large"]
    ours = {"C1": _c1_words(p, verdicts["C1"]), **arms,
            "C4": (f"epoch time x{c4['epoch_time_ratio']:.2f}, run time x{c4['total_time_ratio']:.2f} "
                   "(timed side by side on one CPU), " if c4["timed"] else "no side-by-side timing; ")
                  + f"epochs x{c4['epochs_ratio']:.2f} (batch {p.small_batch} over {p.large_batch})"}
    table = pd.DataFrame([{"claim": k.split()[0], "paper": PAPER[k.split()[0]],
                           f"ours ({data_label}, {p.name})": ours[k], "test": TESTS[k.split()[0]],
                           "verdict": _verdict(verdicts[k])} for k in keys])
    if real is not None:
        table["verdict, real ChIP-seq"] = [_verdict(real[k]) if k in real else "not tested"
                                           for k in keys]
    return table
