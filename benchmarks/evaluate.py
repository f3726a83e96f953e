"""Evaluation of 919 targets: the vectorised rank-based AUCs against a per-target
scikit-learn loop, time and largest difference.

    python benchmarks/evaluate.py [--quick]

The full run ends at 455,024 x 919, the DeepSEA test set's prediction matrix (both
strands; scoring averages the strands first, which halves it). Labels are drawn at 3%
positives and the scores are rounded to 3 decimals in one column out of four, so ties
are exercised too.
"""

import argparse

import numpy as np
from common import peak_rss_mib, save, timed
from sklearn.metrics import average_precision_score, roc_auc_score

from danqrepro.evaluate import per_target_aucs


def sklearn_loop(y, p):
    return (np.array([roc_auc_score(y[:, t], p[:, t]) for t in range(y.shape[1])]),
            np.array([average_precision_score(y[:, t], p[:, t]) for t in range(y.shape[1])]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in ([20_000, 50_000] if args.quick else [20_000, 100_000, 227_512, 455_024]):
        y = (rng.random((n, 919), dtype=np.float32) < 0.03).astype(np.uint8)
        p = (rng.random((n, 919), dtype=np.float32) * 0.5 + 0.4 * y).astype(np.float32)
        p[:, ::4] = np.round(p[:, ::4], 3)
        (roc, ap), ours = timed(per_target_aucs, y, p)
        (roc_s, ap_s), theirs = timed(sklearn_loop, y, p)
        rows.append({"samples": n, "targets": 919, "ours_s": ours, "sklearn_s": theirs,
                     "speedup": theirs / ours,
                     "max_abs_diff": float(max(np.abs(roc - roc_s).max(), np.abs(ap - ap_s).max())),
                     "peak_rss_mib": peak_rss_mib()})
    save("evaluate", rows, quick=args.quick)


if __name__ == "__main__":
    main()
