"""Reading benchmark results: the growth fit and the planning table."""

import pytest

from danqrepro.replication import perf


def test_growth_fit_recovers_overhead_and_cost_per_sample():
    rows = [{"batch": b, "n_train": n, "epoch_s": overhead + n * ms / 1000}
            for b, overhead, ms in [(100, 2.0, 5.0), (1000, 0.5, 2.5)] for n in (1000, 2000, 8000)]
    fit = perf.growth_fit(rows).set_index("batch")
    assert fit.loc[100, "overhead_s"] == pytest.approx(2.0)
    assert fit.loc[1000, "ms_per_sample"] == pytest.approx(2.5)
    assert fit.max_residual.max() < 1e-9


def test_planning_gives_hours_per_epoch():
    plan = perf.planning({1000: 50.0}, {"all": 4_400_000})
    assert plan.loc[0, "batch 1000: hours/epoch"] == pytest.approx(4_400_000 / 50 / 3600)
