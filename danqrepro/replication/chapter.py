"""What every chapter template does first: ``ch = chapter.setup(preset, data, runs_dir, ...)``
(or ``chapter.quiet()`` in a chapter that reads no data).

It quiets TensorFlow's start-up lines, silences the warnings a reader must not meet, sets
the book's figure style, checks the papermill parameters, and opens the data and the run
cache the chapter reads.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported in setup(), after the warnings a chapter must not show are off
    from ..data import Store
    from ..runcache import RunCache
    from .presets import Preset


def quiet_tensorflow() -> None:
    """Import TensorFlow and probe its devices with file descriptor 2 pointed at
    /dev/null, so the C++ runtime's start-up lines (absl, oneDNN, CUDA probes), which are
    written there before any Python-level setting can silence them, never reach a
    notebook. Later imports find TensorFlow loaded."""
    from ..backend import prefer_onednn
    prefer_onednn()  # as the CLI trains
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf
        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def silence_known_warnings() -> None:
    """The warnings a chapter is known to raise, each by its category or message: tqdm's
    note that a notebook without ipywidgets gets a text bar, and library deprecations
    (for the project's maintainers, not the book's readers)."""
    warnings.filterwarnings("ignore", message="IProgress not found")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def quiet() -> None:
    """What a chapter that reads no data does first: TensorFlow quiet, known warnings off,
    the book's figure style."""
    from . import plots
    quiet_tensorflow()
    silence_known_warnings()
    plots.use_book_style()


@dataclass
class Chapter:
    """What a chapter reads: its preset, the data path its runs train on, that data's
    store and the run cache."""

    preset: "Preset"
    data: str
    store: "Store"
    runs: "RunCache"

    @property
    def data_label(self) -> str:
        return "synthetic" if self.store.is_synthetic else "DeepSEA"

    def reference_roc(self) -> tuple[str, float]:
        """Who sets the best reachable mean test ROC AUC a chapter's AUCs are read against,
        and that AUC: the generating oracle on synthetic data (on the same test set), the
        published DanQ on DeepSEA's."""
        if self.store.is_synthetic:
            from ..evaluate import oracle_scores
            return "the generating oracle", oracle_scores(self.store)["by_class"]["all"]["roc_mean"]
        from ..evaluate import published_aucs
        return "the published DanQ", float(published_aucs()["DanQ ROC AUC"].mean())

    def reference_sentence(self) -> str:
        """:meth:`reference_roc` as a clause: "the generating oracle reaches 0.964 on the
        same test set"."""
        who, roc = self.reference_roc()
        if self.store.is_synthetic:
            return f"{who} reaches {roc:.3f} on the same test set"
        return f"{who}'s mean is {roc:.3f} on DeepSEA's test set"


def setup(preset: str, data: str | None = None, runs_dir: str | None = None,
          **counts: int | None) -> Chapter:
    """Prepare a chapter: :func:`quiet`; check ``data`` and the whole-number parameters
    ``counts`` (named as the notebook names them) before anything is generated or trained;
    open the data (the preset's synthetic bundle when ``data`` is None) and the run cache
    (``runs/`` of the checkout when ``runs_dir`` is None)."""
    quiet()
    from ..data import resolve_store
    from ..runcache import RunCache
    from . import experiments, project
    from .presets import get_preset
    p = get_preset(preset)
    experiments.check_parameters(data, **counts)
    data_path = experiments.data_path(p, data)
    return Chapter(p, data_path, resolve_store(data_path),
                   RunCache(Path(runs_dir) if runs_dir else project.runs_dir()))
