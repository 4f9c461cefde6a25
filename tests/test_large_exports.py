"""Large exports are written a column at a time, and say exactly what the old writers said.

The oracle is tests/legacy_exports.py: the cell-by-cell exporters as they were before
(kept verbatim). A generated report of 200,000 rows, with every formula-looking and
control-character name the other tests use, must come out byte for byte the same as CSV,
JSON and XML, from the command line's writer and from the app's download buttons.
"""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from core import exports
from core.cli import write_output
from core.report import SUM_COLUMNS, Report
from tests import legacy_exports as legacy

ROWS = 200_000
FORMATS = {"csv": legacy.to_csv, "json": legacy.to_json, "xml": legacy.to_xml}

# Names from the other tests (formulas, terminal escapes, XML's specials, CR/LF, NUL, …).
HOSTILE = ["=cmd|' /C calc'!A0", "@SUM(A1)", "=1+2", "+1-2", "-5", "-1e5", "+.5", "-٣", "٣",
           "\tTab", "\rCR", "a,b", 'q"uote', "two\nlines\r\nand\rmore", "trailing\n",
           "Evil\x1b[31mRed\u202eesrever\x9b2J\u2066x\x07\x7f", 'A <b> & "c"\r\x01',
           "Evil\x1b]0;owned\x07\nsecond line", "\u202eevil", "\u2060", "\x00", "nul\x00inside",
           "x\ufffe\uffff", "back\\slash", "UK_Mobile", "50%", "e\u2028f", "", " lead", "-"]
ORDINARY = ["John Smith", "Rita", "Kowalski", "SIP/1002", "Lithuania Mobile", "Carrier A",
            "(Unassigned Providers)", "Provider #0", "Žemaitė Ąžuolas", "東京"]


def generated_sums(rows: int, seed: int = 11, wild: bool = True) -> pd.DataFrame:
    """Per-group sums as a source returns them: every grouping's key and label, and
    additive columns of every size, sign and precision a month of calls can produce
    (`wild`: money from 1e-7 to 1e13 and a few extremes; else what a month usually holds)."""
    rng = np.random.default_rng(seed)
    names = np.array(HOSTILE + ORDINARY * 6, dtype=object)

    def labels():
        column = names[rng.integers(0, len(names), rows)]
        column[rng.random(rows) < 0.002] = None
        return pd.Series(column, dtype="str")

    def money(scale):
        value = rng.random(rows) * scale * 10.0 ** (rng.integers(-7, 7, rows) if wild else 2)
        value[rng.random(rows) < 0.05] = 0.0
        cents = rng.random(rows) < 0.2      # prices of whole cents, as many tariffs have
        value[cents] = np.round(value[cents], 2)
        return value

    total = rng.integers(1, 5000, rows)
    answered = (total * rng.random(rows)).astype("int64")
    rates = np.round(rng.random(rows) * 0.1, rng.integers(1, 6))
    rates[rng.random(rows) < 0.01] = np.nan
    frame = pd.DataFrame({
        "originator_id": rng.integers(1, 100_000, rows), "originator": labels(),
        "device_id": rng.integers(1, 150_000, rows), "device": labels(),
        "terminator_id": rng.integers(0, 50, rows), "terminator": labels(),
        "provider_id": rng.integers(0, 200, rows), "provider": labels(),
        "dst_group_id": rng.integers(0, 300, rows), "dst_group": labels(),
        "dst": pd.Series(rng.integers(1, 10**6, rows).astype(str), dtype="str"), "destination": labels(),
        "day": pd.Series(rng.choice(["2024-06-01", "2024-06-15", "2024-06-30"], rows), dtype="str"),
        "hour": rng.integers(0, 24, rows), "user_rate": rates, "provider_rate": rates / 3,
        "total_calls": total, "answered_calls": answered,
        "billed_originator": money(10.0), "billed_terminator": money(12.0),
        "billed_duration_originator": answered * 61, "billed_duration_terminator": answered * 60,
        "duration": answered * 59 + rng.integers(0, 60, rows),
        "pdd_sum": rng.random(rows) * 1e3, "pdd_count": answered,
    })
    if wild:
        frame.loc[frame.index[:3], ["billed_originator", "billed_terminator"]] = [
            [1e15, 1e16], [5e-7, -2.5e-7], [0.0078125, 123456.7890125]]
    return frame


KEYS = ["originator_id", "originator", "device_id", "device", "terminator_id", "terminator",
        "provider_id", "provider", "dst_group_id", "dst_group", "dst", "destination", "day", "hour",
        "user_rate", "provider_rate"]


@pytest.fixture(scope="module")
def big() -> Report:
    return Report.from_sums(generated_sums(ROWS), key_columns=KEYS, rate=0.9, currency="EUR",
                            from_=1717200000, till=1719791999, profit_show=True)


@pytest.fixture(scope="module")
def expected(big) -> dict[str, str]:
    """What the old writers write for the big report (computed once: they are slow)."""
    return {fmt: write(big) for fmt, write in FORMATS.items()}


def test_the_generated_report_has_what_it_should(big):
    assert len(big.rows) == ROWS and len(big.columns) == len(KEYS) + 13
    texts = set(big.rows["originator"].dropna())
    assert set(HOSTILE) <= texts and big.rows["originator"].isna().any()
    assert (big.rows["profit"] < 0).any() and big.rows["user_rate"].isna().any()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_the_old_text_byte_for_byte(big, expected, fmt):
    assert exports.export(big, fmt) == expected[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_any_chunk_size_joins_to_the_same_text(big, expected, fmt):
    chunks = {"csv": exports.csv_chunks, "json": exports.json_chunks, "xml": exports.xml_chunks}[fmt]
    pieces = list(chunks(big, 7_777))
    assert "".join(pieces) == expected[fmt]
    assert len(pieces) >= ROWS // 7_777   # written in pieces, never all at once


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_command_lines_file_is_the_old_text(big, expected, fmt, tmp_path):
    target = tmp_path / f"out.{fmt}"
    write_output(exports.export_chunks(big, fmt), target)
    assert target.read_bytes() == expected[fmt].encode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_apps_download_is_the_old_text(big, expected, fmt):
    from ui.view import download_data
    data = download_data(big, fmt)
    assert callable(data)                 # generated when clicked, not on every rerun
    assert data() == expected[fmt].encode("utf-8")


def test_plain_cells_never_go_through_the_per_cell_writer(monkeypatch):
    """The speed: ordinary numbers and names are written by column; only the cells that need
    it (a formula, a quote, a NaN) reach the per-cell rule."""
    sums = generated_sums(5_000, wild=False)
    for column in ("originator", "device", "terminator", "provider", "dst_group", "destination"):
        sums[column] = "Plain name"
    report = Report.from_sums(sums.drop(columns=["user_rate", "provider_rate"]), key_columns=KEYS[:14],
                              rate=0.9, currency="EUR", from_=0, till=1, profit_show=True)
    calls = []
    for name in ("_csv_value", "_xml_value", "_json_value"):
        original = getattr(exports, name)
        monkeypatch.setattr(exports, name, lambda v, _f=original: calls.append(v) or _f(v))
    for fmt in FORMATS:
        exports.export(report, fmt)
    assert len(calls) < 3 * len(report.totals) + 50    # the totals, and the rare odd cell


# --- the edges, each against the old writers ----------------------------------------------------

def small(rows: pd.DataFrame, keys: list[str], metrics: list[str], totals=None) -> Report:
    return Report(rows=rows, totals=totals or {"total_calls": 3, "billed_originator": 0.1 + 0.2},
                  currency="USD", from_=0, till=86399, key_columns=keys, metric_columns=metrics)


EDGES = {
    "no rows": small(pd.DataFrame({"day": pd.Series([], dtype=object), "total_calls": []}),
                     ["day"], ["total_calls"], totals={}),
    "one column": small(pd.DataFrame({"day": ["", "a,b", None, "=x"]}), ["day"], []),
    "a column the rows lack": small(pd.DataFrame({"day": ["2024-06-01"]}), ["day"], ["total_calls"]),
    "objects of every kind": small(pd.DataFrame({
        "originator": pd.Series(["x", 1, 2.5, None, float("nan"), True, pd.NA, "\ud800", np.int64(4)],
                                dtype=object),
        "total_calls": np.arange(9), "flag": [True, False] * 4 + [True]}),
        ["originator"], ["total_calls", "flag"]),
    "missing text only": small(pd.DataFrame({"originator": pd.Series([None, None], dtype=object),
                                             "total_calls": [1, 2]}), ["originator"], ["total_calls"]),
    "floats at every edge": small(pd.DataFrame({"billed_originator": [
        0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e15, 1e16, 1e22, 1e-4, 9.99e-5, 5e-7,
        -5e-7, 4.9999999e-7, 0.0078125, 2.5e-7, 123456.7890125, 5e-324, 1.7976931348623157e308,
        0.1 + 0.2, 100.0, -1.0000005, 1.0000005, 2**53 + 0.0, 4503599627370495.5, 999999.9999995]}),
        [], ["billed_originator"]),
    "float32 and nullable integers": small(pd.DataFrame({
        "acd": np.array([0.1, 2.5], dtype=np.float32), "total_calls": pd.array([1, None], dtype="Int64")}),
        [], ["acd", "total_calls"]),
}


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "json"])
@pytest.mark.parametrize("case", EDGES)
def test_edges_are_the_old_text(case, fmt):
    assert exports.export(EDGES[case], fmt) == FORMATS[fmt](EDGES[case])


@pytest.mark.parametrize("case", EDGES)
def test_edges_are_the_old_json(case):
    report = EDGES[case]
    try:
        old = legacy.to_json(report)
    except TypeError as exc:   # pd.NA: the old writer could not write it; nor may the new one
        with pytest.raises(TypeError):
            exports.to_json(report)
        assert "NAType" in str(exc)
        return
    assert exports.to_json(report) == old
    json.loads(old.replace("NaN", "null").replace("Infinity", "1e999"))


def test_floats_of_every_magnitude_are_written_as_before():
    """1.2M floats from 1e-12 to 1e20, both signs, and values one ulp from a 6-decimal tie."""
    rng = np.random.default_rng(5)
    wide = rng.standard_normal(1_000_000) * 10.0 ** rng.integers(-12, 21, 1_000_000)
    ties = (rng.integers(-10**9, 10**9, 200_000) + 0.5) / 1e6
    ties = np.nextafter(ties, rng.choice([-np.inf, np.inf], ties.size))
    values = np.concatenate([wide, ties, np.round(wide, 6)])
    report = small(pd.DataFrame({"acd": values}), [], ["acd"], totals={})
    for fmt in FORMATS:
        assert exports.export(report, fmt) == FORMATS[fmt](report), fmt


def test_csv_quoting_is_the_csv_modules():
    """A field between others is quoted exactly when the csv module quotes it."""
    rng = np.random.default_rng(3)
    alphabet = list("ab ,\"'\r\n\t\x00;|=+-@\\") + ["\u2028", "\x1e", "é"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet, rng.integers(0, 6)))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow([text, "x"])
        assert exports._csv_field(text) + ",x\r\n" == buffer.getvalue(), repr(text)


def test_sums_of_any_size_keep_their_money_exact():
    """The generated report's own numbers: from_sums kept them as floats, never rounded."""
    sums = generated_sums(1_000)
    report = Report.from_sums(sums, key_columns=KEYS, rate=1.0, currency="USD", from_=0, till=1,
                              profit_show=True)
    assert report.rows["billed_originator"].tolist() == sums["billed_originator"].tolist()
    assert report.rows["duration"].dtype == np.int64
    assert math.isclose(report.totals["total_calls"], int(sums["total_calls"].sum()))
    assert set(SUM_COLUMNS) - set(report.columns) == {"pdd_sum", "pdd_count"}
