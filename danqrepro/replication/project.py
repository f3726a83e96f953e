"""Where the replication's files live: the project's checkout, found from the working
directory (or ``$DANQREPRO_PROJECT``), never from where the package is installed."""

from __future__ import annotations

import os
from pathlib import Path

# what a checkout of the project holds at its top
MARKERS = ("_toc.yml", "notebooks")
# the files that define a chapter's computation (book/ and runs/ change as it runs)
CODE_PATHSPECS = (":/danqrepro", ":/notebooks", ":/pyproject.toml", ":/benchmarks",
                  ":(top,exclude)benchmarks/results")


def root(start: str | os.PathLike | None = None) -> Path:
    """The project's checkout: ``$DANQREPRO_PROJECT``, else the first directory from
    ``start`` (default: the working directory) upwards that holds :data:`MARKERS`."""
    if os.environ.get("DANQREPRO_PROJECT"):
        return Path(os.environ["DANQREPRO_PROJECT"]).resolve()
    here = Path(start or os.getcwd()).resolve()
    for path in (here, *here.parents):
        if all((path / m).exists() for m in MARKERS):
            return path
    raise FileNotFoundError(f"{here}: not inside a danqrepro checkout (no {' and '.join(MARKERS)} "
                            "here or above); run from the checkout or set DANQREPRO_PROJECT")


def runs_dir() -> Path:
    """The run cache the book uses: ``runs/`` of the checkout (run.json and metrics are
    kept in git; weights are not)."""
    return root() / "runs"


def chapters_dir() -> Path:
    return root() / "book" / "chapters"
