"""core.charts: figures and the data behind them, from a hand-made report."""
from __future__ import annotations

import pandas as pd
import pytest

from core import charts
from core.report import Report

# Two terminators over two days and two hours; numbers chosen to be checked by hand.
SUMS = pd.DataFrame([
    # terminator_id, terminator, day, hour, calls, answered, billed_o, billed_t, bd_o, bd_t, duration
    (1, "Carrier A", "2024-03-14", 9, 10, 5, 10.0, 4.0, 600, 600, 600),
    (1, "Carrier A", "2024-03-15", 9, 4, 1, 1.0, 3.0, 60, 60, 60),
    (2, "Carrier B", "2024-03-14", 10, 6, 6, 6.0, 7.0, 360, 360, 360),
    (2, "Carrier B", "2024-03-15", 9, 0, 0, 0.0, 0.0, 0, 0, 0),
], columns=["terminator_id", "terminator", "day", "hour", "total_calls", "answered_calls",
            "billed_originator", "billed_terminator", "billed_duration_originator",
            "billed_duration_terminator", "duration"]).assign(pdd_sum=0.0, pdd_count=0)
KEYS = ["terminator_id", "terminator", "day", "hour"]


@pytest.fixture
def report() -> Report:
    return Report.from_sums(SUMS, key_columns=KEYS, rate=1.0, currency="USD", from_=0,
                            till=1, profit_show=True)


def test_top_groups_ranks_rows_and_the_smallest_shows_losses(report):
    figure, data = charts.top_groups(report, "profit", 2)
    # profits: 6.0, -2.0, -1.0, 0.0 -> the largest two are 6.0 and 0.0
    assert figure is not None and list(data["profit"]) == [6.0, 0.0]
    figure, data = charts.top_groups(report, "profit", 2, smallest=True)
    assert list(data["profit"]) == [-2.0, -1.0]
    assert data["group"][0] == "Carrier A · 2024-03-15 · 9"
    colours = {bar.marker.color for bar in figure.data}
    assert "#d1242f" in colours  # losses are drawn red


def test_share_rolls_up_to_the_dimension(report):
    figure, data = charts.share(report, "terminator", "total_calls")
    # Carrier A: 10 + 4 = 14 calls; Carrier B: 6 + 0 = 6
    shares = dict(zip(data["terminator"], data["total_calls"], strict=True))
    assert shares == {"Carrier A": 14, "Carrier B": 6}


def test_share_needs_the_dimension_in_the_grouping(report):
    figure, reason = charts.share(report, "dst_group", "total_calls")
    assert figure is None and "Group by dst group" in reason


def test_time_series_recomputes_ratios_from_sums(report):
    figure, data = charts.time_series(report, "asr")
    by_slot = {(d, h): v for d, h, v in zip(data["day"], data["hour"], data["asr"], strict=True)}
    # 2024-03-15 09h: Carrier A 1 of 4 and Carrier B 0 of 0 -> 1/4 = 25 % (not the mean of 25 and 0)
    assert by_slot[("2024-03-15", 9)] == pytest.approx(25.0)
    assert by_slot[("2024-03-14", 10)] == pytest.approx(100.0)
    assert list(data["day"]) == sorted(data["day"])


def test_time_series_needs_a_time_grouping():
    only_terminators = SUMS.groupby(["terminator_id", "terminator"], as_index=False).sum(numeric_only=True)
    report = Report.from_sums(only_terminators.drop(columns=["hour"]),
                              key_columns=["terminator_id", "terminator"], rate=1.0, currency="USD",
                              from_=0, till=1, profit_show=False)
    figure, reason = charts.time_series(report, "total_calls")
    assert figure is None and "day or by hour" in reason


def test_heatmap_has_every_hour_of_each_day(report):
    figure, data = charts.day_hour_heatmap(report, "total_calls")
    heat = figure.data[0]
    assert list(heat.y) == ["2024-03-14", "2024-03-15"]
    assert list(heat.x) == list(range(24))
    assert heat.z[0][9] == 10 and heat.z[0][10] == 6 and heat.z[1][9] == 4
    assert pd.isna(heat.z[1][10])  # no calls at all in that hour: blank, not zero


def test_empty_report_says_so():
    empty = Report.from_sums(SUMS.iloc[0:0], key_columns=KEYS, rate=1.0, currency="USD",
                             from_=0, till=1, profit_show=False)
    figure, reason = charts.top_groups(empty, "total_calls")
    assert figure is None and "no rows" in reason
