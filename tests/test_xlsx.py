"""The XLSX export (issue 13, item 4), read back with openpyxl.

The report is built from hand-written sums (Report.from_sums), so every value is known:
two rows, one named '=1+2' (a formula-looking name), in EUR at rate 0.5.
"""
from __future__ import annotations

import io
import json
import math
from datetime import timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook

from core import xlsx
from core.cli import main
from core.exports import EXPORTERS, export, export_bytes
from core.report import Report

SUMS = pd.DataFrame([
    dict(originator_id=2, originator="=1+2", total_calls=4, answered_calls=3,
         billed_originator=10.0, billed_terminator=6.0, billed_duration_originator=3600,
         billed_duration_terminator=3000, duration=5400, pdd_sum=3.0, pdd_count=2),
    dict(originator_id=3, originator="Bob", total_calls=1, answered_calls=0,
         billed_originator=0.0, billed_terminator=0.0, billed_duration_originator=0,
         billed_duration_terminator=0, duration=0, pdd_sum=0.0, pdd_count=0),
])


def report() -> Report:
    out = Report.from_sums(SUMS, key_columns=["originator_id", "originator"], rate=0.5,
                           currency="EUR", from_=1710460800, till=1710547199, profit_show=True,
                           source="test data")
    out.user, out.timezone = "acc", "UTC"
    return out


def sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def seconds(value) -> float:
    """A duration cell read back (openpyxl gives a timedelta for [h]:mm:ss) in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else value * 86400


def header_row(ws) -> int:
    return next(r for r in range(1, 20) if ws.cell(r, 1).value == "originator_id")


def test_layout_facts_frozen_header_and_autofilter():
    ws = sheet(export_bytes(report(), "xlsx"))
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, 6)}
    assert facts["Period"] == "2024-03-15 00:00:00 – 2024-03-15 23:59:59 (UTC)"
    assert facts["Acting user"] == "acc" and facts["Currency"] == "EUR" and facts["Source"] == "test data"
    names = header_row(ws)
    headings = [c.value for c in ws[names - 1]]
    assert "Billed originator (EUR)" in headings and "ASR %" in headings and "Margin %" in headings
    assert ws.freeze_panes == f"A{names + 1}"
    assert ws.auto_filter.ref == f"A{names}:{ws.cell(names, ws.max_column).column_letter}{names + 2}"
    total = ws.max_row
    assert total == names + 3 and ws.cell(total, 1).value == "Total" and ws.cell(total, 1).font.b
    assert ws.cell(total, 3).font.b


def test_cell_types_and_formats():
    ws = sheet(export_bytes(report(), "xlsx"))
    names = header_row(ws)
    col = {ws.cell(names, c).value: c for c in range(1, ws.max_column + 1)}
    row = names + 1
    cell = lambda name: ws.cell(row, col[name])     # noqa: E731
    assert cell("originator").value == "=1+2" and cell("originator").data_type == "s"
    assert cell("total_calls").value == 4 and isinstance(cell("total_calls").value, int)
    assert cell("billed_originator").value == 5.0 and cell("billed_originator").number_format == "#,##0.00"
    assert cell("duration").number_format == "[h]:mm:ss"
    assert math.isclose(seconds(cell("duration").value), 5400)        # 1:30:00
    assert math.isclose(cell("asr").value, 75.0) and cell("asr").number_format == "0.00"
    assert math.isclose(cell("margin").value, 40.0)                   # (5 - 3) / 5
    assert cell("originator_id").value == 2


def test_values_equal_the_json_export():
    rep = report()
    data = json.loads(export(rep, "json"))
    ws = sheet(export_bytes(rep, "xlsx"))
    names = header_row(ws)
    columns = [c.value for c in ws[names]]
    assert columns == rep.columns
    for i, expected in enumerate(data["rows"] + [data["totals"]]):
        for j, name in enumerate(columns, start=1):
            got = ws.cell(names + 1 + i, j).value
            want = expected.get(name) if i < len(data["rows"]) or name in data["totals"] else None
            if i == len(data["rows"]) and j == 1:
                assert got == "Total"
                continue
            if xlsx._kind(name) == "duration" and want is not None:
                got = seconds(got)
            if isinstance(want, float) or isinstance(got, float):
                assert math.isclose(float(got), float(want), abs_tol=1e-6), (name, got, want)
            else:
                assert got == want, (name, got, want)


def test_a_compared_report_keeps_its_columns_and_empty_percentages():
    from core.compare import combine
    current, previous = report(), report()
    previous.rows = previous.rows.iloc[:1]
    out = combine(current, previous, compare="previous", prev_from=1710374400, prev_till=1710460799)
    out.user, out.timezone = "acc", "UTC"
    ws = sheet(export_bytes(out, "xlsx"))
    names = header_row(ws)
    col = {ws.cell(names, c).value: c for c in range(1, ws.max_column + 1)}
    bob = names + 2
    assert ws.cell(bob, col["prev_total_calls"]).value == 0
    assert ws.cell(bob, col["delta_pct_total_calls"]).value is None
    assert ws.cell(bob, col["delta_duration"]).number_format == "#,##0"     # seconds, may be < 0
    assert ws.cell(3, 1).value == "Acting user" and ws.cell(2, 1).value == "Compared with"


def test_too_many_rows_is_a_clear_error_that_suggests_csv(monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 9)
    with pytest.raises(xlsx.ExportTooLarge, match="CSV"):
        export_bytes(report(), "xlsx")
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 10)   # 4 facts, blank, 2 headers, 2 rows, total
    export_bytes(report(), "xlsx")


def test_xlsx_on_the_command_line(tmp_path, capsys, db_url_factory, monkeypatch):
    from tests.fixture_compare import FROM, TABLES, TILL
    _, url = db_url_factory(TABLES)
    period = [f"from={FROM}", f"till={TILL}"]
    assert EXPORTERS["xlsx"].binary
    assert main(["report", "--db", url, "--format", "xlsx", *period]) == 2
    assert "--format xlsx needs --output FILE" in capsys.readouterr().err
    target = tmp_path / "r.xlsx"
    assert main(["report", "--db", url, "--format", "xlsx", "--output", str(target),
                 "--compare", "previous", *period]) == 0
    ws = sheet(target.read_bytes())
    names = header_row(ws)
    assert "delta_pct_total_calls" in [c.value for c in ws[names]]
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 5)
    assert main(["report", "--db", url, "--format", "xlsx", "--output", str(tmp_path / "s.xlsx"),
                 *period]) == 2
    assert "CSV" in capsys.readouterr().err and not (tmp_path / "s.xlsx").exists()
