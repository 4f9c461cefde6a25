"""core/formatting.py: one way to show each kind of column, shared by every view.

The command line's table and the app's table must show the same text for the same cell;
the expected texts are written by hand.
"""
from __future__ import annotations

import pandas as pd
import pytest

from core import formatting
from core.report import Report
from ui.tables import styled

# Two rows by originator and originator rate; numbers chosen to be checked by hand.
SUMS = pd.DataFrame([
    # originator_id, originator, user_rate, calls, answered, billed_o, billed_t, bd_o, bd_t, duration
    (2, "John Smith", 0.01, 1234, 3, 1234.5, 1000.0, 120, 120, 3725),
    (7, "Rita", 0.125, 3, 0, 0.0, 2.0, 0, 0, 0),
], columns=["originator_id", "originator", "user_rate", "total_calls", "answered_calls",
            "billed_originator", "billed_terminator", "billed_duration_originator",
            "billed_duration_terminator", "duration"]).assign(pdd_sum=[7.5, 0.0], pdd_count=[3, 0])
KEYS = ["originator_id", "originator", "user_rate"]


@pytest.fixture
def report() -> Report:
    return Report.from_sums(SUMS, key_columns=KEYS, rate=1.0, currency="EUR", from_=0, till=1,
                            profit_show=True)


def test_each_kind_has_one_look():
    assert formatting.shown("total_calls", 1234, "EUR") == "1,234"
    assert formatting.shown("billed_originator", 1234.5, "EUR") == "1,234.50 EUR"
    assert formatting.shown("duration", 3725, "EUR") == "1:02:05"
    assert formatting.shown("acd", 3725 / 3, "EUR") == "0:20:42"
    assert formatting.shown("asr", 100 / 3, "EUR") == "33.33"
    assert formatting.shown("asr", 100 / 3, "EUR", with_unit=True) == "33.33 %"
    assert formatting.shown("pdd", 2.5, "EUR") == "2.50"
    assert formatting.shown("user_rate", 0.01, "EUR") == "0.0100"
    assert formatting.shown("originator_id", 2, "EUR") == "2"
    assert formatting.shown("hour", 9, "EUR") == "9"
    assert formatting.shown("originator", "John Smith", "EUR") == "John Smith"
    assert formatting.shown("something_new", 1.5, "EUR") == "1.5"  # unknown columns as text
    assert formatting.shown("profit", None, "EUR") == ""


def test_the_command_line_table(report):
    frame = formatting.display_frame(report)
    first = dict(zip(frame.columns, frame.iloc[0], strict=True))
    assert first["Originator ID"] == "2" and first["Originator rate"] == "0.0100"
    assert first["Calls"] == "1,234" and first["Billed originator"] == "1,234.50 EUR"
    assert first["Duration"] == "1:02:05" and first["ASR %"] == "0.24"  # 3 of 1234
    assert first["PDD"] == "2.50" and first["Margin %"] == "19.00"    # 234.5 / 1234.5
    total = dict(zip(frame.columns, frame.iloc[-1], strict=True))
    assert (total["Originator ID"], total["Originator"], total["Originator rate"]) == ("Total", "", "")
    assert total["Calls"] == "1,237" and total["Profit"] == "232.50 EUR"  # 1234.5 - 1002


def test_the_app_table_shows_what_the_command_line_shows(report):
    shown = styled(report, report.rows).to_string(delimiter="\t").splitlines()
    frame = formatting.display_frame(report, with_totals=False)
    for line, (_, expected) in zip(shown[1:], frame.iterrows(), strict=True):
        assert line.split("\t")[1:] == list(expected)  # the Styler's first cell is the index
