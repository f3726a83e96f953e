"""A synthetic bundle in the exact DeepSEA layout, driven by real JASPAR motifs.

The generator plants motifs sampled from JASPAR CORE vertebrate PWMs into a GC-41%
random background and labels each target by a rule with its own noise:

- **TF-like** targets respond to their motif anywhere in the central 200 bp (the
  DeepSEA bin). About 40% respond strongly only when a *partner* motif follows at a
  fixed gap and orientation (a grammar one convolution filter cannot see) and weakly to
  the first motif alone.
- **DNase-like** targets respond to any of a set of four motifs in the central 200 bp.
- **Histone-like** targets respond to the density of one motif group across the whole
  1000 bp (the flanks included).

Knobs of :class:`SyntheticSpec` that make the planted signal easier to learn, all off at
their defaults (which give exactly the bundles of the first version): ``copies`` plants a
homotypic cluster of 2-3 sites of a single central motif in its slot; ``site_sharpness``
draws planted sites from the PWM raised to that power (the same consensus, fewer weak
sites); ``flank_fill`` sets how often flank slots carry density motifs, which are also the
central motifs of other targets; ``gc_sd`` lets the background GC content vary by sequence
and makes it a feature of the DNase and histone targets.

Each label is drawn from ``p = sigmoid(bias + F @ W)``, where ``F`` holds the planted
features of a sample; ``p`` is the *oracle* and is written beside the labels
(``oracle.h5``), so a model's AUC can be put next to the best achievable one. Background
rates are low enough that about 10% of samples have no positive label.

Everything is deterministic from the seed: the rules from ``(seed, 0)``, each chunk of
:data:`CHUNK` forward samples from ``(seed, split, chunk)``. The train split is written
chunk by chunk (bounded memory, any N); valid and test are written whole with
``scipy.io.savemat``, as MATLAB v5, as in the real bundle.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy.io
from tqdm.auto import tqdm

from ..sequence import codes_to_one_hot, reverse_complement_codes
from .deepsea import SEQ_LEN, class_ranges
from .motifs import JASPAR_RELEASE, Motif, load_jaspar, select_motifs
from ..files import DataError, Marker, atomic_directory, read_json, reserve, write_json_atomic
from .store import ORACLE_FILE, SYNTHETIC_META

# 2 added the learnability knobs (copies, site_sharpness, flank_fill, gc_sd); at their
# defaults a version-2 bundle holds exactly the arrays of version 1.
GENERATOR_VERSION = 2
CHUNK = 4096  # forward samples per generated chunk; part of the definition of a bundle
SLOT = 50  # bp per planting slot
BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])  # A, G, C, T: 41% GC
MATLAB_USERBLOCK = 512


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes count both strands (a split of n holds n/2 sequences and their RCs)."""

    n_train: int = 60_000
    n_valid: int = 4_000
    n_test: int = 8_000
    n_targets: int = 919
    seed: int = 0
    n_motifs: int = 96
    n_pairs: int = 24
    n_density_groups: int = 8
    pair_target_fraction: float = 0.4
    empty_fraction: float = 0.08
    slot_fill: float = 0.45
    pair_fill: float = 0.3
    min_information: float = 8.0  # bits: weaker motifs hide in the background
    copies: int = 1  # sites per filled central single-motif slot (a homotypic cluster)
    flank_fill: float = 0.6  # highest chance that a flank slot carries a density motif
    site_sharpness: float = 1.0  # planted sites drawn from pwm ** sharpness (renormalised)
    gc_sd: float = 0.0  # spread of the per-sequence background GC content (0: fixed 41%)
    jaspar_release: str = JASPAR_RELEASE

    def sizes(self) -> dict[str, int]:
        return {"train": self.n_train, "valid": self.n_valid, "test": self.n_test}

    def validate(self) -> None:
        for split, n in self.sizes().items():
            if n < 2 or n % 2:
                raise ValueError(f"n_{split}={n}: expected an even count >= 2 "
                                 "(forward strand, then the reverse complements)")
        if self.n_targets < 3:
            raise ValueError(f"n_targets={self.n_targets}: expected at least 3 (one per class)")
        if not 1 <= self.copies <= 3:
            raise ValueError(f"copies={self.copies}: expected 1, 2 or 3 sites per slot")
        if self.site_sharpness <= 0 or self.gc_sd < 0 or not 0 <= self.flank_fill <= 1:
            raise ValueError(f"site_sharpness={self.site_sharpness} (expected > 0), gc_sd="
                             f"{self.gc_sd} (expected >= 0), flank_fill={self.flank_fill} "
                             "(expected in [0, 1])")


@dataclass(frozen=True)
class OrderSpec:
    """Order rules, added to a bundle for the C1 benchmark (off unless given).

    An order rule is a pair of motifs (A, B) planted in two flank slots whose starts lie
    ``spacing`` bp apart (beyond a CNN's receptive field), both on the forward strand, in
    either order with equal chance: co-occurrence says nothing, only the order (A before B)
    drives the rule's targets. ``n_targets`` of the TF targets (the last single-motif ones)
    follow an order rule instead of their motif. A sample holds at most one order instance
    (with chance ``fill``), its sites replacing flank slots' density motifs (and counting
    towards a density group they belong to, as a flank motif does)."""

    n_rules: int = 8
    n_targets: int = 96
    spacing: tuple[int, int] = (100, 600)
    fill: float = 0.5

    def validate(self, spec: SyntheticSpec) -> None:
        low, high = self.spacing
        if not (self.n_rules >= 1 and self.n_targets >= 1 and 0 < self.fill <= 1
                and SLOT <= low <= high <= SEQ_LEN - SLOT):
            raise ValueError(f"{self}: expected n_rules and n_targets >= 1, fill in (0, 1] "
                             f"and {SLOT} <= spacing low <= high <= {SEQ_LEN - SLOT}")
        n_singles = len(class_ranges(spec.n_targets)["TF"]) - round(
            len(class_ranges(spec.n_targets)["TF"]) * spec.pair_target_fraction)
        if self.n_targets > n_singles:
            raise ValueError(f"n_targets={self.n_targets}: at most the {n_singles} "
                             "single-motif TF targets can follow an order rule")


class Rules:
    """The generating rules of a bundle: motifs, features and the target weights.

    Features of a sample, in column order of ``F``: central presence of each motif (K),
    presence of each motif pair at its gap (P), DNase any-of-set indicators (one per
    DNase target), flank+central counts of each density group (G) and, when
    ``spec.gc_sd > 0``, the standardised background GC content of the sequence (1), which
    then also drives the DNase and histone targets (as real open chromatin and marks
    follow GC and CpG content).
    """

    def __init__(self, spec: SyntheticSpec, motifs: list[Motif], order: OrderSpec | None = None):
        rng = np.random.default_rng([spec.seed, 0])
        self.spec, self.order = spec, order
        k, p, g = spec.n_motifs, spec.n_pairs, spec.n_density_groups
        self.motifs = select_motifs(motifs, k, rng, max_length=min(16, SLOT // spec.copies),
                                    min_information=spec.min_information)
        # planted sites follow the PWM sharpened: the same consensus, fewer weak sites
        self.site_motifs = [m.sharpened(spec.site_sharpness) for m in self.motifs]
        self.pairs = [(int(a), int(b), int(gap)) for a, b, gap in zip(
            rng.choice(k, p, replace=False), rng.choice(k, p, replace=False),
            rng.integers(2, 9, p))]
        self.groups = rng.choice(k, size=(g, 6), replace=False if g * 6 <= k else True)
        ranges = class_ranges(spec.n_targets)
        n_dnase = len(ranges["DNase"])
        self.dnase_sets = np.stack([rng.choice(k, 4, replace=False) for _ in range(n_dnase)])
        self.n_features = k + p + n_dnase + g + (spec.gc_sd > 0)
        gc_column = self.n_features - 1
        t = spec.n_targets
        self.weights = np.zeros((self.n_features, t), np.float32)
        self.bias = np.zeros(t, np.float32)
        self.target_rules = []
        for col in ranges["DNase"]:
            i = col - ranges["DNase"].start
            self.bias[col] = rng.uniform(-9.5, -7.5)
            self.weights[k + p + i, col] = rng.uniform(7.0, 9.5)
            if spec.gc_sd > 0:
                self.weights[gc_column, col] = rng.uniform(0.5, 1.0)
            self.target_rules.append({"class": "DNase", "rule": "any+gc" if spec.gc_sd > 0 else "any",
                                      "motifs": [self.motifs[m].matrix_id for m in self.dnase_sets[i]]})
        tf_cols = list(ranges["TF"])
        n_pair_targets = round(len(tf_cols) * spec.pair_target_fraction)
        for j, col in enumerate(tf_cols):
            self.bias[col] = rng.uniform(-9.5, -7.5)
            if j < n_pair_targets:
                a, b, gap = self.pairs[j % p]
                self.weights[k + j % p, col] = rng.uniform(8.5, 11.0)
                self.weights[a, col] = rng.uniform(1.0, 2.5)
                self.target_rules.append({"class": "TF", "rule": "pair", "gap": gap,
                                          "motifs": [self.motifs[a].matrix_id, self.motifs[b].matrix_id]})
            else:
                m = (j - n_pair_targets) % k
                self.weights[m, col] = rng.uniform(8.0, 10.5)
                self.target_rules.append({"class": "TF", "rule": "single",
                                          "motifs": [self.motifs[m].matrix_id]})
        for col in ranges["histone"]:
            grp = (col - ranges["histone"].start) % g
            self.bias[col] = rng.uniform(-9.0, -7.5)
            self.weights[k + p + n_dnase + grp, col] = rng.uniform(0.9, 1.4)
            if spec.gc_sd > 0:
                self.weights[gc_column, col] = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
            self.target_rules.append({"class": "histone",
                                      "rule": "density+gc" if spec.gc_sd > 0 else "density",
                                      "group": int(grp),
                                      "motifs": [self.motifs[m].matrix_id for m in self.groups[grp]]})
        self.membership = np.zeros((k, g), np.float32)  # motif -> density group
        for grp, members in enumerate(self.groups):
            self.membership[members, grp] = 1
        self.dnase_matrix = np.zeros((k, n_dnase), np.float32)
        for i, members in enumerate(self.dnase_sets):
            self.dnase_matrix[members, i] = 1
        if order is not None:
            self._add_order_rules(order, tf_cols[-order.n_targets:])

    def _add_order_rules(self, order: OrderSpec, columns: list[int]) -> None:
        """Turn ``columns`` into order targets: features ``ordered`` (R) and ``reversed`` (R)
        join ``F`` after the others, the targets weigh only their rule's ``ordered``. Drawn
        from their own stream, so the other rules are those of the bundle without them."""
        order.validate(self.spec)
        rng = np.random.default_rng([self.spec.seed, 0, 1])
        k, r = self.spec.n_motifs, order.n_rules
        self.order_rules = [(int(a), int(b)) for a, b in
                            (rng.choice(k, 2, replace=False) for _ in range(r))]
        first_order = self.n_features
        self.n_features += 2 * r
        self.weights = np.concatenate([self.weights, np.zeros((2 * r, self.spec.n_targets),
                                                              np.float32)])
        for i, col in enumerate(columns):
            rule = i % r
            a, b = self.order_rules[rule]
            self.weights[:first_order, col] = 0
            self.weights[first_order + rule, col] = rng.uniform(8.0, 10.5)
            self.target_rules[col] = {"class": "TF", "rule": "order", "order_rule": rule,
                                      "motifs": [self.motifs[a].matrix_id, self.motifs[b].matrix_id]}
        # flank slot pairs whose starts are spacing apart: where an instance may sit
        central_start = SEQ_LEN // 2 - 100
        flanks = [s for s in range(0, SEQ_LEN, SLOT) if not central_start <= s < central_start + 200]
        low, high = order.spacing
        self.order_slots = np.array([(i, j) for i, s in enumerate(flanks)
                                     for j, t in enumerate(flanks) if low <= t - s <= high])

    def describe(self) -> dict:
        return {
            "motifs": [{"matrix_id": m.matrix_id, "name": m.name, "length": m.length,
                        "information_bits": round(m.information_content(), 2)}
                       for m in self.motifs],
            "pairs": [{"first": self.motifs[a].matrix_id, "second": self.motifs[b].matrix_id,
                       "gap": gap} for a, b, gap in self.pairs],
            "density_groups": [[self.motifs[m].matrix_id for m in grp] for grp in self.groups],
            "targets": self.target_rules,
        } | ({"order": {**asdict(self.order), "rules": [
            {"first": self.motifs[a].matrix_id, "second": self.motifs[b].matrix_id}
            for a, b in self.order_rules]}} if self.order else {})

    # -- sample generation -------------------------------------------------------

    def _plant(self, codes, rng, rows_mask, motif_index, starts, max_span):
        """Write one sampled site of ``motif_index[r]`` at ``starts[r]`` + a random offset,
        on a random strand."""
        k_all = motif_index[rows_mask]
        rows_all = np.flatnonzero(rows_mask)
        offsets_u = rng.random(rows_all.size)
        orient = rng.random(rows_all.size) < 0.5
        for k in np.unique(k_all):
            sel = k_all == k
            rows = rows_all[sel]
            motif = self.site_motifs[k]
            sites = motif.sample(rng, rows.size)
            flip = orient[sel]
            sites[flip] = 3 - sites[flip, ::-1]
            offset = (offsets_u[sel] * (max_span - motif.length + 1)).astype(np.int64)
            pos = starts[rows] + offset
            codes[rows[:, None], pos[:, None] + np.arange(motif.length)] = sites

    def _background(self, rng, m):
        """Codes (m, 1000) of an i.i.d. background, and its standardised GC content (m,):
        41% GC everywhere, or per sequence ``41% + gc_sd * z`` with ``z ~ N(0, 1)`` clipped
        at 3."""
        if self.spec.gc_sd == 0:
            codes = (rng.random((m, SEQ_LEN, 1)) > BACKGROUND.cumsum()[:3]).sum(axis=2)
            return codes.astype(np.uint8), np.zeros(m, np.float32)
        gc_z = rng.standard_normal(m).clip(-3, 3)
        gc = BACKGROUND[1:3].sum() + self.spec.gc_sd * gc_z
        probs = np.stack([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], axis=1)  # A, G, C, T
        codes = (rng.random((m, SEQ_LEN, 1)) > probs.cumsum(axis=1)[:, None, :3]).sum(axis=2)
        return codes.astype(np.uint8), gc_z.astype(np.float32)

    def sample(self, rng: np.random.Generator, m: int):
        """``m`` forward samples: codes uint8 (m, 1000), labels uint8 (m, T), oracle float32 (m, T)."""
        return self.sample_with_cooccurrence(rng, m)[:3]

    def sample_with_cooccurrence(self, rng: np.random.Generator, m: int):
        """:meth:`sample`, and the co-occurrence oracle float32 (m, T): the oracle of a
        reader that sees which motifs an order instance holds but not their order (the
        mean over both orders; equal to the oracle where there are no order rules)."""
        spec, k, p = self.spec, self.spec.n_motifs, self.spec.n_pairs
        codes, gc_z = self._background(rng, m)
        empty = rng.random(m) < spec.empty_fraction
        central = np.zeros((m, k), np.float32)
        paired = np.zeros((m, p), np.float32)
        central_start = SEQ_LEN // 2 - 100
        site_span = SLOT // spec.copies
        for slot in range(200 // SLOT):
            starts = np.full(m, central_start + slot * SLOT)
            filled = ~empty & (rng.random(m) < spec.slot_fill)
            is_pair = filled & (rng.random(m) < spec.pair_fill)
            single = filled & ~is_pair
            motif_index = rng.integers(k, size=m)
            for copy in range(spec.copies):  # a homotypic cluster: one site per sub-slot
                self._plant(codes, rng, single, motif_index, starts + copy * site_span, site_span)
            central[single, motif_index[single]] = 1
            pair_index = rng.integers(p, size=m)
            for j in np.unique(pair_index[is_pair]):
                rows = np.flatnonzero(is_pair & (pair_index == j))
                a, b, gap = self.pairs[j]
                la, lb = self.motifs[a].length, self.motifs[b].length
                offset = (rng.random(rows.size) * (SLOT - la - gap - lb + 1)).astype(np.int64)
                pos = starts[rows] + offset
                codes[rows[:, None], pos[:, None] + np.arange(la)] = self.site_motifs[a].sample(rng, rows.size)
                pos_b = pos + la + gap
                codes[rows[:, None], pos_b[:, None] + np.arange(lb)] = self.site_motifs[b].sample(rng, rows.size)
                paired[rows, j] = 1
                central[rows, a] = 1
                central[rows, b] = 1
        density = central @ self.membership
        group = rng.integers(spec.n_density_groups, size=m)
        level = rng.random(m)
        flank_starts = [s for s in range(0, SEQ_LEN, SLOT)
                        if not central_start <= s < central_start + 200]
        reserved = np.zeros((m, len(flank_starts)), bool)  # flank slots an order instance holds
        if self.order is not None:
            ordered, reversed_, reserved, motif_counts = self._plant_order(codes, rng, empty, flank_starts)
            density += motif_counts @ self.membership
        for slot, start in enumerate(flank_starts):
            filled = ~empty & (rng.random(m) < spec.flank_fill * level) & ~reserved[:, slot]
            motif_index = self.groups[group, rng.integers(self.groups.shape[1], size=m)]
            self._plant(codes, rng, filled, motif_index, np.full(m, start), SLOT)
            np.add.at(density, (np.flatnonzero(filled), group[filled]), 1)
        dnase = (central @ self.dnase_matrix > 0).astype(np.float32)
        parts = [central, paired, dnase, density] + ([gc_z[:, None]] if spec.gc_sd > 0 else [])
        features = np.concatenate(parts + ([ordered, reversed_] if self.order else []), axis=1)
        oracle = 1 / (1 + np.exp(-(features @ self.weights + self.bias)))
        labels = (rng.random(oracle.shape) < oracle).astype(np.uint8)
        cooccurrence = oracle
        if self.order is not None:  # the same instance in the other order, averaged in
            swapped = np.concatenate(parts + [reversed_, ordered], axis=1)
            cooccurrence = (oracle + 1 / (1 + np.exp(-(swapped @ self.weights + self.bias)))) / 2
        return codes, labels, oracle.astype(np.float32), cooccurrence.astype(np.float32)

    def _plant_order(self, codes, rng, empty, flank_starts):
        """Plant at most one order instance per sample (see :class:`OrderSpec`). Returns
        ``ordered`` and ``reversed`` (m, R) indicators, the flank slots taken (m, slots)
        and the motifs planted (m, K) counts."""
        m, r, k = codes.shape[0], self.order.n_rules, self.spec.n_motifs
        has = ~empty & (rng.random(m) < self.order.fill)
        rule = rng.integers(r, size=m)
        a_first = rng.random(m) < 0.5
        slots = self.order_slots[rng.integers(len(self.order_slots), size=m)]  # (m, 2)
        ordered, reversed_ = np.zeros((m, r), np.float32), np.zeros((m, r), np.float32)
        reserved = np.zeros((m, len(flank_starts)), bool)
        counts = np.zeros((m, k), np.float32)
        starts = np.asarray(flank_starts)
        for j, (a, b) in enumerate(self.order_rules):
            for forward, first_second, indicator in ((True, (a, b), ordered), (False, (b, a), reversed_)):
                rows = np.flatnonzero(has & (rule == j) & (a_first == forward))
                for which, motif in enumerate(first_second):
                    site = self.site_motifs[motif]
                    offset = (rng.random(rows.size) * (SLOT - site.length + 1)).astype(np.int64)
                    pos = starts[slots[rows, which]] + offset
                    codes[rows[:, None], pos[:, None] + np.arange(site.length)] = site.sample(rng, rows.size)
                    reserved[rows, slots[rows, which]] = True
                    counts[rows, motif] += 1
                indicator[rows, j] = 1
        return ordered, reversed_, reserved, counts



def _matlab_header() -> bytes:
    text = (f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: "
            f"{time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(0))} HDF5 schema 1.00 .")
    header = text.encode().ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    return header.ljust(MATLAB_USERBLOCK, b"\x00")


def _create_allocated(path: Path, datasets: dict[str, tuple[tuple, str]],
                      userblock_size: int = 0) -> h5py.File:
    """Create an HDF5 file for the datasets (name: (shape, dtype)) and back it with the disk
    blocks their data will need (:func:`reserve`) before a byte of data is written: a full
    disk fails here, in Python, naming the file, rather than inside HDF5, whose close after a
    failed write can crash the interpreter. Returns it open for writing."""
    with h5py.File(path, "w", userblock_size=userblock_size) as f:
        for name, (shape, dtype) in datasets.items():
            ds = f.create_dataset(name, shape=shape, dtype=dtype)
            if userblock_size:  # a MATLAB v7.3 file: each variable carries its class
                ds.attrs["MATLAB_class"] = np.bytes_(np.dtype(dtype).name)
    if userblock_size:
        with open(path, "r+b") as raw:
            raw.write(_matlab_header())
    # HDF5 places the data past the metadata written so far: from the file's end on
    reserve(path, path.stat().st_size + sum(int(np.prod(shape)) * np.dtype(dtype).itemsize
                                            for shape, dtype in datasets.values()))
    return h5py.File(path, "r+")


def create_mat73(path: Path, datasets: dict[str, tuple[tuple, str]]) -> h5py.File:
    """An HDF5 file laid out as MATLAB v7.3 writes it: a 512-byte user block carrying
    MATLAB's text header, and a ``MATLAB_class`` attribute on each variable."""
    return _create_allocated(path, datasets, userblock_size=MATLAB_USERBLOCK)


def generate(out_dir: str | os.PathLike, spec: SyntheticSpec = SyntheticSpec(),
             progress: bool = True, overwrite: bool = False, order: OrderSpec | None = None) -> Path:
    """Write a synthetic bundle (train.mat, valid.mat, test.mat, oracle.h5, synthetic.json).

    The bundle is written to a temporary directory and renamed into place at the end.
    An existing bundle with the same spec (and ``order``) is reused; one with another
    raises unless ``overwrite``. With ``order`` (:class:`OrderSpec`), ``oracle.h5`` also
    holds the co-occurrence oracle of each split (``cooccurrence_<split>``).

    Returns
    -------
    Path of the bundle.
    """
    spec.validate()
    out = Path(out_dir)
    meta_path = out / SYNTHETIC_META
    if meta_path.is_file() and not overwrite:
        held = read_json(meta_path, "synthetic bundle description")
        if not isinstance(held, dict) or "spec" not in held:
            raise DataError(f"{meta_path}: not a danqrepro synthetic bundle description (no "
                            "'spec'); choose another directory, or pass --overwrite to replace it")
        as_json = json.loads(json.dumps(order and asdict(order)))  # tuples read back as lists
        if held["spec"] == asdict(spec) and held.get("order") == as_json:
            return out
        raise FileExistsError(f"{out}: a synthetic bundle with another spec exists; "
                              "pass overwrite=True (CLI: --overwrite) to replace it")
    rules = Rules(spec, load_jaspar(spec.jaspar_release), order)
    started = time.time()
    with atomic_directory(out, (Marker(SYNTHETIC_META, "generator_version"),), overwrite) as tmp:
        oracle_shapes = {name: ((n, spec.n_targets), "float16") for split, n in spec.sizes().items()
                         for name in ([split] + ([f"cooccurrence_{split}"] if order else []))}
        with _create_allocated(tmp / ORACLE_FILE, oracle_shapes) as oracle_file:
            for split_id, (split, n) in enumerate(spec.sizes().items()):
                _write_split(tmp, split, split_id, n, spec, rules, oracle_file, progress)
        write_json_atomic(tmp / SYNTHETIC_META, {
            "generator_version": GENERATOR_VERSION,
            "spec": asdict(spec),
            **({"order": asdict(order)} if order else {}),
            "jaspar": {"release": spec.jaspar_release, "collection": "CORE",
                       "tax_group": "vertebrates"},
            "rules": rules.describe(),
            "seconds": round(time.time() - started, 2),
        })
    return out


def _write_split(tmp, split, split_id, n, spec, rules, oracle_file, progress):
    if split == "train":  # MATLAB v7.3 / HDF5, filled slab by slab along the sample axis
        with create_mat73(tmp / "train.mat", {"trainxdata": ((SEQ_LEN, 4, n), "uint8"),
                                              "traindata": ((spec.n_targets, n), "uint8")}) as f:
            xs, ys = f["trainxdata"], f["traindata"]
            for a, b, x, labels in _samples(split, split_id, n, spec, rules, oracle_file, progress):
                xs[:, :, a:b] = x.transpose(1, 2, 0)
                ys[:, a:b] = labels.T
        return
    x_all = np.empty((n, 4, SEQ_LEN), np.uint8)
    y_all = np.empty((n, spec.n_targets), np.uint8)
    for a, b, x, labels in _samples(split, split_id, n, spec, rules, oracle_file, progress):
        x_all[a:b] = x.transpose(0, 2, 1)
        y_all[a:b] = labels
    scipy.io.savemat(tmp / f"{split}.mat", {f"{split}xdata": x_all, f"{split}data": y_all},
                     format="5", do_compression=False)


def _samples(split, split_id, n, spec, rules, oracle_file, progress):
    """Yield ``(a, b, one_hot (m, L, 4), labels (m, T))`` for the split's rows ``a:b``, chunk
    by chunk (the forward half, then its reverse complements), writing the oracles' rows."""
    half = n // 2
    oracle_ds, cooccurrence_ds = oracle_file[split], oracle_file.get(f"cooccurrence_{split}")
    bar = tqdm(total=n, desc=f"synth {split}", unit="seq", unit_scale=True, disable=not progress)
    for chunk, start in enumerate(range(0, half, CHUNK)):
        m = min(CHUNK, half - start)
        codes, labels, oracle, cooccurrence = rules.sample_with_cooccurrence(
            np.random.default_rng([spec.seed, 1 + split_id, chunk]), m)
        for offset, c in ((0, codes), (half, reverse_complement_codes(codes))):
            a, b = offset + start, offset + start + m
            oracle_ds[a:b] = oracle
            if cooccurrence_ds is not None:
                cooccurrence_ds[a:b] = cooccurrence
            yield a, b, codes_to_one_hot(c), labels
        bar.update(2 * m)
    bar.close()
