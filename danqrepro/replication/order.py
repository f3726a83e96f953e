"""C1 where only the order of two motifs tells: the order targets of C1's benchmark
(:class:`~danqrepro.data.synthetic.OrderSpec`), scored among the samples that hold their
rule's two motifs in either order, where the oracle and the co-occurrence oracle differ.

There the co-occurrence oracle is a constant (ROC AUC 0.5): whatever a model scores above
0.5 it owes to reading the order, at spacings beyond the CNN's receptive field. The score
of each C1 run is written beside its record (:data:`ORDER_METRICS`) on the machine that
trained it, so the book needs no weights to read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ORDER_METRICS = "order-metrics.json"


def order_columns(store) -> list[int]:
    """The target columns of a synthetic store that follow an order rule."""
    targets = (store.manifest.get("synthetic") or {}).get("rules", {}).get("targets", [])
    return [col for col, t in enumerate(targets) if t["rule"] == "order"]


def cooccurrence_oracle(store, split: str = "test") -> np.ndarray:
    """The co-occurrence oracle (n, targets) of ``split``, read from the store's bundle."""
    import h5py

    from ..data.store import ORACLE_FILE
    from ..files import DataError
    path = Path(store.manifest["source"]["path"]) / ORACLE_FILE
    try:
        with h5py.File(path, "r") as f:
            return np.asarray(f[f"cooccurrence_{split}"], dtype=np.float32)
    except (OSError, KeyError) as err:
        raise DataError(f"{path}: no co-occurrence oracle of split {split!r} (not a bundle "
                        "with order rules, or moved)") from err


def order_aucs(pred: np.ndarray, labels: np.ndarray, oracle: np.ndarray,
               cooccurrence: np.ndarray, columns: list[int]) -> np.ndarray:
    """ROC AUC of ``pred`` on each order target among the samples holding its rule's motifs.

    Parameters
    ----------
    pred, labels, oracle, cooccurrence : (n, targets) in the split's layout (forward half,
        then reverse complements); predictions are averaged over strands first.
    columns : the order targets.

    Returns
    -------
    float (len(columns),): nan where a column has no positive or no negative there.
    """
    from ..evaluate import average_strands, roc_auc
    pred, labels = average_strands(pred, labels)
    half = labels.shape[0]
    out = np.full(len(columns), np.nan)
    for i, col in enumerate(columns):
        holding = oracle[:half, col] != cooccurrence[:half, col]
        out[i] = roc_auc(labels[holding][:, [col]], pred[holding][:, [col]])[0]
    return out


def score_run(run_dir: str | Path, store) -> dict:
    """Score a finished C1 run's best weights on the test split's order targets; write
    ``run_dir/order-metrics.json`` (the model's, the oracle's and the co-occurrence
    oracle's AUC per order target, with the target's rule) and return it."""
    from ..evaluate import predict
    from ..files import write_json_atomic
    from ..runs import load_run_model
    model, record = load_run_model(run_dir)
    columns = order_columns(store)
    pred, labels = predict(model, store, "test")
    oracle = np.asarray(store.split("test").oracle, dtype=np.float32)
    cooccurrence = cooccurrence_oracle(store)
    rules = [store.manifest["synthetic"]["rules"]["targets"][c]["order_rule"] for c in columns]
    metrics = {"columns": columns, "rules": rules, "best_epoch": record["best_epoch"]}
    for name, scores in (("model", pred), ("oracle", oracle), ("cooccurrence", cooccurrence)):
        aucs = order_aucs(scores, labels, oracle, cooccurrence, columns)
        metrics[name] = [None if np.isnan(v) else float(v) for v in aucs]
    write_json_atomic(Path(run_dir) / ORDER_METRICS, metrics)
    return metrics


def score_missing(cache, configs) -> int:
    """:func:`score_run` for each finished run of ``configs`` that has weights here and no
    :data:`ORDER_METRICS` yet; returns how many were scored."""
    from ..runs import BEST_WEIGHTS
    scored = 0
    for config in configs:
        run_dir, record = cache.path(config), cache.record(config)
        if (record and record["status"] == "finished" and (run_dir / BEST_WEIGHTS).is_file()
                and not (run_dir / ORDER_METRICS).is_file()):
            score_run(run_dir, cache.store(config.data))
            scored += 1
    return scored


def found_scores(cache, configs) -> list[dict | None]:
    """The order metrics of each config's run, found from the records alone
    (:meth:`RunCache.find`: no data opened); None where the run or its score is missing."""
    from ..files import read_json
    out = []
    for config in configs:
        run_dir = cache.find(config)
        path = run_dir / ORDER_METRICS if run_dir else None
        out.append(read_json(path, "order metrics") if path and path.is_file() else None)
    return out
