"""Run every chapter template through papermill into ``book/chapters/`` (``make reproduce``).

``--seeds N`` renders the dropout chapters from the first N seeds of each arm of the
registered study; ``--seeds finished`` from the runs it has finished, arm by arm
(consecutive seeds from its first at each batch size), and the
positive-control chapter shows a control still training as it stands, so a study part way
renders without training (``make reproduce SEEDS=finished``).
The default, every seed of the preset, trains what is missing.

Each executed notebook is written under a temporary name and renamed, so an interrupted
run never leaves a half-executed chapter in the book; the runs it trained stay cached.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .presets import get_preset
from . import project

# reproducing comes last: its execution table reads the other chapters
CHAPTERS = ("plan", "control", "architecture", "compare", "batchsize", "fulldata", "chipseq", "motifs",
            "own_data", "scorecard", "performance", "reproducing")


def run_chapter(name: str, preset: str, out_dir: Path, runs_dir: str | None = None,
                seeds: int | None = None, finished_only: bool = False,
                runs_from: str | None = None) -> Path:
    import papermill

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the kernel inherits it: no C++ log noise

    root = project.root()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.ipynb"
    tmp = out_dir / f".{name}.partial.ipynb"
    template = root / "notebooks" / f"{name}.ipynb"
    declared = papermill.inspect_notebook(str(template))
    book_chapters = (root / "book" / "chapters").resolve()
    wanted = {"preset": preset, "runs_dir": runs_dir, "finished_only": finished_only or None,
              "runs_from": runs_from,
              # the chapters the reproducing chapter reads; none named for the book's own
              "chapters_dir": None if out_dir.resolve() == book_chapters else str(out_dir)}
    if seeds is not None:
        wanted |= {"n_runs_random": seeds, "n_runs_fixed": seeds}
    parameters = {k: v for k, v in wanted.items() if k in declared and v is not None}
    papermill.execute_notebook(str(template), str(tmp),
                               parameters=parameters, cwd=str(root), progress_bar=False)
    _publishable(tmp, name, preset)
    os.replace(tmp, target)
    return target


def _publishable(path: Path, name: str, preset: str) -> None:
    """Papermill's record without this machine's paths, and the commit the chapter ran at
    (read by the reproducing chapter's execution table)."""
    import nbformat

    from ..provenance import git_commit
    from .project import CODE_PATHSPECS
    nb = nbformat.read(path, as_version=4)
    nb.metadata.papermill.input_path = f"notebooks/{name}.ipynb"
    nb.metadata.papermill.output_path = f"book/chapters/{name}.ipynb"
    nb.metadata.danqrepro = {"preset": preset, **git_commit(project.root(), CODE_PATHSPECS)}
    nbformat.write(nb, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--chapters", nargs="*", default=list(CHAPTERS))
    parser.add_argument("--out", default=None, help="default: book/chapters/ of the checkout")
    parser.add_argument("--seeds", default=None,
                        help="seeds per dropout arm: a number, or 'finished' (default: the preset's)")
    parser.add_argument("--runs-from", choices=("registered", "first"), default=None,
                        help="the dropout arms' study (default: the templates', the registered one)")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds, args.preset)
    for name in args.chapters:
        print(f"running {name} at preset {args.preset}"
              + (f", {seeds} seeds per arm" if seeds is not None else "")
              + (", the finished runs" if args.seeds == "finished" else ""), flush=True)
        run_chapter(name, args.preset, Path(args.out or project.chapters_dir()), seeds=seeds,
                    finished_only=args.seeds == "finished", runs_from=args.runs_from)


def parse_seeds(value: str | None, preset: str) -> int | None:
    """``--seeds``: None, a whole number >= 1, or ``finished`` (None: each chapter takes the
    finished runs; refused while an arm of the study has none)."""
    if value is None:
        return None
    if value == "finished":
        from ..runcache import RunCache
        from . import experiments
        p = get_preset(preset)
        data = experiments.data_path(p)
        cache = RunCache(project.runs_dir())
        for batch in (p.small_batch, p.large_batch):
            try:
                arms = experiments.dropout_arm_runs(p, data, batch, cache, train=False)
            except ValueError as err:
                raise SystemExit(f"--seeds finished: {err}") from None
            finished = {c.dropout for c in cache.finished_prefix(arms)}
            if finished != {"random", "fixed"}:
                raise SystemExit(f"--seeds finished: preset {preset!r} has no finished run of "
                                 f"{' and '.join(sorted({'random', 'fixed'} - finished))} dropout at batch "
                                 f"{batch} yet (train them: danqrepro study --preset {preset})")
        return None
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"--seeds: expected a whole number >= 1 or 'finished', got {value!r}")
    return int(value)


if __name__ == "__main__":
    main()
