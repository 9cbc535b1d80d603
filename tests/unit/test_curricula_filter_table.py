"""The pass-rate filter's thresholds, the online table's update rule, and the group statistics."""

import datasets
import numpy as np
import pytest

from curricula import CurriculumError, PassRateTable, filter_by_pass_rate, group_stats, pass_rate, pass_rate_filter


@pytest.mark.parametrize(
    "rate, max_rate, min_rate, kept",
    [
        (0.75, 0.75, None, False),  # exactly 0.75 is dropped (the paper: pass rate >= 0.75 goes)
        (0.74, 0.75, None, True),  # just below stays
        (1.0, 0.75, None, False),  # always solved: nothing to learn
        (0.0, 0.75, None, True),  # never solved stays by default (the paper keeps it)
        (0.0, 0.75, 0.0, False),  # ... and goes when min_pass_rate=0.0 asks to drop never-solved prompts
        (0.125, 0.75, 0.0, True),  # solved once in 8: kept
        (0.9, None, None, True),  # no upper threshold: everything with an estimate stays
    ],
)
def test_filter_thresholds(rate, max_rate, min_rate, kept):
    rows = [{"prompt": "p", "pass_rate": rate}]
    assert len(filter_by_pass_rate(rows, max_rate, min_rate)) == int(kept)


def test_filter_report_counts_each_reason():
    report = pass_rate_filter([0.0, 0.25, 0.75, 0.875, None, 0.5], 0.75, 0.0)
    assert report.keep.tolist() == [False, True, False, False, False, True]
    assert (report.kept, report.too_easy, report.too_hard, report.unknown) == (2, 2, 1, 1)
    summary = report.summary()
    assert "kept 2 of 6" in summary and "2 with pass_rate >= 0.75" in summary and "1 without a pass_rate" in summary
    assert pass_rate_filter([None, 0.1], keep_unknown=True).keep.tolist() == [True, True]  # online: prior later


def test_filter_takes_and_returns_a_dataset(caplog):
    ds = datasets.Dataset.from_list([{"q": i, "pass_rate": r} for i, r in enumerate([0.1, 0.75, 0.5, 1.0])])
    with caplog.at_level("INFO", logger="curricula.filter"):
        out = filter_by_pass_rate(ds)
    assert isinstance(out, datasets.Dataset) and out["q"] == [0, 2]
    assert "dropped 2" in caplog.text  # says how many went, and why


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: filter_by_pass_rate([{"pass_rate": 0.1}], 0.5, 0.6), "below max_pass_rate"),
        (lambda: filter_by_pass_rate([{"pass_rate": 1.2}]), r"\[0, 1\]"),
        (lambda: filter_by_pass_rate(datasets.Dataset.from_list([{"x": 1}])), "no 'pass_rate' column"),
        (lambda: filter_by_pass_rate("rows.jsonl"), "list of dicts or a datasets.Dataset"),
    ],
)
def test_filter_bad_input(call, message):
    with pytest.raises(CurriculumError, match=message):
        call()


def test_table_prior_first_observation_then_moving_average():
    table = PassRateTable(3, [0.5, None, None], prior=0.25, ema=0.5)
    assert table.rates().tolist() == [0.5, 0.25, 0.25]  # unknown prompts read as the prior
    # prompt 0: 4 samples, 3 right -> 0.75; prompt 1: 2 judged (one NaN skipped), 1 right -> 0.5
    table.update([0, 0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 1, 0, np.nan])
    # prompt 0 had an estimate: 0.5 * 0.5 + 0.5 * 0.75 = 0.625; prompt 1 had none: the observation replaces the prior
    assert table.rates().tolist() == [0.625, 0.5, 0.25]
    assert table.observations().tolist() == [1, 1, 0]
    table.update([2, 2], [np.nan, np.nan])  # nothing judged: no change, no count
    assert [r is not None for r in table.state_dict()["rate"]] == [True, True, False]  # still unobserved: no estimate
    # bins [0,.25) [.25,.5) [.5,.75) [.75,1]: 0.25 | .5 .625
    assert np.histogram(table.rates(), bins=4, range=(0.0, 1.0))[0].tolist() == [0, 1, 2, 0]


def test_table_state_round_trip_and_size_check():
    table = PassRateTable(2, prior=0.3)
    table.update([1], [1.0])
    other = PassRateTable(2, prior=0.3)
    other.load_state_dict(table.state_dict())
    assert other.rates().tolist() == table.rates().tolist() == [0.3, 1.0]
    with pytest.raises(CurriculumError, match="same data"):
        PassRateTable(3).load_state_dict(table.state_dict())


@pytest.mark.parametrize(
    "group, mean, zero_variance",
    [
        ([1, 1, 1, 1], 1.0, True),  # all right: every advantage is zero
        ([0, 0, 0, 0], 0.0, True),  # all wrong: same
        ([1, 0, 0, 0], 0.25, False),  # mixed: signal
        ([0, 0, np.nan, 0], 0.0, True),  # an unjudged sample does not make a group informative
        ([np.nan] * 4, np.nan, False),  # nothing judged: unknown, so never masked
    ],
)
def test_group_stats(group, mean, zero_variance):
    stats = group_stats(np.array(group + [1, 0, 1, 0], dtype=float), 4)  # plus one informative group
    assert np.isnan(stats.mean[0]) if np.isnan(mean) else stats.mean[0] == mean
    assert stats.zero_variance.tolist() == [zero_variance, False]


def test_pass_rate_skips_unjudged_samples():
    assert pass_rate([1.0, 0.0, None, 1.0, float("nan")]) == (2 / 3, 3)
    assert pass_rate([None, None]) == (None, 0)  # no verdict is not a zero pass rate
