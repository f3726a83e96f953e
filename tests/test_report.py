"""Tables and logs as the chapters show them."""

import re

import numpy as np
import pandas as pd

from danqrepro.replication import report
from danqrepro.replication.report import tidy


def test_tidy_formats_numbers_and_hides_the_index():
    df = pd.DataFrame({"n": [1.0, 2000.0], "loss": [0.123456, 12345.6789], "arm": ["x", "y"],
                       "censored": [True, False], "auc": [np.nan, 0.91234]})
    html = tidy(df, {"auc": "{:.3f}"}).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["1", "0.1235", "x", "yes", "", "2,000", "12,346", "y", "no", "0.912"]
    mixed = pd.DataFrame({"censored": [True, None], "n": [1, 2]})  # a baseline row has no flag
    assert re.findall(r"<td[^>]*>([^<]*)</td>", tidy(mixed).to_html()) == ["yes", "1", "", "2"]
    assert "<th class=\"row_heading" not in html  # no index column


def test_seeds_reads_as_a_caption_would():
    assert report.seeds([0]) == "seed 0" and report.seeds([0, 0]) == "seed 0"
    assert report.seeds([2, 0, 1]) == "seeds 0-2"
    assert report.seeds([0, 2, 5]) == "seeds 0, 2, 5"


def test_censored_says_what_the_cap_does_to_the_means_only_when_it_was_reached():
    assert report.censored(0) == "no run reached the epoch cap"
    assert report.censored(1) == '1 run reached the epoch cap ("≥" marks a mean of lower bounds)'


def test_seconds_caveat_gives_the_spread_of_epoch_times_at_each_batch_size():
    records = [{"config": {"batch": b}, "wall_seconds": s, "epochs_trained": e}
               for b, s, e in [(1000, 300.0, 10), (1000, 120.0, 10), (100, 400.0, 20)]]
    sentence = report.seconds_caveat(records)
    assert "20 s at batch 100; 12-30 s at batch 1,000" in sentence
    assert sentence.startswith("Seconds are wall-clock")


def test_setup_reads_the_training_settings_from_the_runs(tiny_store):
    from danqrepro.replication.presets import get_preset
    def run(rate, seed):
        return {"config": {"model": "danq-tiny", "seed": seed, "dropout": "fixed", "batch": 100,
                           "n_train": None, "max_epochs": 60, "patience": 5, "optimizer": "adam",
                           "learning_rate": rate, "output_bias": "zero", "redraw": "epoch"},
                "model": {"trainable_parameters": 1234}}
    table = report.setup_markdown(get_preset("smoke"), tiny_store, {"threshold": 0.5},
                                  [run(1e-3, 0), run(3e-3, 1)])
    rows = dict(line.strip("| ").split(" | ", 1) for line in table.splitlines()[2:])
    assert rows["models"] == "`danq-tiny` (1,234 parameters)" and rows["seeds"] == "0, 1"
    assert "`learning_rate` `0.001` or `0.003`" in rows["training"]
    assert "`n_train=all`" in rows["training"] and "`batch=100`" in rows["training"]
    assert rows["parameters"] == "`threshold=0.5`"
    assert "redraw" not in rows["training"]  # no random-dropout run
