"""What a model's first layer learned: each convolution filter as a PWM, matched to JASPAR.

As the DanQ and Basset papers did: a filter's PWM is built from the subsequences of a set
of sequences where its activation exceeds ``threshold`` times its largest activation on
that set; the PWMs are compared with JASPAR CORE vertebrate matrices by Tomtom (memelite's
implementation), and q-values are Benjamini-Hochberg over the targets of each filter. On
a synthetic store the planted motifs are known, so :func:`recovered` scores the filters
against the truth.
"""

from __future__ import annotations

import numpy as np

from .data.motifs import Motif
from .pwm import information, logo_heights, trimmed
from .sequence import ALPHABET

_ACGT_FROM_DEEPSEA = [ALPHABET.index(b) for b in "ACGT"]  # A,C,G,T rows from A,G,C,T columns


def first_convolution(model):
    """The model's first Conv1D layer (``conv`` in DanQ, ``conv1`` in the DeepSEA CNN)."""
    import keras
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            return layer
    raise ValueError(f"model {model.name!r} has no Conv1D layer")


def filter_pwms(model, x: np.ndarray, threshold: float = 0.5, batch: int = 256,
                pseudocount: float = 0.1) -> list[dict]:
    """A PWM for every first-layer filter from the windows that activate it.

    Parameters
    ----------
    model : a built DanQ or DeepSEA model.
    x : one-hot sequences (n, length, 4), channels A, G, C, T.
    threshold : a window is a site of a filter when the filter's activation there exceeds
        ``threshold`` times its largest activation over ``x``.
    pseudocount : added to every base count of a position before normalising.

    Returns
    -------
    One dict per filter: ``pwm`` float64 (width, 4) A, G, C, T (None without sites),
    ``n_sites``, ``information`` (bits, summed over positions) and ``max_activation``.
    """
    import keras
    conv = first_convolution(model)
    width, n_filters = conv.kernel.shape[0], conv.kernel.shape[2]
    activations = keras.Model(model.inputs[0], conv.output)

    def batches():
        for start in range(0, len(x), batch):
            chunk = np.asarray(x[start:start + batch], dtype=np.float32)
            yield chunk, keras.ops.convert_to_numpy(activations(chunk, training=False))  # (b, L', filters)

    maxima = np.zeros(n_filters)
    for _, act in batches():
        maxima = np.maximum(maxima, act.max(axis=(0, 1)))
    counts = np.zeros((n_filters, width, 4))
    n_sites = np.zeros(n_filters, dtype=np.int64)
    for chunk, act in batches():
        windows = np.lib.stride_tricks.sliding_window_view(chunk, width, axis=1)  # (b, L', 4, w)
        for f in np.flatnonzero(maxima > 0):
            i, p = np.nonzero(act[:, :, f] > threshold * maxima[f])
            if i.size:
                counts[f] += windows[i, p].sum(axis=0).T
                n_sites[f] += i.size
    out = []
    for f in range(n_filters):
        pwm = None
        if n_sites[f]:
            pwm = counts[f] + pseudocount
            pwm /= pwm.sum(axis=1, keepdims=True)
        out.append({"filter": f, "pwm": pwm, "n_sites": int(n_sites[f]),
                    "information": information(pwm) if pwm is not None else 0.0,
                    "max_activation": float(maxima[f])})
    return out


MIN_COLUMN_BITS = 0.5  # flanking columns below this are trimmed before matching
MIN_CORE = 4  # a filter whose trimmed core is shorter is not matched


def core(pwm: np.ndarray) -> np.ndarray:
    """``pwm`` (width, 4) without its flanking columns of less than :data:`MIN_COLUMN_BITS`.

    A near-uniform flank would otherwise align with the long tail of a long JASPAR
    matrix and give a small Tomtom p-value to a filter that learned nothing."""
    return trimmed(pwm, MIN_COLUMN_BITS)


def match_jaspar(filters: list[dict], motifs: list[Motif]):
    """Tomtom every filter's trimmed PWM (:func:`core`) against ``motifs``; one row per
    filter with its core length and best match (``matrix_id``, ``name``, ``p_value``,
    ``q_value``), left empty where the filter has no sites or a core shorter than
    :data:`MIN_CORE`. q-values: Benjamini-Hochberg over the targets of each filter."""
    import pandas as pd
    from memelite import tomtom
    from scipy.stats import false_discovery_control

    rows = [{k: f[k] for k in ("filter", "n_sites", "information", "max_activation")}
            for f in filters]
    cores = {f["filter"]: core(f["pwm"]) for f in filters if f["pwm"] is not None}
    for i, kept in cores.items():
        rows[i]["core_length"] = len(kept)
    with_sites = [f for f in filters if len(cores.get(f["filter"], ())) >= MIN_CORE]
    if with_sites:
        queries = [cores[f["filter"]][:, _ACGT_FROM_DEEPSEA].T.copy() for f in with_sites]
        targets = [m.pwm[:, _ACGT_FROM_DEEPSEA].T.copy() for m in motifs]
        p_values = tomtom(queries, targets)[0]
        for f, p in zip(with_sites, p_values):
            best = int(np.argmin(p))
            q = false_discovery_control(np.clip(p, 0, 1))
            rows[f["filter"]].update(matrix_id=motifs[best].matrix_id, name=motifs[best].name,
                                     p_value=float(p[best]), q_value=float(q[best]))
    return pd.DataFrame(rows)


def recovered(matches, planted_ids: list[str], q: float = 0.05) -> dict:
    """Which planted motifs some filter matches best at q-value below ``q``."""
    hits = set(matches.loc[matches.q_value < q, "matrix_id"]) if "q_value" in matches else set()
    found = [m for m in planted_ids if m in hits]
    return {"planted": len(planted_ids), "recovered": len(found), "ids": found,
            "fraction": len(found) / len(planted_ids) if planted_ids else float("nan")}


def logos(filters: list[dict], matches, motifs: list[Motif], n: int = 12):
    """Sequence logos (information scaled, logomaker) of the ``n`` filters with the
    smallest q-values, each beside its best JASPAR match."""
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    by_id = {m.matrix_id: m for m in motifs}
    best = matches.dropna(subset=["q_value"]).nsmallest(n, "q_value") if "q_value" in matches \
        else matches.iloc[:0]
    fig, axes = plt.subplots(max(len(best), 1), 2, figsize=(9, 1.3 * max(len(best), 1)),
                             squeeze=False)
    for row, (_, m) in zip(axes, best.iterrows()):
        for ax, pwm, title in ((row[0], filters[int(m["filter"])]["pwm"], f"filter {int(m['filter'])} "
                                f"({int(m['n_sites'])} sites)"),
                               (row[1], by_id[m["matrix_id"]].pwm, f"{m['name']} {m['matrix_id']} "
                                f"(q = {m['q_value']:.1e})")):
            logomaker.Logo(pd.DataFrame(logo_heights(pwm), columns=list(ALPHABET)), ax=ax)
            ax.set_title(title, fontsize=8)
            ax.set_ylim(0, 2)
            ax.set_ylabel("bits", fontsize=7)
            ax.set_xticks([])
    fig.tight_layout()
    return fig


def planted_classes(rules: dict) -> dict[str, list[str]]:
    """The planted motifs of a synthetic bundle by the class of target they drive:
    ``TF single``, ``TF pair`` (both partners), ``DNase`` and ``histone`` (density)."""
    classes: dict[str, set] = {"TF single": set(), "TF pair": set(), "DNase": set(), "histone": set()}
    paired = {m for p in rules["pairs"] for m in (p["first"], p["second"])}
    for t in rules["targets"]:
        if t["class"] == "TF":
            for m in t["motifs"]:
                classes["TF pair" if m in paired else "TF single"].add(m)
        elif t["class"] in classes:
            classes[t["class"]].update(t["motifs"])
    for group in rules["density_groups"]:
        classes["histone"].update(group)
    return {k: sorted(v) for k, v in classes.items()}


def model_motifs(model, x: np.ndarray, motifs: list[Motif], rules: dict | None = None,
                 threshold: float = 0.5) -> dict:
    """Filters, their best JASPAR matches and, given a synthetic bundle's ``rules``, the
    planted motifs recovered (all, by class, and the planted pairs with both partners
    found). ``x``: one-hot (n, length, 4) A, G, C, T."""
    filters = filter_pwms(model, x, threshold)
    matches = match_jaspar(filters, motifs)
    out = {"filters": filters, "matches": matches,
           "summary": {"filters": len(filters),
                       "filters_with_sites": sum(f["pwm"] is not None for f in filters),
                       "filters_matched_q05": int((matches.get("q_value", np.nan) < 0.05).sum())}}
    if rules:
        planted = [m["matrix_id"] for m in rules["motifs"]]
        found = set(recovered(matches, planted)["ids"])
        out["summary"]["planted"] = recovered(matches, planted)
        out["summary"]["by_class"] = {k: recovered(matches, ids)
                                      for k, ids in planted_classes(rules).items() if ids}
        out["summary"]["pairs_both_found"] = sum(p["first"] in found and p["second"] in found
                                                 for p in rules["pairs"])
        out["summary"]["pairs"] = len(rules["pairs"])
    return out


def run_motifs(run_dir, n_sequences: int = 2000, threshold: float = 0.5,
               data: str | None = None, untrained: bool = False,
               allow_unfinished: bool = False) -> dict:
    """:func:`model_motifs` of a finished run's best weights (or, with ``untrained``, of
    the same model freshly initialised: the control), read on the first ``n_sequences``
    forward-strand test sequences of its store; adds ``motifs`` (the JASPAR release of
    the store) and the run's identity to the result."""
    from .data.motifs import JASPAR_RELEASE, load_jaspar
    from .models import build_model
    from .runs import load_run_model, run_store

    if n_sequences < 1 or not 0 < threshold < 1:
        raise ValueError(f"n_sequences={n_sequences}, threshold={threshold}: expected "
                         "n_sequences >= 1 and 0 < threshold < 1")
    model, record = load_run_model(run_dir, allow_unfinished)
    store = run_store(record, data)
    if untrained:
        model = build_model(record["config"]["model"], store.seq_len, store.n_targets,
                            seed=record["config"]["seed"])
    test = store.split("test")
    n = min(n_sequences, test.n // 2)  # the forward strand is the first half of a split
    x, _ = test.read(0, n)
    synthetic = store.manifest.get("synthetic")
    release = synthetic["jaspar"]["release"] if synthetic else JASPAR_RELEASE
    motifs = load_jaspar(release)
    out = model_motifs(model, x.astype(np.float32), motifs,
                       synthetic["rules"] if synthetic else None, threshold)
    out["motifs"] = motifs
    from .runs import identity
    out["summary"].update(**identity(run_dir, record), model=record["config"]["model"], n_sequences=n,
                          threshold=threshold, jaspar_release=release, untrained=untrained)
    return out


def analyse_run(run_dir, out_dir, n_sequences: int = 2000, threshold: float = 0.5,
                data: str | None = None, n_logos: int = 12, allow_unfinished: bool = False) -> dict:
    """:func:`run_motifs` written to ``out_dir``: ``filters.tsv`` (one row per filter:
    sites, information, best JASPAR match, p and q), ``logos.png`` and ``summary.json``;
    returns the summary."""
    from pathlib import Path

    from .files import atomic_file, write_json_atomic

    result = run_motifs(run_dir, n_sequences, threshold, data, allow_unfinished=allow_unfinished)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "filters.tsv") as tmp:
        result["matches"].to_csv(tmp, sep="\t", index=False)
    with atomic_file(out / "logos.png") as tmp:
        logos(result["filters"], result["matches"], result["motifs"], n_logos).savefig(tmp, dpi=110)
    write_json_atomic(out / "summary.json", result["summary"])
    return result["summary"]
