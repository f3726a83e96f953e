"""Figures the chapters share."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns



def use_book_style() -> None:
    """One style for every figure of the book (called by :func:`chapter.setup`)."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)

ARM_COLOURS = {"fixed": "#4C72B0", "random": "#DD8452"}


def arms(df, columns: dict[str, str], title: str = ""):
    """One panel per column (two panels a row): every run as a point (few runs per arm: no
    box plots), the arm's mean as a black bar; fixed and random side by side in their
    colours, a thin grey line joining the two runs of each seed (the pair the paired tests
    compare). Runs that reached the epoch cap (``df.censored``) are open triangles in every
    panel: their epoch count is a lower bound and their loss was still falling."""
    n_cols = min(2, len(columns))
    n_rows = -(-len(columns) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 3.2 * n_rows), squeeze=False)
    for ax in axes.flat[len(columns):]:
        ax.remove()
    order = ["fixed", "random"]
    censored = df["censored"].astype(bool) if "censored" in df else np.zeros(len(df), bool)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(df))  # the same in every panel
    x = df["dropout"].map({arm: i for i, arm in enumerate(order)}).to_numpy(float) + jitter
    pairs = _seed_pairs(df, order) if "seed" in df else []
    for ax, (column, label) in zip(axes.flat, columns.items()):
        values = df[column].to_numpy(float)
        for a, b in pairs:
            ax.plot(x[[a, b]], values[[a, b]], color="0.7", lw=0.8, zorder=1)
        for arm in order:
            for capped in (False, True):
                rows = ((df["dropout"] == arm) & (censored == capped)).to_numpy()
                if rows.any():
                    colour = ARM_COLOURS[arm]
                    ax.scatter(x[rows], values[rows], s=36, alpha=0.85, zorder=2,
                               marker="^" if capped else "o", color="none" if capped else colour,
                               edgecolors=colour, linewidths=1.4 if capped else 0)
        means = df.groupby("dropout")[column].mean()
        for i, arm in enumerate(order):
            if arm in means:
                ax.hlines(means[arm], i - 0.3, i + 0.3, color="black", lw=2, zorder=3)
        ax.set_xticks(range(len(order)), order)
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.set_ylabel(label)
    if censored.any():
        axes[0][0].scatter([], [], marker="^", color="none", edgecolors="black",
                           label="reached the epoch cap")
        # under the panels, where it cannot sit on a run's point
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", fontsize=8,
                   frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07 / n_rows if censored.any() else 0, 1, 1))
    return fig


def _seed_pairs(df, order: list[str]) -> list[tuple[int, int]]:
    """Row positions ``(fixed, random)`` of the runs that share a seed across the two arms."""
    position = {(arm, seed): i for i, (arm, seed) in enumerate(zip(df["dropout"], df["seed"]))}
    first, second = order
    return [(i, position[(second, seed)]) for (arm, seed), i in position.items()
            if arm == first and (second, seed) in position]


def _loss_lines(ax, records: list[dict], group, colours: dict, markers: dict):
    """Validation loss per epoch of every run on ``ax`` (one thin line each, coloured and
    marked by ``group(record)``, a legend label), the best epoch as a larger marker."""
    for r in records:
        g = group(r)
        ax.plot([e["epoch"] for e in r["epochs"]], [e["val_loss"] for e in r["epochs"]],
                color=colours[g], alpha=0.55, lw=1, marker=markers[g], ms=2.5, label=g)
        if r["best_epoch"]:
            ax.plot(r["best_epoch"], r["best_val_loss"], markers[g], color=colours[g], ms=6,
                    mec="black", mew=0.6)


def _entries(*axes) -> dict:
    """Legend entries of ``axes``, one per label (every run of a group draws the same label)."""
    entries = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        entries.update(zip(labels, handles))
    return entries


def _legend_once(ax, **kwargs):
    """A legend with one entry per label."""
    entries = _entries(ax)
    ax.legend(entries.values(), entries.keys(), fontsize=8, **kwargs)


def learning_curves(records: list[dict], title: str = "", constant: float | None = None):
    """Validation loss per epoch of every run (one thin line each, coloured and marked by
    arm), the best epoch as a larger marker and, if given, the constant predictor's loss
    (the label rates) as a dashed line. Linear axes, so a plateau shows as one."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    _loss_lines(ax, records, lambda r: f"{r['config']['dropout']} dropout",
                {f"{arm} dropout": colour for arm, colour in ARM_COLOURS.items()},
                {"fixed dropout": "o", "random dropout": "s"})
    if constant is not None:
        ax.axhline(constant, color="grey", ls="--", lw=1.2, label="constant predictor (label rates)")
    _legend_once(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def rate_curves(records: list[dict], constant: float, max_epochs: int):
    """Validation loss per epoch of runs at several learning rates, one panel per batch
    size, one colour and marker per rate; the constant predictor's loss dashed and the
    epoch cap dotted, so a run still falling at the cap shows as one."""
    batches = sorted({r["config"]["batch"] for r in records})
    rates = sorted({r["config"]["learning_rate"] for r in records})
    labels = [f"learning rate {rate:g}" for rate in rates]
    colours = dict(zip(labels, sns.color_palette("colorblind", len(rates))))
    fig, axes = plt.subplots(1, len(batches), figsize=(5.6 * len(batches), 3.6), sharey=True,
                             squeeze=False)
    for ax, batch in zip(axes[0], batches):
        _loss_lines(ax, [r for r in records if r["config"]["batch"] == batch],
                    lambda r: f"learning rate {r['config']['learning_rate']:g}", colours,
                    dict(zip(labels, "os^D")))
        ax.axhline(constant, color="grey", ls="--", lw=1.2, label="constant predictor (label rates)")
        ax.axvline(max_epochs, color="black", ls=":", lw=1, label="epoch cap")
        ax.set_title(f"batch {batch}")
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("validation loss")
    _legend_once(axes[0][-1], loc="center right")
    fig.tight_layout()
    return fig


def control_curves(records: dict[str, dict], reference_losses: dict[str, float],
                   reference_aucs: dict[str, tuple[float, float]]):
    """Three panels against optimiser steps for a few labelled runs, each with its own
    colour and marker: validation loss, mean validation ROC AUC and mean PR AUC.

    Horizontal lines give the references: ``reference_losses`` (``constant``: the label
    rates; ``oracle``: the generating probabilities) on the loss panel, and
    ``reference_aucs`` (name -> (ROC AUC, PR AUC) on the same validation samples) on the
    AUC panels. Linear axes, so a plateau at the label rates shows as one."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.6))
    palette = sns.color_palette("colorblind", len(records))
    for (label, r), colour, marker in zip(records.items(), palette, "osD^v"):
        per_epoch = -(-r["data"]["n_train"] // r["config"]["batch"])
        steps = [e["epoch"] * per_epoch for e in r["epochs"]]
        for ax, key in zip(axes, ("val_loss", "val_roc_mean", "val_pr_mean")):
            ax.plot(steps, [e.get(key) for e in r["epochs"]], marker=marker, color=colour,
                    label=label, ms=4)
    line_styles = [("grey", "--"), ("black", ":"), ("#8c564b", "-.")]
    names = {"constant": "constant predictor (label rates)",
             "oracle": "oracle (generating probabilities)"}
    for (key, value), (colour, line) in zip(reference_losses.items(), line_styles):
        axes[0].axhline(value, color=colour, ls=line, lw=1.2, label=names.get(key, key))
    for (name, (roc, pr)), (colour, line) in zip(reference_aucs.items(), line_styles[1:]):
        axes[1].axhline(roc, color=colour, ls=line, lw=1.2, label=names.get(name, name))
        axes[2].axhline(pr, color=colour, ls=line, lw=1.2, label=names.get(name, name))
    for ax, ylabel in zip(axes, ("validation loss (binary cross-entropy)",
                                 "mean validation ROC AUC", "mean validation PR AUC")):
        ax.set_xlabel("optimiser steps")
        ax.set_ylabel(ylabel)
    # one legend under the panels: inside, it would hide the curves' first steps
    entries = _entries(*axes[:2])
    fig.legend(entries.values(), entries.keys(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.045 * -(-len(entries) // 3) + 0.01, 1, 1))
    return fig


def target_scatter(x, y, classes, xlabel: str, ylabel: str, title: str = ""):
    """Per-target AUC of one model against another, coloured by class, with y = x."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    sns.scatterplot(x=x, y=y, hue=classes, s=10, alpha=0.6, ax=ax)
    lo = min(min(v for v in x if v is not None), min(v for v in y if v is not None))
    ax.plot([lo, 1], [lo, 1], color="grey", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def throughput(rows, title: str = ""):
    """Training samples/s per variant, one panel per batch size; each round a point."""
    import pandas as pd

    df = pd.DataFrame(rows)
    batches = sorted(df.batch.unique())
    fig, axes = plt.subplots(1, len(batches), figsize=(4.4 * len(batches), 3.4), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        d = df[df.batch == batch]
        sns.barplot(d, x="variant", y="samples_s", estimator="median", errorbar=None, ax=ax,
                    color="#c8d3e6")
        sns.stripplot(d, x="variant", y="samples_s", hue="round", palette="dark:#333", ax=ax,
                      size=6, jitter=0.1, legend=False)
        ax.set_title(f"batch {batch}")
        ax.set_xlabel("")
        ax.set_ylabel("training samples/s")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def growth(rows, title: str = ""):
    """Epoch wall time against training-set size, one line per batch size."""
    import pandas as pd

    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.lineplot(df, x="n_train", y="epoch_s", hue="batch", marker="o", palette="viridis", ax=ax)
    ax.set_xlabel("training samples per epoch")
    ax.set_ylabel("epoch wall time (s)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def variant_pairs(breaking, control):
    """Paired changes of a target's prediction (alternative - reference): one line per
    sequence from its control variant to its motif-breaking variant, zero marked."""
    import numpy as np
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    for b, c in zip(breaking, control):
        ax.plot([0, 1], [c, b], color="0.75", lw=1, zorder=1)
    ax.scatter(np.zeros(len(control)), control, color="#4C72B0", label="control slot", zorder=2)
    ax.scatter(np.ones(len(breaking)), breaking, color="#C44E52", marker="D", label="motif slot", zorder=2)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks([0, 1], ["control slot\nshuffled", "motif slot\nshuffled"])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel("change in predicted probability")
    fig.tight_layout()
    return fig
