"""The named scales every entry point reads: ``smoke``, ``cpu``, ``paper``, ``full``.

A preset fixes the synthetic bundle (used when no data path is given), the models, the
training subset, the stopping rule, the optimiser, the number of seeds per arm and the two
batch sizes.

The ``cpu`` preset is the one the book is built from. Its synthetic benchmark turns on
the generator's learnability knobs (16 motifs of at least 10 bits, homotypic clusters of
3 sites, sites from the PWM squared, fewer flank decoys, per-sequence GC content). Its
models are DanQ and DeepSEA's CNN with 1/10 of the published convolution widths, DanQ's
LSTM at 1/20 and the published dense width (``danq-cpu``, ``deepsea-cpu``: 3.1M and 5.6M
parameters), so that the paper's 20 runs per batch size train on a 2-core machine. They
train with Adam from output biases set to the label rates' log-odds: in exploratory runs of a
few epochs on this benchmark DanQ's RMSprop from zero biases stayed near the label rates, and
Adam from zero biases did at batch 1000; the study's optimiser control
(:func:`danqrepro.experiments.optimizer_control`) trains DanQ as published to its stop. The
dropout arms use one learning rate for both batch sizes, as the paper did: 3e-3, at which
DanQ's batch-1000 runs stop early (at 1e-3 all three fixed-dropout seeds reached the 60-epoch
cap still improving). The C1 comparison of DanQ and the CNN trains both at 1e-3
(``comparison_learning_rate``), where the CNN learns. The ``paper`` preset keeps DanQ's
RMSprop and zero biases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..data.synthetic import OrderSpec, SyntheticSpec
from .plan import PLAN, Plan


@dataclass(frozen=True)
class Preset:
    name: str
    synthetic: SyntheticSpec
    model: str
    baseline: str
    n_train: int | None
    n_valid: int | None
    max_epochs: int
    patience: int
    n_runs_random: int
    n_runs_fixed: int
    small_batch: int
    large_batch: int
    full_max_epochs: int
    description: str
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3
    output_bias: str = "zero"
    # the rate of C1's DanQ-against-CNN runs (None: ``learning_rate``)
    comparison_learning_rate: float | None = None
    # the registered study's plan at this scale (the smoke preset's is a miniature)
    plan: Plan = field(default=PLAN, repr=False)

    @property
    def c1_learning_rate(self) -> float:
        """The rate C1's DanQ and CNN train at: ``comparison_learning_rate`` where set."""
        return self.comparison_learning_rate or self.learning_rate

    def recipe(self, **changes) -> dict:
        """The training settings of the preset's dropout arms as :class:`TrainConfig`
        fields (``changes`` replace some): the one place a preset becomes a run."""
        return dict(model=self.model, n_train=self.n_train, n_valid=self.n_valid,
                    max_epochs=self.max_epochs, patience=self.patience, optimizer=self.optimizer,
                    learning_rate=self.learning_rate, output_bias=self.output_bias) | changes

    def to_dict(self) -> dict:
        return asdict(self)


# C1's benchmark: the cpu benchmark with order rules beyond the CNN's receptive field
# (plan.c1_spacing), 96 of its single-motif TF targets following 8 of them
C1_ORDER = OrderSpec(n_rules=8, n_targets=96, spacing=PLAN.c1_spacing, fill=0.5)

# The benchmark of the cpu preset: learnable within the steps a CPU study affords.
CPU_SYNTHETIC = SyntheticSpec(n_train=40_000, n_valid=4_000, n_test=8_000, n_motifs=16,
                              n_pairs=8, copies=3, slot_fill=0.6, flank_fill=0.3,
                              site_sharpness=2.0, gc_sd=0.04, min_information=10.0)

PRESETS = {p.name: p for p in [
    Preset("smoke", SyntheticSpec(n_train=2048, n_valid=512, n_test=512), "danq-tiny",
           "deepsea-tiny", n_train=1024, n_valid=None, max_epochs=3, patience=2,
           n_runs_random=2, n_runs_fixed=2, small_batch=64, large_batch=256,
           full_max_epochs=2, description="seconds per run; for tests and CI only",
           plan=replace(PLAN, lr_grid=(1e-3, 3e-3), lr_seeds=(900,), pairs_per_batch=2,
                        sensitivity_pairs=1, c1_models=("danq-tiny", "deepsea-tiny"),
                        c1_batch=64, c1_seeds=1, real_tfs=("SERBP1",),
                        real_models=("danq-tiny", "deepsea-tiny"), real_grid_tf="SERBP1",
                        real_arms_tf="SERBP1")),
    Preset("cpu", CPU_SYNTHETIC, "danq-cpu", "deepsea-cpu", n_train=None, n_valid=None,
           max_epochs=60, patience=5, n_runs_random=14, n_runs_fixed=6, small_batch=100,
           large_batch=1000, full_max_epochs=60, optimizer="adam", learning_rate=3e-3,
           output_bias="label_rates", comparison_learning_rate=1e-3,
           description="the committed chapters: a narrow DanQ on 40,000 synthetic samples "
                       "(the paper's subset size), the paper's stopping rule and repetitions, "
                       "Adam at lr 3e-3 (C1 at 1e-3) from label-rate biases; hours on a 2-core "
                       "machine, resumable"),
    Preset("paper", SyntheticSpec(n_train=60_000, n_valid=8_000, n_test=16_000), "danq",
           "deepsea", n_train=40_000, n_valid=None, max_epochs=60, patience=5,
           n_runs_random=14, n_runs_fixed=6, small_batch=100, large_batch=1000,
           full_max_epochs=60,
           description="the paper's design: full-size DanQ, 40,000 samples, 14 random and "
                       "6 fixed runs; a GPU is advised"),
    Preset("full", SyntheticSpec(n_train=4_400_000, n_valid=8_000, n_test=455_024), "danq",
           "deepsea", n_train=None, n_valid=None, max_epochs=60, patience=5,
           n_runs_random=1, n_runs_fixed=1, small_batch=100, large_batch=1000,
           full_max_epochs=60,
           description="the whole DeepSEA training set (4.4M samples); GPU only"),
]}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
