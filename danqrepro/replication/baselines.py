"""A baseline that knows the planted motifs: a PWM scan scored per target by its rule.

On a synthetic bundle the rules are known (``synthetic.json``, kept in the store's
manifest): which JASPAR motifs drive each target and how. The scan scores each sequence by
the best log-odds match of each planted motif in the central 200 bp (either strand) and by
the number of good matches over the whole sequence, then combines them per target as its
rule does:

- ``single``: the best central match of its motif;
- ``pair``: the sum of the best central matches of the two partners (no gap or order:
  what a scan of the two motifs sees without the grammar);
- ``any`` (DNase): the best central match of any of its motifs;
- ``density`` (histone): the count of matches of its group's motifs over 1000 bp.

GC content, which the generator can add to the DNase and histone rules, is ignored. The
scan is a yardstick from the truth side, not a competitor: a model that learns the motifs
and their grammar from data should reach or pass it.
"""

from __future__ import annotations

import numpy as np

from ..data.motifs import load_jaspar
from ..pwm import best_score, log_odds

CENTRAL = slice(400, 600)  # the DeepSEA bin: the central 200 bp of 1000
GOOD_MATCH = 0.6  # a match counts for density when its log-odds exceed this share of the best possible


def _log_odds(pwm: np.ndarray) -> np.ndarray:
    """(length, 4) PWM in A, G, C, T -> (length, 5) log2 odds against a uniform background,
    with a zero column for N (code 4)."""
    return np.concatenate([log_odds(pwm), np.zeros((len(pwm), 1))], axis=1)


def scan(codes: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Log-odds of a PWM at every position of both strands.

    Parameters
    ----------
    codes : uint8 (n, length), 0..3 for A, G, C, T and 4 for N.
    pwm : (motif length, 4) in A, G, C, T.

    Returns
    -------
    float32 (n, length - motif length + 1): the better of the two strands at each position.
    """
    forward = _log_odds(pwm)
    # the reverse complement of a site matches the PWM read backwards with complemented bases
    # (A<->T, G<->C is code 3 - c in A, G, C, T); N stays N
    reverse = forward[::-1][:, [3, 2, 1, 0, 4]]
    width = codes.shape[1] - len(pwm) + 1
    best = None
    for matrix in (forward, reverse):
        total = np.zeros((codes.shape[0], width), np.float32)
        for j in range(len(pwm)):
            total += matrix[j][codes[:, j:j + width]]
        best = total if best is None else np.maximum(best, total)
    return best


def motif_scan_scores(store, split: str = "test", chunk: int = 2048) -> np.ndarray:
    """Scores (n, targets) of the planted-motif scan on ``split`` of a synthetic store."""
    meta = store.manifest.get("synthetic")
    if not meta:
        raise ValueError(f"{store.path}: not a synthetic store; the scan needs the planted rules")
    rules = meta["rules"]
    jaspar = {m.matrix_id: m for m in load_jaspar(meta["jaspar"]["release"])}
    ids = [m["matrix_id"] for m in rules["motifs"]]
    pwms = [jaspar[i].pwm for i in ids]
    codes_all = store.split(split).codes
    out = np.zeros((codes_all.shape[0], len(rules["targets"])), np.float32)
    for start in range(0, codes_all.shape[0], chunk):
        codes = np.asarray(codes_all[start:start + chunk])
        central, count = {}, {}
        for motif_id, pwm in zip(ids, pwms):
            scores = scan(codes, pwm)
            width = scores.shape[1]
            central[motif_id] = scores[:, CENTRAL.start:min(CENTRAL.stop - len(pwm) + 1, width)].max(axis=1)
            best_possible = best_score(pwm)
            count[motif_id] = (scores > GOOD_MATCH * best_possible).sum(axis=1)
        block = out[start:start + len(codes)]
        for col, target in enumerate(rules["targets"]):
            motifs, rule = target["motifs"], target["rule"].split("+")[0]
            if rule == "single":
                block[:, col] = central[motifs[0]]
            elif rule == "pair":
                block[:, col] = central[motifs[0]] + central[motifs[1]]
            elif rule == "any":
                block[:, col] = np.max([central[m] for m in motifs], axis=0)
            elif rule == "density":
                block[:, col] = np.sum([count[m] for m in motifs], axis=0)
            else:
                raise ValueError(f"target {col}: unknown rule {target['rule']!r}")
    return out


def planted_site_variants(store, split: str = "test", n: int = 20, slot: int = 50,
                          seed: int = 0):
    """Pairs of variants whose effect the synthetic oracle knows, for single-motif TF targets.

    For up to ``n`` (sequence, target) pairs of ``split`` where the oracle gives the target
    over 0.5 and exactly one of the four central ``slot``-bp slots holds a good match of the
    target's motif (log-odds above :data:`GOOD_MATCH` of the best), two variants of one
    slot each, the slot's bases shuffled (same composition):

    - ``break``: the slot with the motif's sites; the rule then sees no site, so the oracle
      falls to the target's baseline, sigmoid(bias);
    - ``control``: another central slot with no good match of the motif; the oracle stays.

    Returns a DataFrame with the sequence index, target column and motif, each variant's
    0-based start, reference and shuffled bases, and ``oracle_ref`` and ``oracle_break``.
    """
    import pandas as pd
    from ..data.motifs import load_jaspar as jaspar_motifs
    from ..data.synthetic import Rules, SyntheticSpec
    meta = store.manifest.get("synthetic")
    if not meta:
        raise ValueError(f"{store.path}: not a synthetic store; variants with a known effect need its rules")
    spec = SyntheticSpec(**meta["spec"])
    rules = Rules(spec, jaspar_motifs(meta["jaspar"]["release"]))
    pwms = {m.matrix_id: m.pwm for m in rules.motifs}
    s = store.split(split)
    n_forward = s.n // 2
    rng = np.random.default_rng(seed)
    rows, used = [], set()
    singles = [(col, t["motifs"][0]) for col, t in enumerate(rules.target_rules)
               if t["class"] == "TF" and t["rule"] == "single"]
    for col, motif in (singles[i] for i in rng.permutation(len(singles))):
        if len(rows) == n:
            break
        if motif in used:
            continue
        hits = np.flatnonzero(np.asarray(s.oracle[:n_forward, col], np.float32) > 0.5)
        pwm = pwms[motif]
        good = GOOD_MATCH * best_score(pwm)
        for i in hits:
            codes = np.asarray(s.codes[i])
            scores = scan(codes[None], pwm)[0]
            slots = [(start, scores[start:start + slot - len(pwm) + 1].max() > good)
                     for start in range(CENTRAL.start, CENTRAL.stop, slot)]
            with_site = [start for start, hit in slots if hit]
            without = [start for start, hit in slots if not hit]
            if len(with_site) != 1 or not without:
                continue
            row = {"sequence": int(i), "target": col, "motif": motif,
                   "oracle_ref": float(s.oracle[i, col]),
                   "oracle_break": float(1 / (1 + np.exp(-rules.bias[col])))}
            for kind, start in (("break", with_site[0]), ("control", int(rng.choice(without)))):
                ref = codes[start:start + slot]
                row |= {f"{kind}_start": int(start), f"{kind}_ref": ref,
                        f"{kind}_alt": rng.permutation(ref)}
            rows.append(row)
            used.add(motif)
            break
    return pd.DataFrame(rows)
