"""Your own data: FASTA + labels conversion and prediction, their throughput and peak
memory at two sizes (how they grow), and prediction beside the model's plain
``predict_on_batch`` on the same arrays already in memory.

    python benchmarks/own_data.py [--quick]

Records are 1000 bp with 919 labels (the DeepSEA shape), written as a FASTA of 60-base
lines and a labels TSV. Prediction uses untrained models (speed does not depend on the
weights): ``danq-cpu``, the study's narrow DanQ and the worst case for the overhead, and
``danq``, the published model a user would apply; batch 256, both strands per call. The
plain rate is the same model on the same sequences and their reverse complements, one-hot
in memory, at the same batch: the gap is what reading, checking and encoding the FASTA and
writing the output cost: ``predict`` writes the TSV, ``predict_h5`` float32 HDF5. Each
measurement runs in a fresh process so its peak RSS is its own.
"""

import argparse
import json
import tempfile
from pathlib import Path

from common import run_child, save

CHILD = r"""
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from pathlib import Path
import numpy as np
step, n, d = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
model_name = sys.argv[4] if len(sys.argv) > 4 else None
t = time.perf_counter()
if step == "write":
    rng = np.random.default_rng(0)
    with open(d / "seqs.fa", "w") as f, open(d / "labels.tsv", "w") as g:
        g.write("name\t" + "\t".join(f"t{i}" for i in range(919)) + "\n")
        bases = np.frombuffer(b"ACGT", np.uint8)
        for i in range(n):
            seq = bases[rng.integers(0, 4, 1000)].tobytes().decode()
            f.write(f">chr{1 + i % 22}:{i * 1000}-{i * 1000 + 1000}\n")
            f.writelines(seq[j:j + 60] + "\n" for j in range(0, 1000, 60))
            g.write(f"chr{1 + i % 22}:{i * 1000}-{i * 1000 + 1000}\t"
                    + "\t".join(map(str, (rng.random(919) < 0.05).astype(int))) + "\n")
elif step == "convert":
    from danqrepro.data.fasta import convert_fasta
    convert_fasta(d / "seqs.fa", d / "labels.tsv", d / "store", progress=False, overwrite=True)
elif step in ("predict", "predict_h5", "plain"):
    import keras
    from danqrepro.models import build_model
    from danqrepro.sequence import reverse_complement
    model = build_model(model_name, 1000, 919, seed=0)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (n, 1000))]
    model.predict_on_batch(np.concatenate([x[:256], reverse_complement(x[:256])]))  # warm-up
    if step.startswith("predict"):
        from danqrepro.predict import predict_fasta
        del x
        t = time.perf_counter()
        predict_fasta(model, d / "seqs.fa", d / ("preds.h5" if step == "predict_h5" else "preds.tsv"),
                      [f"t{i}" for i in range(919)], batch=256, progress=False)
    else:
        t = time.perf_counter()
        for s in range(0, n, 256):
            b = x[s:s + 256]
            model.predict_on_batch(np.concatenate([b, reverse_complement(b)]))
seconds = time.perf_counter() - t
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mib": int(hwm.split()[1]) / 1024}))
"""


def child(step, n, d, model=""):
    return run_child(CHILD, step, n, d, model)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*")
    args = parser.parse_args()
    sizes = args.sizes or ([1_000, 4_000] if args.quick else [5_000, 20_000])
    predict_sizes = {"danq-cpu": sizes, "danq": [s // 10 for s in sizes]}
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            child("write", n, d)
            conv = child("convert", n, d)
            rows.append({"step": "convert", "model": "", "records": n,
                         "fasta_mb": (d / "seqs.fa").stat().st_size / 1e6,
                         "labels_mb": (d / "labels.tsv").stat().st_size / 1e6,
                         "seconds": conv["seconds"], "records_s": n / conv["seconds"],
                         "peak_rss_mib": conv["peak_rss_mib"], "plain_records_s": None,
                         "predict_over_plain": None})
    for model, model_sizes in predict_sizes.items():
        for n in model_sizes:
            with tempfile.TemporaryDirectory() as d:
                d = Path(d)
                child("write", n, d)
                plain = child("plain", n, d, model)
                for step in ("predict", "predict_h5"):
                    pred = child(step, n, d, model)
                    rows.append({"step": step, "model": model, "records": n,
                                 "fasta_mb": (d / "seqs.fa").stat().st_size / 1e6, "labels_mb": None,
                                 "seconds": pred["seconds"], "records_s": n / pred["seconds"],
                                 "peak_rss_mib": pred["peak_rss_mib"],
                                 "plain_records_s": n / plain["seconds"],
                                 "predict_over_plain": plain["seconds"] / pred["seconds"]})

    def smallest_to_largest(step, model=""):
        same = [r for r in rows if r["step"] == step and r["model"] == model]
        a, b = same[0], same[-1]
        return {"records_ratio": b["records"] / a["records"], "time_ratio": b["seconds"] / a["seconds"],
                "peak_rss_ratio": b["peak_rss_mib"] / a["peak_rss_mib"]}
    growth = {"convert": smallest_to_largest("convert"),
              **{f"{step} {m}": smallest_to_largest(step, m) for m in predict_sizes
                 for step in ("predict", "predict_h5")}}
    save("own_data", rows, {"growth": growth}, quick=args.quick)
    print("growth from the smaller to the larger size:", json.dumps(growth, indent=1))


if __name__ == "__main__":
    main()
