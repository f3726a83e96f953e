"""Variant effects: a trained model on the reference and the alternative allele of each
VCF record (``danqrepro variant-effect``), as DeepSEA and Selene report them.

Rules, for a model of input length L:

- The window starts L // 2 bases before the variant's first reference base (VCF POS),
  so a SNV sits at position L // 2 (0-based) of an L-base window of the genome.
- The alternative sequence keeps the same left flank, then the alternative allele, then
  the genome after the reference allele, cut to L bases: an indel shifts only the bases
  to its right, and both sequences are L long.
- A record with several alternative alleles gives one row per allele.
- Skipped, with the reason written to ``<out>.skipped.tsv``: symbolic or missing alleles
  (``<DEL>``, ``*``, ``.``) and alleles with other characters than ACGTN; alleles longer
  than the window's right half; windows that would run past a chromosome end.
- The reference allele is checked against the genome (case-insensitive). A mismatch is
  counted and skipped, or raises with ``on_mismatch="fail"``.
- A chromosome of the VCF that the genome lacks raises before any prediction.

Each probability is the mean over the sequence and its reverse complement
(:func:`danqrepro.predict.predict_strands`). The output has one row per variant allele
and target: reference and alternative probabilities, their difference (alt - ref) and
the log-odds difference, logit(alt) - logit(ref), with probabilities clipped to
[1e-7, 1 - 1e-7].
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .data.fasta import FastaFile
from .sequence import codes_to_one_hot, encode
from .files import DataError, atomic_file
from .predict import predict_strands

EPS = 1e-7
COLUMNS = ["chrom", "pos", "id", "ref", "alt", "target", "ref_prob", "alt_prob", "diff",
           "logodds_diff"]


def _open_vcf(path: Path):
    from cyvcf2 import VCF
    if not path.is_file():
        raise DataError(f"{path}: no such VCF file")
    try:
        return VCF(str(path))
    except (OSError, IOError) as err:
        raise DataError(f"{path}: not a readable VCF ({err})") from err


def windows(record_chrom: str, pos: int, ref: str, alt: str, genome: FastaFile,
            length: int) -> tuple[np.ndarray, np.ndarray] | str:
    """Reference and alternative codes (length,) around a variant, or the reason to skip it.

    ``pos`` is the VCF's 1-based position of the reference allele's first base.
    """
    if alt.startswith("<") or alt in ("*", ".", "") or (encode(alt) > 4).any():
        return "symbolic or missing alternative allele"
    left = length // 2
    if len(alt) > length - left:
        return "allele longer than the window's right half"
    start = pos - 1 - left
    chrom_len = genome.length(record_chrom)
    right_end = pos - 1 + len(ref) + (length - left - len(alt))  # genome end of the alt window
    if start < 0 or max(start + length, right_end) > chrom_len:
        return f"within {left} bp of a chromosome end"
    seq = genome.sequence(record_chrom, start, max(start + length, right_end)).upper()
    if seq[left:left + len(ref)] != ref.upper():
        return "reference mismatch"
    ref_seq = seq[:length]
    alt_seq = (seq[:left] + alt.upper() + seq[left + len(ref):])[:length]
    codes = encode(ref_seq), encode(alt_seq)
    if (codes[0] > 4).any():
        return "genome window holds characters other than ACGTN"
    return codes


def allele_effects(model, ref: np.ndarray, alt: np.ndarray) -> dict[str, np.ndarray]:
    """What each alternative allele does to every target: the in-memory core.

    Parameters
    ----------
    model : Keras model of (batch, L, 4) -> (batch, targets).
    ref, alt : uint8 codes (n, L) of the reference and alternative windows.

    Returns
    -------
    ``ref_prob``, ``alt_prob``, ``diff`` (alt minus ref) and ``logodds_diff``, each float
    (n, targets); probabilities are averaged over both strands and clipped to [EPS, 1 - EPS].
    """
    both = codes_to_one_hot(np.concatenate([ref, alt]))
    p = np.clip(predict_strands(model, both), EPS, 1 - EPS)
    p_ref, p_alt = p[:len(ref)], p[len(ref):]
    logit = lambda q: np.log(q) - np.log1p(-q)  # noqa: E731
    return {"ref_prob": p_ref, "alt_prob": p_alt, "diff": p_alt - p_ref,
            "logodds_diff": logit(p_alt) - logit(p_ref)}


def _check_chromosomes(vcf: Path, reference: FastaFile) -> int:
    """The number of VCF records, once every record's chromosome is known to be in the
    genome (a DataError names the first that is not)."""
    known, n_records = set(reference.names), 0
    for i, v in enumerate(_open_vcf(vcf), start=1):
        n_records += 1
        if v.CHROM not in known:
            raise DataError(f"{vcf}: record {i} ({v.CHROM}:{v.POS}): chromosome {v.CHROM!r} is not "
                            f"in {reference.path} (it has {', '.join(reference.names[:5])}"
                            f"{', ...' if len(reference.names) > 5 else ''})")
    return n_records


def _alleles(vcf: Path, reference: FastaFile, length: int, on_mismatch: str, skipped: list,
             n_records: int, progress: bool):
    """``(chrom, pos, id, ref, alt), (ref_codes, alt_codes)`` of every scorable allele;
    the others are appended to ``skipped`` with their reason."""
    bar = tqdm(total=n_records, desc="variants", unit="rec", disable=not progress)
    for i, v in enumerate(_open_vcf(vcf), start=1):
        for alt in v.ALT or ["."]:
            key = (v.CHROM, v.POS, v.ID or ".", v.REF, alt)
            result = windows(v.CHROM, v.POS, v.REF, alt, reference, length)
            if isinstance(result, str):
                if result == "reference mismatch" and on_mismatch == "fail":
                    raise DataError(f"{vcf}: record {i} ({v.CHROM}:{v.POS}): REF {v.REF!r} "
                                    f"differs from {reference.path}")
                skipped.append((*key, result))
                continue
            yield key, result
        bar.update(1)
    bar.close()


def _batches(items, size: int):
    block = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def variant_effects(model, vcf: str | os.PathLike, genome: str | os.PathLike,
                    out: str | os.PathLike, names: list[str], on_mismatch: str = "skip",
                    targets: list[str] | None = None, batch: int = 128,
                    progress: bool = True) -> dict:
    """Score every VCF record's alleles with ``model`` (:func:`allele_effects`); write the
    effects TSV (``COLUMNS``) and ``<out>.skipped.tsv``.

    Parameters
    ----------
    model : Keras model of (batch, L, 4) -> (batch, targets).
    vcf, genome : the variants (cyvcf2 reads VCF and BCF, plain or bgzipped) and the
        reference FASTA they were called on.
    names : target names, one per model output.
    on_mismatch : ``"skip"`` (count and skip records whose REF differs from the genome)
        or ``"fail"``.
    targets : write only these target names (None: all).
    batch : variant alleles per model call.

    Returns
    -------
    dict: ``scored`` (alleles), ``skipped`` (count by reason), ``records``.
    """
    if on_mismatch not in ("skip", "fail"):
        raise ValueError(f"on_mismatch={on_mismatch!r}: expected 'skip' or 'fail'")
    if batch < 1:
        raise ValueError(f"batch={batch}: expected a whole number >= 1")
    vcf, out = Path(vcf), Path(out)
    columns = list(range(len(names))) if targets is None else [_column(names, t) for t in targets]
    reference = FastaFile(genome)
    skipped: list[tuple] = []
    n = 0
    try:
        n_records = _check_chromosomes(vcf, reference)
        alleles = _alleles(vcf, reference, model.input_shape[1], on_mismatch, skipped, n_records,
                           progress)
        with atomic_file(out) as tmp, open(tmp, "w") as f:
            f.write("\t".join(COLUMNS) + "\n")
            for block in _batches(alleles, batch):
                effects = allele_effects(model, np.stack([c[0] for _, c in block]),
                                         np.stack([c[1] for _, c in block]))
                for i, (key, _) in enumerate(block):
                    chrom, pos, vid, ref_allele, alt_allele = key
                    for c in columns:
                        values = (f"{effects[k][i, c]:.6g}" for k in COLUMNS[6:])
                        f.write("\t".join([chrom, str(pos), vid, ref_allele, alt_allele, names[c],
                                           *values]) + "\n")
                n += len(block)
        with atomic_file(out.with_name(out.name + ".skipped.tsv")) as tmp, open(tmp, "w") as f:
            f.write("chrom\tpos\tid\tref\talt\treason\n")
            f.writelines("\t".join(map(str, r)) + "\n" for r in skipped)
    finally:
        reference.close()
    return {"records": n_records, "scored": n, "skipped": dict(Counter(r[-1] for r in skipped))}


def _column(names: list[str], target: str) -> int:
    if target in names:
        return names.index(target)
    raise DataError(f"target {target!r}: not one of the model's {len(names)} targets "
                    f"(e.g. {', '.join(names[:3])})")


def variant_effects_run(run_dir: str | os.PathLike, vcf, genome, out, overwrite: bool = False,
                        allow_unfinished: bool = False, **kwargs) -> dict:
    """:func:`variant_effects` with a finished run's best model and its target names; the
    run's identity (which epoch's weights) in the returned summary and ``<out>.run.json``."""
    from .files import check_output_file, write_json_atomic
    from .predict import target_names
    from .runs import identity, load_run_model
    skipped = Path(out).with_name(Path(out).name + ".skipped.tsv")
    for path in (out, skipped):
        check_output_file(path, inputs=(vcf, genome), keep=(run_dir,), overwrite=overwrite)
    model, record = load_run_model(run_dir, allow_unfinished)
    summary = variant_effects(model, vcf, genome, out, target_names(record["data"]["manifest"]),
                              **kwargs)
    write_json_atomic(Path(out).with_name(Path(out).name + ".run.json"), identity(run_dir, record))
    return {**summary, **identity(run_dir, record)}
