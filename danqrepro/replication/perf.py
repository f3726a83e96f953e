"""Reading the benchmark results (``benchmarks/results/*.json``) for the Performance page:
summary tables, how cost grows, and what the figures mean for planning a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


# the benchmark JSON's field names, as a table's reader reads them
COLUMN_LABELS = {
    "samples_s": "samples/s", "step_samples_s": "samples/s of the median step", "mfu": "of matmul peak",
    "runner_over_this": "runner / this variant", "pipeline_samples_s": "pipeline samples/s",
    "pipeline_over_training": "pipeline / training", "overhead_s": "fixed cost per epoch (s)",
    "ms_per_sample": "ms per sample", "max_residual": "largest miss of the line",
    "ours_s": "ours (s)", "sklearn_s": "scikit-learn (s)", "speedup": "speed-up",
    "max_abs_diff": "largest difference", "peak_rss_mib": "peak RSS (MiB)",
    "n_train": "samples", "train_mat_mb": "train.mat (MB)", "generate_s": "generate (s)",
    "generate_rss_mib": "generate: peak RSS (MiB)", "convert_s": "convert (s)",
    "convert_mb_s": "convert (MB/s)", "disk_read_mb_s": "disk read (MB/s)",
    "convert_rss_mib": "convert: peak RSS (MiB)", "load_whole_s": "whole-file load (s)",
    "load_whole_rss_mib": "whole-file load: peak RSS (MiB)", "fasta_mb": "FASTA (MB)",
    "labels_mb": "labels (MB)", "records_s": "records/s", "plain_records_s": "plain records/s",
    "predict_over_plain": "of plain rate", "one_process_samples_s": "one process (samples/s)",
}


def labelled(df):
    """``df`` with the benchmark fields of :data:`COLUMN_LABELS` renamed for the page."""
    return df.rename(columns=COLUMN_LABELS)


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


def batch_cost(preset: str, directory: str | Path | None = None) -> dict | None:
    """The side-by-side epoch timing of ``benchmarks/batch_cost.py`` for ``preset`` (its
    summary, with ``measured_on``), or None where none was measured for it."""
    from .project import root
    path = Path(directory or root() / "benchmarks" / "results") / "batch_cost.json"
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    summary = result["summary"]
    return summary | {"measured_on": measured_on(result)} if summary["preset"] == preset else None


def gpu_sentence(directory: str | Path | None = None) -> str:
    """The GPU's epoch-time ratio of the small over the large batch for full-size DanQ,
    from ``benchmarks/results/gpu.json`` (a PyTorch port timed on a lent GPU), for prose;
    "" where no GPU was measured."""
    from .project import root
    path = Path(directory or root() / "benchmarks" / "results") / "gpu.json"
    if not path.is_file():
        return ""
    result = json.loads(path.read_text())
    rate = {(r["model"], r["batch"], r["precision"]): r["samples_s"] for r in result["rows"]}
    ratios = {p: rate[("danq", 1000, p)] / rate[("danq", 100, p)] for p in ("fp32", "tf32")
              if ("danq", 1000, p) in rate and ("danq", 100, p) in rate}
    if not ratios:
        return ""
    return (f"On an {result['device']}, the PyTorch port of full-size DanQ took "
            + " and ".join(f"{r:.1f} times as long ({p})" for p, r in ratios.items())
            + " per epoch at batch 100 as at batch 1000 (model only, not the project's runner; "
            "see the performance page)")


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
