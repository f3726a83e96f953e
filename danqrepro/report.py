"""What every chapter shows about itself: data, scale, model, seeds, parameters,
commit and versions; and the helpers that glue figures into the book."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .provenance import provenance


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_runs_dir() -> Path:
    """The run cache the book uses: ``runs/`` at the top of the repository (run.json and
    metrics are kept in git; weights are not)."""
    return repo_root() / "runs"


def quiet_tensorflow() -> None:
    """Import TensorFlow and probe its devices with file descriptor 2 pointed at
    /dev/null, so the C++ runtime's start-up lines (absl, oneDNN, CUDA probes), which are
    written there before any Python-level setting can silence them, never reach a
    notebook. Call it first in a chapter; later imports find TensorFlow loaded. Also
    silences tqdm's warning that a notebook without ipywidgets gets a text progress bar."""
    import warnings
    warnings.filterwarnings("ignore", message="IProgress not found")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf
        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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


def tidy(df, formats: dict | None = None):
    """A table for the page: no index, numbers formatted (``formats`` maps a column to a
    format such as ``"{:.3f}"``; other numbers get :func:`_number`), true/false columns as
    yes/no, missing values blank."""
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
    return df.style.format(formats, na_rep="").hide(axis="index")


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
