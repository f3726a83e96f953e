"""Run every chapter template through papermill into ``book/chapters/`` (``make reproduce``).

Each executed notebook is written under a temporary name and renamed, so an interrupted
run never leaves a half-executed chapter in the book; the runs it trained stay cached.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .report import repo_root

CHAPTERS = ("control", "architecture", "compare", "batchsize", "fulldata", "motifs", "scorecard", "performance")


def run_chapter(name: str, preset: str, out_dir: Path, runs_dir: str | None = None) -> Path:
    import papermill

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the kernel inherits it: no C++ log noise

    root = repo_root()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.ipynb"
    tmp = out_dir / f".{name}.partial.ipynb"
    template = root / "notebooks" / f"{name}.ipynb"
    declared = papermill.inspect_notebook(str(template))
    wanted = {"preset": preset, "runs_dir": runs_dir}
    parameters = {k: v for k, v in wanted.items() if k in declared and v is not None}
    papermill.execute_notebook(str(template), str(tmp),
                               parameters=parameters, cwd=str(root), progress_bar=False)
    os.replace(tmp, target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--chapters", nargs="*", default=list(CHAPTERS))
    parser.add_argument("--out", default=str(repo_root() / "book" / "chapters"))
    args = parser.parse_args(argv)
    for name in args.chapters:
        print(f"running {name} at preset {args.preset}", flush=True)
        run_chapter(name, args.preset, Path(args.out))


if __name__ == "__main__":
    main()
