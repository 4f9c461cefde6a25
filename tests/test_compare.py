"""Compare with another period (issue 13, item 1). Expected values worked out by hand from
tests/fixture_compare.py: the current day 2024-03-15 against the previous day 2024-03-14,
grouped by destination group with profit shown.

Previous day: group 1 = c1 (answered, 60 s, 1.00/0.40) + c2 (not answered) + c4 (Rita,
30 s, 0.60/0.20); group 2 = c3 (30 s, 0.50/0.60). Current day: group 1 = c5 (120 s,
2.00/0.80) + c6 (60 s, 1.00/0.40) + c7 (not answered); group 3 = c8 (Rita, 90 s, 1.50/0.90).
"""
from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET

import pytest

from core.compare import other_period, run_report
from core.exports import export
from core.params import ParamError, Params, parse_params
from core.settings import Settings
from core.sources.db import DatabaseSource
from tests.fixture_compare import FROM, PREV_FROM, PREV_TILL, TABLES, TILL
from tests.fixture_small import epoch


def compared(make_db, user="admin", **extra):
    params = Params(u=user, from_=FROM, till=TILL, compare="previous", group_by_dst_group=True,
                    profit_show=True, **extra)
    return run_report(DatabaseSource(make_db(TABLES)), params, Settings())


def near(actual, expected):
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    return math.isclose(float(actual), expected, rel_tol=1e-9, abs_tol=1e-9)


# group id -> {column: expected}, by hand (see the module docstring)
EXPECTED = {
    1: dict(dst_group="Lithuania Mobile",
            total_calls=3, prev_total_calls=3, delta_total_calls=0, delta_pct_total_calls=0.0,
            answered_calls=2, prev_answered_calls=2, delta_answered_calls=0,
            billed_originator=3.0, prev_billed_originator=1.6, delta_billed_originator=1.4,
            delta_pct_billed_originator=87.5,          # 1.4 / 1.6
            billed_terminator=1.2, prev_billed_terminator=0.6, delta_pct_billed_terminator=100.0,
            duration=180, prev_duration=90, delta_duration=90, delta_pct_duration=100.0,
            profit=1.8, prev_profit=1.0, delta_profit=0.8, delta_pct_profit=80.0,
            asr=200 / 3, prev_asr=200 / 3, delta_asr=0.0,
            acd=90.0, prev_acd=45.0, delta_acd=45.0,   # 180/2, 90/2
            margin=60.0, prev_margin=62.5, delta_margin=-2.5),   # 1.8/3, 1.0/1.6
    2: dict(dst_group="Lithuania Fixed",                   # the previous day only
            total_calls=0, prev_total_calls=1, delta_total_calls=-1, delta_pct_total_calls=-100.0,
            billed_originator=0.0, prev_billed_originator=0.5, delta_pct_billed_originator=-100.0,
            profit=0.0, prev_profit=-0.1, delta_profit=0.1,
            delta_pct_profit=100.0,                      # 0.1 / |-0.1|: a loss shrank
            asr=0.0, prev_asr=100.0, delta_asr=-100.0,
            margin=0.0, prev_margin=-20.0, delta_margin=20.0, acd=0.0, prev_acd=30.0),
    3: dict(dst_group="UK Mobile",                         # the current day only
            total_calls=1, prev_total_calls=0, delta_total_calls=1, delta_pct_total_calls=None,
            billed_originator=1.5, prev_billed_originator=0.0, delta_pct_billed_originator=None,
            profit=0.6, prev_profit=0.0, delta_profit=0.6, delta_pct_profit=None,
            margin=40.0, prev_margin=0.0, delta_margin=40.0, asr=100.0, prev_asr=0.0),
}

EXPECTED_TOTALS = dict(
    total_calls=4, prev_total_calls=4, delta_total_calls=0, delta_pct_total_calls=0.0,
    answered_calls=3, prev_answered_calls=3,
    billed_originator=4.5, prev_billed_originator=2.1, delta_billed_originator=2.4,
    delta_pct_billed_originator=2.4 / 2.1 * 100,
    profit=2.4, prev_profit=0.9, delta_profit=1.5, delta_pct_profit=1.5 / 0.9 * 100,
    asr=75.0, prev_asr=75.0, delta_asr=0.0,
    acd=90.0, prev_acd=40.0, delta_acd=50.0,                 # 270/3, 120/3
    margin=2.4 / 4.5 * 100, prev_margin=0.9 / 2.1 * 100,
    delta_margin=2.4 / 4.5 * 100 - 0.9 / 2.1 * 100)


def test_rows_are_the_union_with_prev_delta_and_delta_pct(make_db):
    report = compared(make_db)
    assert report.compare == "previous" and (report.prev_from, report.prev_till) == (PREV_FROM, PREV_TILL)
    rows = {int(r["dst_group_id"]): r for r in report.rows.to_dict("records")}
    assert sorted(rows) == [1, 2, 3]
    for group, expected in EXPECTED.items():
        for column, value in expected.items():
            actual = rows[group][column]
            assert (actual == value) if isinstance(value, str) else near(actual, value), \
                (group, column, actual, value)
    # whole numbers stay whole where a group was missing
    assert report.rows["prev_total_calls"].dtype.kind == "i"
    # never infinity
    pct = report.rows[[c for c in report.columns if c.startswith("delta_pct_")]]
    assert not pct.isin([math.inf, -math.inf]).any().any()


def test_columns_come_in_order_with_their_kinds():
    from core.report import KINDS, LABELS
    assert KINDS["prev_billed_originator"] == "money" and KINDS["delta_pct_total_calls"] == "percent"
    assert KINDS["delta_asr"] == "percent" and "delta_pct_asr" not in KINDS
    assert "delta_pct_margin" not in KINDS and "delta_pct_acd" not in KINDS
    assert LABELS["delta_asr"] == "Δ ASR (points)"


def test_totals_compare_the_same_way(make_db):
    totals = compared(make_db).totals
    for column, value in EXPECTED_TOTALS.items():
        assert near(totals[column], value), (column, totals[column], value)


def test_every_export_carries_the_new_columns(make_db):
    report = compared(make_db)
    header = next(csv.reader(io.StringIO(export(report, "csv"))))
    for name in ("prev_total_calls", "delta_total_calls", "delta_pct_total_calls", "prev_asr",
                 "delta_asr", "delta_pct_profit", "delta_margin"):
        assert name in header
    rows = list(csv.DictReader(io.StringIO(export(report, "csv"))))
    uk = next(r for r in rows if r["dst_group_id"] == "3")
    assert uk["delta_pct_total_calls"] == "" and uk["delta_total_calls"] == "1"
    data = json.loads(export(report, "json"))
    uk = next(r for r in data["rows"] if r["dst_group_id"] == 3)
    assert uk["delta_pct_billed_originator"] is None and uk["prev_total_calls"] == 0
    assert data["totals"]["delta_pct_total_calls"] == 0.0
    page = ET.fromstring(export(report, "xml"))
    fixed = [a for a in page.iter("aggregate") if a.findtext("dst_group_id") == "2"][0]
    assert fixed.findtext("delta_total_calls") == "-1" and fixed.findtext("delta_pct_total_calls") == "-100.0"
    assert page.find("totals").findtext("prev_total_calls") == "4"


def test_a_resellers_comparison_covers_only_his_calls(make_db):
    # respro's customer Rita: c4 (group 1) on the previous day, c8 (group 3) on the current one
    report = compared(make_db, user="respro")
    rows = {int(r["dst_group_id"]): r for r in report.rows.to_dict("records")}
    assert sorted(rows) == [1, 3]
    assert (rows[1]["total_calls"], rows[1]["prev_total_calls"]) == (0, 1)
    assert (rows[3]["total_calls"], rows[3]["prev_total_calls"]) == (1, 0)
    assert (report.totals["total_calls"], report.totals["prev_total_calls"]) == (1, 1)


def test_an_accountant_without_money_compares_no_money(make_db):
    settings = Settings(accountant_stats=True, accountant_financial=False)
    params = Params(u="acc", from_=FROM, till=TILL, compare="previous", group_by_dst_group=True,
                    profit_show=True)
    report = run_report(DatabaseSource(make_db(TABLES)), params, settings)
    assert "prev_total_calls" in report.columns
    assert not [c for c in report.columns if "billed_originator" in c or "profit" in c]


# --- the periods -----------------------------------------------------------------------------

def test_previous_is_the_same_length_just_before():
    assert other_period(FROM, TILL, "previous") == (PREV_FROM, PREV_TILL)
    # three days 16-18 -> 13-15
    start, end = epoch("2024-03-16 00:00:00"), epoch("2024-03-18 23:59:59")
    assert other_period(start, end, "previous") == (epoch("2024-03-13 00:00:00"),
                                                    epoch("2024-03-15 23:59:59"))


def test_week_keeps_wall_clock_days_across_daylight_saving():
    tz = "Europe/Vilnius"   # clocks went forward on 2024-03-31
    start, end = epoch("2024-04-02 00:00:00", tz), epoch("2024-04-02 23:59:59", tz)
    assert other_period(start, end, "week", tz) == (epoch("2024-03-26 00:00:00", tz),
                                                    epoch("2024-03-26 23:59:59", tz))
    assert start - other_period(start, end, "week", tz)[0] == 7 * 86400 - 3600


def test_year_clips_29_february():
    start, end = epoch("2024-02-29 00:00:00"), epoch("2024-02-29 23:59:59")
    assert other_period(start, end, "year") == (epoch("2023-02-28 00:00:00"),
                                                epoch("2023-02-28 23:59:59"))
    start, end = epoch("2024-02-01 00:00:00"), epoch("2024-03-31 23:59:59")
    assert other_period(start, end, "year") == (epoch("2023-02-01 00:00:00"),
                                                epoch("2023-03-31 23:59:59"))


def test_a_period_before_1970_is_refused():
    with pytest.raises(ParamError, match="compare"):
        other_period(0, 86399, "previous")


# --- the parameter -------------------------------------------------------------------------

def test_compare_round_trips_through_the_url_but_never_reaches_mor():
    params = Params(u="admin", from_=FROM, till=TILL, compare="week")
    pairs = params.to_pairs()
    assert pairs["compare"] == "week"
    assert parse_params(pairs) == params
    assert "compare" not in params.to_pairs(include_defaults=True, app_options=False)
    assert "compare" not in Params(u="admin", from_=FROM, till=TILL).to_pairs()
    with pytest.raises(ParamError, match="compare"):
        parse_params({"u": "admin", "compare": "month"})
    with pytest.raises(ParamError, match="not an aggregate_get parameter"):
        parse_params({"u": "admin", "compare": "week"}, app_options=False)


def test_the_compatible_server_refuses_compare(tmp_path):
    from core.server import create_app
    from core.sources.mor_api import mor_hash
    from core.sources.mor_xml import mor_error, parse_document
    from tests.test_mor_api import SECRET, build_db

    app = create_app(DatabaseSource(build_db(tmp_path / "mor.sqlite")), Settings())
    response = app.test_client().post("/billing/api/aggregate_get", data={
        "u": "admin", "hash": mor_hash(SECRET), "from": "0", "till": "86399", "compare": "week"})
    assert mor_error(parse_document(response.data)).startswith("compare: is not an aggregate_get")
