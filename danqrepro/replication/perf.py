"""Reading the benchmark results (``benchmarks/results/*.json``) for the Performance page:
summary tables, how cost grows, and what the figures mean for planning a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def load_results(directory: str | Path) -> dict[str, dict]:
    """Every ``<name>.json`` a benchmark script wrote, by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))}


def measured_on(result: dict) -> str:
    """One line: when, on what machine, at which commit a result was measured."""
    prov, hw = result["provenance"], result["provenance"]["hardware"]
    gpus = ", GPUs: " + ", ".join(hw["gpus"]) if hw["gpus"] else ", no GPU"
    commit = (prov["git"]["commit"] or "unknown")[:10]
    dirty = " with uncommitted changes" if prov["git"].get("dirty") else ""
    return f"measured {result['date']} on {hw['cpu']} ({hw['cpu_count']} cores{gpus}), commit `{commit}`{dirty}"


def training_table(result: dict):
    """Median over rounds of each variant and batch: samples/s (whole call), samples/s
    of the median step, MFU; with the runner's ratio to each variant."""
    import pandas as pd

    df = pd.DataFrame(result["rows"])
    table = (df.groupby(["batch", "variant"], sort=False)
               [["samples_s", "step_samples_s", "mfu"]].median().reset_index())
    runner = table[table.variant == "keras-runner"].set_index("batch").samples_s
    table["runner_over_this"] = runner.loc[table.batch].to_numpy() / table.samples_s.to_numpy()
    return table


def growth_fit(rows: list[dict]):
    """Fit ``epoch seconds = a + b * n_train`` per batch size.

    Returns
    -------
    DataFrame with batch, ``overhead_s`` (a), ``ms_per_sample`` (1000 b) and
    ``max_residual`` (largest |measured - fitted| / measured over the sizes).
    """
    import pandas as pd

    out = []
    df = pd.DataFrame(rows)
    for batch, g in df.groupby("batch"):
        slope, intercept = np.polyfit(g.n_train, g.epoch_s, 1)
        fitted = intercept + slope * g.n_train
        out.append({"batch": batch, "overhead_s": intercept, "ms_per_sample": 1000 * slope,
                    "max_residual": float((abs(g.epoch_s - fitted) / g.epoch_s).max())})
    return pd.DataFrame(out)


def planning(samples_s: dict[int, float], sizes: dict[str, int]):
    """Hours per epoch for each named training-set size at each batch's samples/s."""
    import pandas as pd

    return pd.DataFrame([{"training set": name, "samples": n,
                          **{f"batch {b}: hours/epoch": n / rate / 3600 for b, rate in samples_s.items()}}
                         for name, n in sizes.items()])
