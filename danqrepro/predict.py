"""A trained run applied to new sequences (``danqrepro predict``) and to variants
(``danqrepro variant-effect``, :mod:`danqrepro.variants`).

Every prediction is the mean of the model's probabilities on a sequence and on its
reverse complement, as DeepSEA's and DanQ's test metrics are. Sequences stream from the
FASTA file in batches, so memory is bounded whatever the file's size, and the output is
written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .data.deepsea import N_TARGETS, class_ranges
from .data.fasta import FastaFile
from .sequence import codes_to_one_hot, reverse_complement
from .files import DataError, atomic_file


def target_names(manifest: dict) -> list[str]:
    """Column names for the targets of a store's ``manifest`` (or the copy a run record
    keeps): its own (a FASTA store's labels header); the published DeepSEA features,
    ``cell type|assay|treatment``, for the 919-target DeepSEA layout; ``class:column`` for a
    synthetic store (``TF:125``); else ``target_i``."""
    n_targets = manifest["n_targets"]
    if manifest.get("targets"):
        return list(manifest["targets"])
    if manifest["source"]["kind"] == "synthetic":
        return [f"{cls}:{i}" for cls, columns in class_ranges(n_targets).items() for i in columns]
    if n_targets == N_TARGETS:
        from .evaluate import published_aucs
        table = published_aucs()
        return [f"{c}|{a}|{t}" for c, a, t in table.iloc[:, :3].itertuples(index=False)]
    return [f"target_{i}" for i in range(n_targets)]


def predict_strands(model, x: np.ndarray) -> np.ndarray:
    """Mean probabilities over both strands.

    Parameters
    ----------
    model : a Keras model of (batch, length, 4) -> (batch, targets).
    x : one-hot (n, length, 4), A, G, C, T.

    Returns
    -------
    float32 (n, targets): (model(x) + model(reverse complement of x)) / 2, both strands
    in one call.
    """
    x = np.asarray(x, np.float32)
    from keras.ops import convert_to_numpy
    both = convert_to_numpy(model.predict_on_batch(np.concatenate([x, reverse_complement(x)])))
    return (both[:len(x)] + both[len(x):]) / 2


def _write_table(out: Path, header: list[str], blocks) -> int:
    """Write ``(names, values)`` blocks as tab-separated rows (6 significant digits) under a
    temporary name; return the row count."""
    n, row_format = 0, "\t".join(["%.6g"] * (len(header) - 1)) + "\n"
    with atomic_file(out) as tmp, open(tmp, "w") as f:
        f.write("\t".join(header) + "\n")
        for names, values in blocks:
            # one %-format per row of floats: several times faster than a format per value
            f.writelines(name + "\t" + row_format % tuple(row) for name, row in zip(names, values.tolist()))
            n += len(names)
    return n


def _write_h5(out: Path, targets: list[str], records: list[str], blocks) -> int:
    """Write ``(names, values)`` blocks into HDF5 under a temporary name: ``probabilities``
    float32 (records, targets), ``names`` and ``targets`` as strings; return the row count."""
    import h5py
    n = 0
    with atomic_file(out) as tmp, h5py.File(tmp, "w") as f:
        strings = h5py.string_dtype()
        f.create_dataset("names", data=np.array(records, dtype=object), dtype=strings)
        f.create_dataset("targets", data=np.array(targets, dtype=object), dtype=strings)
        probabilities = f.create_dataset("probabilities", (len(records), len(targets)), "float32")
        for names, values in blocks:
            probabilities[n:n + len(names)] = values
            n += len(names)
    return n


def predict_fasta(model, fasta: str | os.PathLike, out: str | os.PathLike, names: list[str],
                  length: int | None = None, batch: int = 256, progress: bool = True) -> int:
    """Predict every record of a FASTA file into a TSV (``name``, then one column per target,
    6 significant digits) or, for an ``.h5`` path, HDF5 (``probabilities`` float32 (records,
    targets), ``names``, ``targets``), which writes several times faster than text.

    Parameters
    ----------
    model : a Keras model of (batch, L, 4) -> (batch, targets).
    fasta : FASTA file; records must be L bases long, unless ``length`` is given.
    out : the TSV (or ``.h5``) to write.
    names : target names, one per model output.
    length : centre and crop or N-pad records to the model's length L (must equal it).
    batch : records per model call (each call also holds their reverse complements).

    Returns
    -------
    The number of records predicted.
    """
    seq_len = model.input_shape[1]
    if batch < 1:
        raise ValueError(f"batch={batch}: expected a whole number >= 1")
    if len(names) != model.output_shape[-1]:
        raise ValueError(f"{len(names)} target names for a model of {model.output_shape[-1]} outputs")
    if length is not None and length != seq_len:
        raise DataError(f"length={length}: the model takes {seq_len} bp")
    reader = FastaFile(fasta)
    try:
        for name in reader.names:  # every record checked before any prediction
            reader.check(name)
            if length is None and reader.length(name) != seq_len:
                raise DataError(f"{reader.path}: record {name!r} (line {reader.line_of(name)}) has "
                                f"{reader.length(name)} bases, the model takes {seq_len}; pass a "
                                f"length (CLI: --fit) to centre, crop and pad")

        def one_hot(block):
            return codes_to_one_hot(np.stack([reader.codes(n, seq_len) for n in block]))

        def batches():
            # the model runs on one batch (in a thread: TensorFlow releases the GIL) while
            # the next is read and encoded and the last one's rows are formatted
            blocks = [reader.names[i:i + batch] for i in range(0, len(reader.names), batch)]
            bar = tqdm(total=len(reader.names), desc="predict", unit="seq", disable=not progress)
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(predict_strands, model, one_hot(blocks[0]))
                for i, block in enumerate(blocks):
                    values = pending.result()
                    if i + 1 < len(blocks):
                        pending = pool.submit(predict_strands, model, one_hot(blocks[i + 1]))
                    yield block, values
                    bar.update(len(block))
            bar.close()

        if Path(out).suffix in (".h5", ".hdf5"):
            return _write_h5(Path(out), names, reader.names, batches())
        return _write_table(Path(out), ["name", *names], batches())
    finally:
        reader.close()


def predict_run(run_dir: str | os.PathLike, fasta: str | os.PathLike, out: str | os.PathLike,
                fit: bool = False, batch: int = 256, progress: bool = True,
                overwrite: bool = False, allow_unfinished: bool = False) -> int:
    """:func:`predict_fasta` with a finished run's best model and its store's target names;
    ``fit`` centres, crops and pads records to the model's length."""
    from .files import check_output_file, write_json_atomic
    from .runs import identity, load_run_model, run_shape
    check_output_file(out, inputs=(fasta,), keep=(run_dir,), overwrite=overwrite)
    model, record = load_run_model(run_dir, allow_unfinished)
    n = predict_fasta(model, fasta, out, target_names(record["data"]["manifest"]),
                      run_shape(record)[0] if fit else None, batch, progress)
    # which run, and which epoch's weights, made the predictions
    write_json_atomic(Path(out).with_name(Path(out).name + ".run.json"), identity(run_dir, record))
    return n
