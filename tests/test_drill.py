"""Drill-down and the table's column choice, without Streamlit: a row's keys become filters
and the grouping moves one level finer (core/drill.py); `columns=`/`ids=` parse and show
(core/columns.py). Expected values are written out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from core.columns import ColumnsError, TableChoice, parse_choice, restricted, split_query
from core.drill import DrillRefused, Trail, crumb, drill, next_grouping, selected_row
from core.params import Params
from core.report import Report
from tests.fixture_small import epoch

DAY_FROM, DAY_TILL = epoch("2024-03-14 00:00:00"), epoch("2024-03-16 23:59:59")


def params(**flags) -> Params:
    return Params(u="admin", from_=DAY_FROM, till=DAY_TILL, **flags)


def test_default_grouping_row_becomes_three_filters_and_provider_by_prefix():
    row = {"originator_id": 7, "originator": "Alice", "terminator_id": 3, "terminator": "T3",
           "dst_group_id": 11, "dst_group": "Lithuania Mobile"}
    drilled = drill(params(), row, "UTC")
    assert (drilled.s_originator_id, drilled.s_terminator_id, drilled.dst_group) == (7, 3, "Lithuania Mobile")
    assert drilled.groups == ("provider", "dst")
    assert (drilled.from_, drilled.till) == (DAY_FROM, DAY_TILL)


def test_issue_ladder_originator_then_group_then_destination():
    first = drill(params(group_by_user=True), {"originator_id": 0, "originator": "admin"}, "UTC")
    assert first.groups == ("user", "dst_group") and first.s_originator_id == 0   # admin's id 0 is real
    second = drill(first, {"originator_id": 0, "dst_group_id": 4, "dst_group": "Mobile"}, "UTC")
    assert second.groups == ("dst",) and second.dst_group == "Mobile" and second.s_originator_id == 0


def test_prefix_becomes_a_number_pattern_and_stays_a_row():
    drilled = drill(params(group_by_dst=True), {"dst": "3706", "destination": "Lithuania"}, "UTC")
    assert drilled.a_dst == "3706%"
    assert drilled.groups == ("dst", "day")
    kept = drill(params(group_by_dst=True, a_dst="370%"), {"dst": "3706"}, "UTC")
    assert kept.a_dst == "370%"


def test_day_and_hour_narrow_the_period():
    by_day = drill(params(group_by_day=True), {"day": "2024-03-15"}, "UTC")
    assert (by_day.from_, by_day.till) == (epoch("2024-03-15 00:00:00"), epoch("2024-03-15 23:59:59"))
    assert by_day.groups == ("day", "hour")
    by_hour = drill(by_day, {"day": "2024-03-15", "hour": 9}, "UTC")
    assert (by_hour.from_, by_hour.till) == (epoch("2024-03-15 09:00:00"), epoch("2024-03-15 09:59:59"))
    # In Vilnius (UTC+2 in March) the day starts at 22:00 UTC the day before.
    vilnius = drill(params(group_by_day=True), {"day": "2024-03-15"}, "Europe/Vilnius")
    assert vilnius.from_ == epoch("2024-03-14 22:00:00")


def test_hour_alone_over_several_days_is_refused():
    with pytest.raises(DrillRefused, match="group by day"):
        drill(params(group_by_hour=True), {"hour": 9}, "UTC")


@pytest.mark.parametrize("row, flags, why", [
    ({"dst_group_id": 5, "dst_group": "100% Mobile"}, {"group_by_dst_group": True}, "'%'"),
    ({"dst_group_id": 0, "dst_group": None}, {"group_by_dst_group": True}, "no destination group"),
    ({"terminator_id": 0}, {"group_by_terminator": True}, "no terminator"),
    ({"dst": ""}, {"group_by_dst": True}, "no prefix"),
    ({"user_rate": 0.1}, {"group_by_user_rate": True}, "no filter"),
])
def test_rows_that_no_filter_selects_exactly_are_refused(row, flags, why):
    with pytest.raises(DrillRefused, match=why):
        drill(params(**flags), row, "UTC")


def test_unlisted_grouping_refines_each_key():
    assert next_grouping(("user", "terminator", "dst")) == ("provider", "dst_group", "day")


def test_selection_position_indexes_the_frame_given_not_the_screen():
    rows = pd.DataFrame({"originator_id": [5, 6, 7], "originator": ["a", "b", "c"]})
    assert selected_row(rows, [2]) == {"originator_id": 7, "originator": "c"}
    assert selected_row(rows, []) is None
    assert selected_row(rows, [3]) is None


def test_crumb_names_the_row_by_its_labels():
    words = crumb(params(group_by_user=True, group_by_day=True),
                  {"originator_id": 7, "originator": "Alice", "day": "2024-03-15"})
    assert words == "Originator: Alice × Day: 2024-03-15"


def test_trail_goes_back_and_forgets_when_the_report_changed():
    start = params(group_by_user=True)
    first = drill(start, {"originator_id": 7}, "UTC")
    second = drill(first, {"originator_id": 7, "dst_group_id": 2, "dst_group": "G"}, "UTC")
    trail = Trail()
    trail.add("one", start, first)
    trail.add("two", first, second)
    assert [w for w, _, _ in trail.current(second)] == ["one", "two"]
    assert trail.current(start) == []
    assert trail.back(1) == first and [w for w, _, _ in trail.steps] == ["one"]
    assert trail.back(0) == start and trail.steps == []
    trail.add("one", start, first)
    elsewhere = start.with_(group_by_day=True)     # the sidebar applied another report
    trail.add("three", elsewhere, first)
    assert [w for w, _, _ in trail.current(first)] == ["three"]


# --- the column choice --------------------------------------------------------------------

def small_report() -> Report:
    rows = pd.DataFrame({"originator_id": [1], "originator": ["a"], "total_calls": [2], "asr": [50.0]})
    return Report(rows=rows, totals={"total_calls": 2, "asr": 50.0}, currency="USD", from_=0, till=1,
                  key_columns=["originator_id", "originator"], metric_columns=["total_calls", "asr"])


def test_columns_parse_in_report_order_and_round_trip():
    choice = parse_choice({"columns": "asr, total_calls", "ids": "1"})
    assert choice == TableChoice(columns=("total_calls", "asr"), ids=True)
    assert choice.to_pairs() == {"columns": "total_calls,asr", "ids": "1"}
    assert parse_choice(choice.to_pairs()) == choice
    assert parse_choice({}) == TableChoice() and TableChoice().to_pairs() == {}


def test_unknown_column_is_one_clear_line():
    with pytest.raises(ColumnsError, match="'calls' is not a column; accepted are total_calls"):
        parse_choice({"columns": "calls"})
    with pytest.raises(ColumnsError, match="ids: 'yes'"):
        parse_choice({"ids": "yes"})


def test_shown_hides_ids_by_default_and_restricted_keeps_only_those():
    report = small_report()
    assert TableChoice().shown(report) == ["originator", "total_calls", "asr"]
    assert TableChoice(columns=("asr",), ids=True).shown(report) == ["originator_id", "originator", "asr"]
    shown = restricted(report, ["originator", "asr"])
    assert list(shown.rows.columns) == ["originator", "asr"] and shown.totals == {"asr": 50.0}
    assert report.columns == ["originator_id", "originator", "total_calls", "asr"]


def test_split_query_keeps_app_keys_apart():
    assert split_query({"u": "x", "columns": "asr", "ids": "1"}) == \
        ({"u": "x"}, {"columns": "asr", "ids": "1"})


def test_changes_read_with_arrows_in_their_own_unit():
    from core.columns import delta_formatter
    assert delta_formatter("delta_acd", "USD")(-30) == "▼ 0:00:30"
    assert delta_formatter("delta_total_calls", "USD")(4) == "▲ 4"
    assert delta_formatter("delta_pct_total_calls", "USD")(float("nan")) == ""


def test_movers_rank_by_the_largest_change_either_way():
    from core.columns import movers
    rows = pd.DataFrame({"originator": ["a", "b", "c"], "asr": [50.0, 10.0, 30.0],
                         "prev_asr": [40.0, 40.0, 30.0], "delta_asr": [10.0, -30.0, 0.0]})
    report = Report(rows=rows, totals={"asr": 30.0, "prev_asr": 35.0, "delta_asr": -5.0}, currency="USD",
                    from_=0, till=1, key_columns=["originator"],
                    metric_columns=["asr", "prev_asr", "delta_asr"])
    ranked = movers(report, "asr")
    assert list(ranked.rows["originator"]) == ["b", "a", "c"]
    assert TableChoice(columns=("asr",)).shown(report) == ["originator", "asr", "prev_asr", "delta_asr"]
