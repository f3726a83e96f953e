"""Shared by the benchmark scripts: timing, peak memory, results as JSON plus a table."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from danqrepro.provenance import provenance  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
STARTED = provenance()  # what ran: taken when the script starts, not when it saves


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, from /proc/self/status (VmHWM).

    Not ``ru_maxrss``: Linux carries that over an exec, so a child started by a large
    parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def run_child(code: str, *args) -> dict:
    """Run ``code`` in a fresh Python (so its peak RSS is its own) with ``args`` as its
    argv, from the repository root; return the JSON object on its last line of output."""
    import subprocess
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def save(name: str, rows: list[dict], extra: dict | None = None, quick: bool = False) -> Path:
    """Write ``results/<name>.json`` (``results/quick/`` in quick mode, so a quick run
    never replaces the full results the book reads) and print the rows as a table."""
    directory = RESULTS / "quick" if quick else RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    payload = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "provenance": STARTED, "rows": rows, **(extra or {})}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)
    keys = list(rows[0]) if rows else []
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys))
    return path
