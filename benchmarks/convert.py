"""Generation of a synthetic train.mat and its conversion: time, MB/s, peak RSS, and how
each grows with N; beside the disk's sequential read speed and the original loader's
approach (h5py reading trainxdata whole). Each measurement runs in a fresh process so
its peak RSS is its own, and train.mat is evicted from the page cache before the disk
read and before the conversion, so both read from the disk.

    python benchmarks/convert.py [--quick] [--sizes N ...] [--dir DIR]

The full size is ``--sizes 4400000`` (17.6 GB of train.mat, about 23 GB of scratch with
the store); the original approach is measured only up to 1M samples (it needs about
4.7 GB per million) and extrapolated beyond.
"""

import argparse
import json
import tempfile
from pathlib import Path

from common import run_child, save

CHILD = r"""
import json, os, sys, time
from pathlib import Path
step, n, d = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
def evict(path):  # drop the file's clean pages from the page cache (no root needed)
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
if step in ("convert", "read_disk"):
    evict(d / "bundle" / "train.mat")
t = time.perf_counter()
if step == "generate":
    from danqrepro.data.synthetic import SyntheticSpec, generate
    generate(d / "bundle", SyntheticSpec(n_train=n, n_valid=2, n_test=2), progress=False, overwrite=True)
elif step == "convert":
    from danqrepro.data.store import convert
    convert(d / "bundle", d / "store", progress=False, overwrite=True)
elif step == "load_whole":  # what DanQ_train.py does: the whole array into memory
    import h5py, numpy as np
    with h5py.File(d / "bundle" / "train.mat", "r") as f:
        x = np.transpose(np.array(f["trainxdata"]), axes=(2, 0, 1))
        y = np.array(f["traindata"]).T
elif step == "read_disk":  # sequential read speed of the same file
    with open(d / "bundle" / "train.mat", "rb") as f:
        while f.read(1 << 24):
            pass
seconds = time.perf_counter() - t
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mib": int(hwm.split()[1]) / 1024}))  # not ru_maxrss: it survives exec
"""


def child(step, n, d):
    return run_child(CHILD, step, n, d)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*")
    parser.add_argument("--dir", default=None, help="scratch directory (needs ~5 GB per 1M samples)")
    args = parser.parse_args()
    sizes = args.sizes or ([20_000, 80_000] if args.quick else [50_000, 200_000, 800_000])
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=args.dir) as d:
            d = Path(d)
            gen = child("generate", n, d)
            mb = (d / "bundle" / "train.mat").stat().st_size / 1e6
            disk = child("read_disk", n, d)
            conv = child("convert", n, d)
            whole = child("load_whole", n, d) if n <= 1_000_000 else None
            rows.append({"n_train": n, "train_mat_mb": mb,
                         "generate_s": gen["seconds"], "generate_rss_mib": gen["peak_rss_mib"],
                         "convert_s": conv["seconds"], "convert_mb_s": mb / conv["seconds"],
                         "disk_read_mb_s": mb / disk["seconds"],
                         "convert_rss_mib": conv["peak_rss_mib"],
                         "load_whole_s": whole and whole["seconds"],
                         "load_whole_rss_mib": whole and whole["peak_rss_mib"]})
    full = 4_400_000
    last = rows[-1]
    whole = [r for r in rows if r["load_whole_rss_mib"]][-1]
    extrapolated = {"n_train": full,
                    "generate_s": last["generate_s"] * full / last["n_train"],
                    "convert_s": last["convert_s"] * full / last["n_train"],
                    "load_whole_rss_gib": whole["load_whole_rss_mib"] * full / whole["n_train"] / 1024}
    save("convert", rows, {"extrapolated_to_4_4M_linear": extrapolated}, quick=args.quick)
    print("extrapolated to 4.4M samples (linear in N):", json.dumps(extrapolated))


if __name__ == "__main__":
    main()
