import matplotlib

matplotlib.use("Agg")
import pandas as pd

from danqrepro.replication import plots


def test_arms_joins_only_the_runs_that_share_a_seed_and_lays_four_panels_two_a_row():
    df = pd.DataFrame({"dropout": ["fixed", "fixed", "fixed", "random", "random", "random"],
                       "seed": [0, 1, 2, 1, 0, 7],
                       "epochs": [30, 31, 32, 20, 21, 22], "loss": [0.1] * 6,
                       "jitter": [0.0] * 6, "auc": [0.9] * 6, "censored": [False] * 6})
    assert plots._seed_pairs(df, ["fixed", "random"]) == [(0, 4), (1, 3)]
    fig = plots.arms(df, {"epochs": "epochs", "loss": "loss", "jitter": "jitter", "auc": "auc"})
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes] == [(2, 2)] * 4
    pair_lines = [line for line in fig.axes[0].lines if line.get_color() == "0.7"]
    assert sorted(tuple(line.get_ydata()) for line in pair_lines) == [(30, 21), (31, 20)]
