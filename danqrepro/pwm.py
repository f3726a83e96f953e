"""Position weight matrices as arrays: information content, trimming, log-odds.

A PWM is float (width, 4), rows summing to 1, columns in the order of
:data:`danqrepro.sequence.ALPHABET`; the background is uniform (0.25 per base).
"""

from __future__ import annotations

import numpy as np

UNIFORM = 0.25


def column_information(pwm: np.ndarray) -> np.ndarray:
    """Information content in bits of each position of ``pwm`` (width, 4): 2 minus the
    entropy; returns (width,)."""
    p = np.clip(pwm, 1e-9, 1)
    return 2 + (p * np.log2(p)).sum(axis=1)


def information(pwm: np.ndarray) -> float:
    """Information content in bits of ``pwm`` (width, 4), summed over positions."""
    return float(column_information(pwm).sum())


def trimmed(pwm: np.ndarray, min_bits: float) -> np.ndarray:
    """``pwm`` (width, 4) without its flanking positions of less than ``min_bits`` bits;
    (0, 4) when no position has that much."""
    keep = np.flatnonzero(column_information(pwm) >= min_bits)
    return pwm[keep[0]:keep[-1] + 1] if keep.size else pwm[:0]


def log_odds(pwm: np.ndarray) -> np.ndarray:
    """log2 odds of ``pwm`` (width, 4) against a uniform background; returns (width, 4)."""
    return np.log2(pwm / UNIFORM)


def best_score(pwm: np.ndarray) -> float:
    """The largest log-odds score a site can reach: the consensus's, in bits."""
    return float(log_odds(pwm).max(axis=1).sum())


def logo_heights(pwm: np.ndarray) -> np.ndarray:
    """Letter heights of a sequence logo: each probability times its position's
    information content; returns (width, 4)."""
    return pwm * column_information(pwm)[:, None]
