"""Input pipelines over a store: shuffled, batched, one-hot on the fly, prefetched.

Sequences stay one byte per base on the host. On TensorFlow the batches are a ``tf.data``
pipeline whose graph does the one-hot expansion and unpacks the bit-packed labels, so the
host-side work per batch is one gather of ``batch * 1000`` bytes from a memory map. On JAX
and PyTorch they are a ``keras.utils.PyDataset`` that decodes with NumPy
(:func:`decode`); both give identical batches, in the same order.
"""

from __future__ import annotations

import keras
import numpy as np

from ..sequence import codes_to_one_hot
from .store import StoreSplit, n_first

_BIT_SHIFTS = (7, 6, 5, 4, 3, 2, 1, 0)  # np.packbits order


def subset_indices(n: int, n_subset: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a training subset that keeps each sequence with its reverse complement.

    A DeepSEA split holds ``n / 2`` sequences followed by their reverse complements in
    the same order. The subset draws ``n_subset / 2`` of the forward sequences (without
    replacement, from ``seed``) and takes each with its reverse complement, so a subset
    is built exactly as the full set is: every window on both strands. Taking samples
    independently would instead leave about half of the windows on one strand only.

    Parameters
    ----------
    n : size of the split (both strands).
    n_subset : size of the subset (even), or None for the whole split.
    seed : the subset's own seed, so that runs with different training seeds can share it.

    Returns
    -------
    int64 array (n_subset,), sorted.
    """
    if n_subset is None or n_subset >= n:
        return np.arange(n, dtype=np.int64)
    if n_subset < 2 or n_subset % 2:
        raise ValueError(f"n_train={n_subset}: expected an even count >= 2 (sequences and "
                         "their reverse complements stay together)")
    half = n // 2
    forward = np.sort(np.random.default_rng([seed, 7]).choice(half, n_subset // 2, replace=False))
    return np.concatenate([forward, forward + half])


def positive_rates(split: StoreSplit, indices: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Fraction of positive labels per target over ``indices``, read in chunks (bounded
    memory for any split size).

    Returns
    -------
    float64 array (n_targets,).
    """
    totals = np.zeros(split.n_targets, dtype=np.int64)
    for start in range(0, indices.size, chunk):
        totals += split.labels(indices[start:start + chunk]).sum(axis=0, dtype=np.int64)
    return totals / max(indices.size, 1)


def epoch_order(indices: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The order of ``indices`` in ``epoch``: a permutation fixed by ``(seed, epoch)``,
    so an interrupted run replays exactly the same batches after it resumes."""
    return np.random.default_rng([seed, epoch]).permutation(indices)


def decode(codes: np.ndarray, packed: np.ndarray, n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """codes uint8 (b, L), packed labels uint8 (b, ceil(T/8)) -> one-hot float32 (b, L, 4)
    (code 4, N, a zero row) and labels float32 (b, T), in NumPy."""
    x = codes_to_one_hot(codes).astype(np.float32)
    y = np.unpackbits(packed, axis=1)[:, :n_targets].astype(np.float32)
    return x, y


def _tf_decode(codes, packed, n_targets: int):
    """:func:`decode` inside a tf.data graph."""
    import tensorflow as tf
    x = tf.one_hot(tf.cast(codes, tf.int32), 4, dtype=tf.float32)  # code 4 (N) -> zeros
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(packed[..., None], tf.constant(_BIT_SHIFTS, tf.uint8)), 1)
    y = tf.reshape(bits, (tf.shape(packed)[0], -1))[:, :n_targets]
    return x, tf.cast(y, tf.float32)


class Batches(keras.utils.PyDataset):
    """A split's batches as a Keras ``PyDataset`` (the JAX and PyTorch backends' pipeline):
    batch ``i`` is the samples ``index[i]`` of ``split``, decoded by :func:`decode`."""

    def __init__(self, split: StoreSplit, index: list):
        super().__init__(workers=1, use_multiprocessing=False, max_queue_size=2)
        self.split, self.index = split, index

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        rows = self.index[i]
        return decode(np.asarray(self.split.codes[rows]), np.asarray(self.split.labels_packed[rows]),
                      self.split.n_targets)


def _dataset(split: StoreSplit, index: list):
    """Batch ``i`` holds the samples ``index[i]`` of ``split``: a ``tf.data`` pipeline on
    TensorFlow, :class:`Batches` on the other backends."""
    if keras.backend.backend() != "tensorflow":
        return Batches(split, index)
    import tensorflow as tf
    seq_len, packed_width = split.codes.shape[1], split.labels_packed.shape[1]

    def generate():
        for rows in index:
            yield np.asarray(split.codes[rows]), np.asarray(split.labels_packed[rows])

    ds = tf.data.Dataset.from_generator(generate, output_signature=(
        tf.TensorSpec((None, seq_len), tf.uint8), tf.TensorSpec((None, packed_width), tf.uint8)))
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(index)))  # Keras sees the length
    ds = ds.map(lambda c, p: _tf_decode(c, p, split.n_targets)).prefetch(2)
    # Fixed sizes instead of AUTOTUNE: the autotuner's thread sleeps on a doubling
    # period, and deleting the iterator at the end of each fit waited for it to wake
    # (up to several seconds per epoch). Decoding a batch takes well under a step.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def train_batches(indices: np.ndarray, batch: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The samples of each training batch of ``epoch``: :func:`epoch_order` cut into
    ``batch``-sized pieces (the last may be smaller), each sorted for sequential reads."""
    order = epoch_order(indices, seed, epoch)
    return [np.sort(order[start:start + batch]) for start in range(0, order.size, batch)]


def eval_batches(n: int, batch: int, stop: int | None = None) -> list[slice]:
    """Samples ``0:stop`` (:func:`n_first`) of a split of ``n`` in file order, in batches."""
    stop = n_first(n, stop)
    return [slice(start, min(start + batch, stop)) for start in range(0, stop, batch)]


def train_dataset(split: StoreSplit, indices: np.ndarray, batch: int, seed: int, epoch: int):
    """One epoch of shuffled training batches (:func:`train_batches`).

    Parameters
    ----------
    split : the training split of a store.
    indices : the samples to train on (see :func:`subset_indices`).
    batch : batch size; the last batch may be smaller.
    seed, epoch : fix the order (see :func:`epoch_order`).

    Yields
    ------
    x : float32 (batch, length, 4), y : float32 (batch, targets)
    """
    return _dataset(split, train_batches(indices, batch, seed, epoch))


def eval_dataset(split: StoreSplit, batch: int, stop: int | None = None):
    """Samples ``0:stop`` of a split in file order, in batches (for validation and test)."""
    return _dataset(split, eval_batches(split.n, batch, stop))
