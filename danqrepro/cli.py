"""``danqrepro``: thin subcommands over the library."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

from .data.synthetic import SyntheticSpec


def _synth(args):
    from .data.synthetic import generate
    spec = SyntheticSpec(n_train=args.n_train, n_valid=args.n_valid, n_test=args.n_test,
                         n_targets=args.n_targets, seed=args.seed)
    print(generate(args.out_dir, spec, overwrite=args.overwrite))


def _convert(args):
    if args.peaks or (args.fasta and args.shuffled_negatives is not None and not args.labels):
        from .data.peaks import convert_peaks
        items = args.peaks or args.fasta
        if len(args.paths) != 1 or (args.peaks and args.fasta):
            raise ValueError("convert --peaks: expected one output directory and either --peaks "
                             "tables or --fasta files of positives (convert --peaks [SPLIT=]TABLE "
                             "... OUT)")
        sources = ({"train": items[0]} if len(items) == 1 and "=" not in items[0] else
                   {k: v[0] for k, v in _assignments(items, "--peaks").items()})
        negatives = 1 if args.shuffled_negatives is None else args.shuffled_negatives
        store = convert_peaks(sources, args.paths[0], shuffled_negatives=negatives,
                              length=args.length, valid_fraction=args.valid_fraction,
                              seed=args.seed, target=args.target, overwrite=args.overwrite)
    elif args.fasta:
        if args.shuffled_negatives is not None:
            raise ValueError("convert --fasta: --shuffled-negatives makes the negatives of a "
                             "FASTA of positives; with --labels the labels say which are which")
        from .data.fasta import convert_fasta
        if len(args.paths) != 1 or not args.labels:
            raise ValueError("convert --fasta: expected --labels LABELS.tsv and one output "
                             "directory (convert --fasta SEQS.fa --labels LABELS.tsv OUT)")
        store = convert_fasta(_fasta_splits(args.fasta), args.labels, args.paths[0],
                              length=args.length, valid_fraction=args.valid_fraction,
                              test_fraction=args.test_fraction,
                              chromosomes=_assignments(args.by_chromosome, "--by-chromosome"),
                              seed=args.seed, overwrite=args.overwrite)
    else:
        from .data.store import convert
        if len(args.paths) != 2:
            raise ValueError("convert: expected BUNDLE_DIR STORE_DIR (or --fasta, --labels and "
                             "one output directory)")
        store = convert(*args.paths, slab=args.slab, overwrite=args.overwrite)
    print(f"{store.path}: fingerprint {store.fingerprint[:16]}")


def _assignments(items: list[str] | None, option: str) -> dict[str, list[str]] | None:
    """``["valid=chr7", "test=chr8,chr9"]`` -> ``{"valid": ["chr7"], "test": ["chr8", "chr9"]}``."""
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"{option} {item!r}: expected SPLIT=VALUE[,VALUE...]")
        out.setdefault(key, []).extend(values.split(","))
    return out


def _fasta_splits(items: list[str]):
    """``--fasta SEQS.fa`` (one file) or ``--fasta train=a.fa --fasta valid=b.fa ...``."""
    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    return {k: v[0] for k, v in _assignments(items, "--fasta").items()}


def _predict(args):
    from .predict import predict_run
    n = predict_run(args.run_dir, args.fasta, args.out, fit=args.fit, batch=args.batch,
                    overwrite=args.overwrite, allow_unfinished=args.allow_unfinished)
    print(f"{args.out}: {n} sequences")


def _variant_effect(args):
    from .variants import variant_effects_run
    summary = variant_effects_run(args.run_dir, args.vcf, args.genome, args.out,
                                  on_mismatch=args.on_mismatch, targets=args.targets,
                                  batch=args.batch, overwrite=args.overwrite,
                                  allow_unfinished=args.allow_unfinished)
    print(json.dumps(summary, indent=1))


def _info(args):
    from .data import class_ranges, is_bundle
    from .data.deepsea import SPLITS, open_mat_split
    from .data.store import MANIFEST, open_store
    path = Path(args.path)
    if (path / MANIFEST).is_file():
        store = open_store(path)
        print(f"store {path} ({store.manifest['source']['kind']}), {store.seq_len} bp, "
              f"{store.n_targets} targets, fingerprint {store.fingerprint[:16]}")
        splits = {name: (s["n"], np.array(s["positive_rate"]))
                  for name, s in store.manifest["splits"].items()}
        classes = store.target_classes or {"all": range(store.n_targets)}
    elif is_bundle(path):
        print(f"bundle {path}")
        splits = {}
        for split in SPLITS:
            if (path / f"{split}.mat").is_file():
                reader = open_mat_split(path / f"{split}.mat", split)
                _, y = reader.read(0, min(reader.n, 20_000))
                splits[split] = (reader.n, y.mean(axis=0))
                reader.close()
        print("(positive rates from the first 20,000 samples of each split)")
        classes = class_ranges(next(iter(splits.values()))[1].size)
    else:
        sys.exit(f"{path}: neither a store nor a DeepSEA bundle")
    for split, (n, rates) in splits.items():
        print(f"{split}: {n:,} samples ({n // 2:,} sequences + reverse complements)")
        for cls, cols in classes.items():
            r = rates[list(cols)]
            print(f"  {cls:8s} {len(cols):4d} targets  positive rate mean {r.mean():.4f} "
                  f"[min {r.min():.4f}, max {r.max():.4f}]")


def _train(args):
    from .train import TrainConfig, train
    config = TrainConfig(data=args.data, model=args.model, dropout=args.dropout,
                         redraw=args.redraw, batch=args.batch, n_train=args.n_train or None,
                         n_valid=args.n_valid, max_epochs=args.max_epochs,
                         patience=args.patience, learning_rate=args.lr, seed=args.seed,
                         optimizer=args.optimizer, output_bias=args.output_bias,
                         evaluate=None if args.no_evaluate else "test",
                         precision=args.precision, jit_compile=args.xla, distribute=args.mirrored,
                         deterministic=not args.nondeterministic, unroll=args.unroll)
    record = train(config, args.out)
    print(json.dumps({k: record.get(k) for k in ("status", "stop_reason", "epochs_trained",
                                                  "best_epoch", "best_val_loss", "test")}, indent=1))


def _evaluate(args):
    from .evaluate import evaluate_run
    from .runs import load_run_model, run_store
    model, record = load_run_model(args.run_dir, args.allow_unfinished)
    store = run_store(record, args.data)
    metrics = evaluate_run(model, store, args.split, args.run_dir)
    print(f"{metrics['n_scored']} targets scored, {metrics['n_skipped']} skipped "
          "(no positive or no negative)")
    for cls, s in metrics["by_class"].items():
        print(f"  {cls:8s} ROC AUC mean {s['roc_mean']:.4f} median {s['roc_median']:.4f}  "
              f"PR AUC mean {s['pr_mean']:.4f} median {s['pr_median']:.4f}")


def _motifs(args):
    from .interpret import analyse_run
    summary = analyse_run(args.run_dir, args.out, n_sequences=args.n_sequences,
                          threshold=args.threshold, data=args.data,
                          allow_unfinished=args.allow_unfinished)
    print(json.dumps(summary, indent=1))


def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic bundle in the DeepSEA layout")
    p.add_argument("out_dir")
    for name in ("n_train", "n_valid", "n_test", "n_targets", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=_default(SyntheticSpec, name))
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_synth)


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="stream a DeepSEA bundle, or FASTA files and labels, "
                                       "into a compact store")
    p.add_argument("paths", nargs="+", metavar="BUNDLE_DIR STORE_DIR | OUT",
                   help="a bundle and the store to write; with --fasta, the store alone")
    p.add_argument("--fasta", action="append", metavar="[SPLIT=]FASTA",
                   help="one FASTA (split by --valid-fraction/--test-fraction or --by-chromosome), "
                        "or one per split: --fasta train=a.fa --fasta valid=b.fa [--fasta test=c.fa]")
    p.add_argument("--labels", help="TSV: sequence name, then one 0/1 column per target")
    p.add_argument("--peaks", action="append", metavar="[SPLIT=]TABLE",
                   help="DeepBind peak tables (FoldID EventID seq Bound, plain or gzipped): one "
                        "(train; valid drawn by --valid-fraction) or one per split")
    p.add_argument("--shuffled-negatives", type=int, default=None, metavar="K",
                   help="dinucleotide shuffles per positive where a source has no negatives "
                        "(--peaks: default 1; --fasta without --labels: a FASTA of positives)")
    p.add_argument("--target", default=None,
                   help="the peaks' target name (default: the table's name up to its first _)")
    p.add_argument("--length", type=int, default=None,
                   help="centre, crop and N-pad sequences to this length (default: all must be equal)")
    p.add_argument("--valid-fraction", type=float, default=0.1)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--by-chromosome", action="append", metavar="SPLIT=CHROM[,CHROM]",
                   help="split one FASTA of chr:start-end records by chromosome, e.g. "
                        "--by-chromosome valid=chr7 --by-chromosome test=chr8,chr9")
    p.add_argument("--seed", type=int, default=0,
                   help="the random split's seed (and the shuffled negatives')")
    p.add_argument("--slab", type=int, default=8192, help="samples read at a time (bundles)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_convert)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="a run's predictions for the sequences of a FASTA file")
    p.add_argument("run_dir")
    p.add_argument("fasta")
    p.add_argument("-o", "--out", required=True,
                   help="TSV (name, then one column per target), or .h5 for float32 HDF5 (faster)")
    p.add_argument("--fit", action="store_true",
                   help="centre, crop and N-pad sequences to the model's length")
    p.add_argument("--batch", type=int, default=256)
    _reads_a_run(p, writes_a_file=True)
    p.set_defaults(func=_predict)


def _add_variant_effect(sub) -> None:
    p = sub.add_parser("variant-effect", help="reference against alternative predictions of VCF variants")
    p.add_argument("run_dir")
    p.add_argument("--vcf", required=True)
    p.add_argument("--genome", required=True, help="reference FASTA the VCF was called on")
    p.add_argument("-o", "--out", required=True,
                   help="TSV, one row per variant allele and target (skipped ones: OUT.skipped.tsv)")
    p.add_argument("--on-mismatch", choices=["skip", "fail"], default="skip",
                   help="a REF that differs from the genome: count and skip, or stop")
    p.add_argument("--targets", nargs="+", default=None, help="only these target names")
    p.add_argument("--batch", type=int, default=128)
    _reads_a_run(p, writes_a_file=True)
    p.set_defaults(func=_variant_effect)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="splits, counts, targets by class, positive rates")
    p.add_argument("path")
    p.set_defaults(func=_info)


def _add_train(sub) -> None:
    from .config import OPTIMIZERS, OUTPUT_BIASES, PRECISIONS, TrainConfig

    def default(name):
        return _default(TrainConfig, name)

    p = sub.add_parser("train", help="train one run (resumes an interrupted one)")
    p.add_argument("--data", required=True, help="store or DeepSEA bundle directory")
    p.add_argument("--model", default=default("model"))
    p.add_argument("--dropout", choices=["fixed", "random"], default=default("dropout"))
    p.add_argument("--redraw", choices=["epoch", "batch"], default=default("redraw"))
    for name in ("batch", "n_valid", "max_epochs", "patience", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=default(name))
    p.add_argument("--n-train", type=int, default=default("n_train"), help="0 for the whole split")
    p.add_argument("--lr", type=float, default=default("learning_rate"))
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=default("optimizer"),
                   help="DanQ's RMSprop, or Adam (not DanQ's)")
    p.add_argument("--output-bias", choices=OUTPUT_BIASES, default=default("output_bias"),
                   help="output biases start at zero (DanQ) or at the label rates' log-odds")
    p.add_argument("--no-evaluate", action="store_true")
    p.add_argument("--precision", choices=PRECISIONS, default=default("precision"),
                   help="mixed precision for GPUs")
    p.add_argument("--xla", action="store_true",
                   help="compile the train step with XLA (needs --nondeterministic)")
    p.add_argument("--nondeterministic", action="store_true",
                   help="leave TensorFlow's op determinism off (faster on some GPUs)")
    p.add_argument("--mirrored", action="store_true",
                   help="MirroredStrategy over all GPUs; --batch is the global batch")
    p.add_argument("--unroll", action="store_true",
                   help="unroll DanQ's LSTM (faster for small models at small batches on a CPU)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_train)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="per-target ROC/PR AUC of a run's best weights")
    p.add_argument("run_dir")
    p.add_argument("--data", default=None, help="a store (default: the run's)")
    p.add_argument("--split", choices=["valid", "test"], default="test")
    _reads_a_run(p)
    p.set_defaults(func=_evaluate)


def _add_motifs(sub) -> None:
    p = sub.add_parser("motifs", help="first-layer filters as PWMs, matched to JASPAR (Tomtom)")
    p.add_argument("run_dir")
    p.add_argument("-o", "--out", required=True, help="directory for filters.tsv and logos")
    p.add_argument("--data", default=None, help="a store (default: the run's)")
    p.add_argument("--n-sequences", type=int, default=2000,
                   help="test sequences (forward strand) the activations are read on")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="a site: activation above this fraction of the filter's maximum")
    _reads_a_run(p)
    p.set_defaults(func=_motifs)


def _reads_a_run(p, writes_a_file: bool = False) -> None:
    """The options of a command that reads a run (and writes a file)."""
    p.add_argument("--allow-unfinished", action="store_true",
                   help="use a run that is still training or unfinished (its best weights so far)")
    if writes_a_file:
        p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def _default(cls, name: str):
    """The default of dataclass ``cls``'s field ``name``: one source for the CLI's defaults."""
    return next(f.default for f in fields(cls) if f.name == name)


# Subcommands of other packages: an entry point in this group names a function that
# takes the subparsers and adds its own (the replication's ``study`` is one).
PLUGIN_GROUP = "danqrepro.commands"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="danqrepro", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_synth, _add_convert, _add_predict, _add_variant_effect, _add_info,
                _add_train, _add_evaluate, _add_motifs):
        add(sub)
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        entry.load()(sub)
    return parser


def main(argv=None):
    from .backend import prefer_onednn
    prefer_onednn()
    args = parser().parse_args(argv)
    from .files import LockedError
    try:
        args.func(args)
    except (ValueError, OSError, LockedError) as err:  # DataError and RefusedError among them
        if args.debug:
            raise
        sys.exit(f"danqrepro {args.command}: error: {_one_line(err)}")


def _one_line(err: BaseException) -> str:
    """The message of an error; for an OSError, its file and reason (e.g. a full or
    read-only disk) rather than a traceback."""
    if isinstance(err, OSError) and err.strerror:
        where = err.filename or "?"
        return f"{where}: {err.strerror} (errno {err.errno}); nothing half-written was kept"
    return str(err)


if __name__ == "__main__":
    main()
