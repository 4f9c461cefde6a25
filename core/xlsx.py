"""The XLSX export: one sheet finance can sum, written with openpyxl in write-only mode.

Layout (docs/decisions.md): the first rows say what the sheet is (period and time zone,
the compared period if any, acting user, currency, source), then a blank row, the
headings a person reads (the currency after money, % after percents), the column names
exactly as CSV, JSON and XML carry them, the rows, and the Total row last in bold. The
panes are frozen below the names and the autofilter covers the names and the rows.
The same facts are in the document properties.

Cells: money as numbers formatted #,##0.00; counts and ids as integers; durations as
Excel durations (seconds / 86400, [h]:mm:ss) so that Excel sums them, except the changes
of durations (delta_*), which may be negative, where Excel shows ##### for a negative time:
those are seconds; ASR, margin, markup and changes in % as numbers in percent units
(47.85) formatted 0.00; text always as text (the cell's type set to string, so a name
such as =1+2 is never a formula).
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import IO
from zoneinfo import ZoneInfo

from .report import KINDS, Report

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_MAX_ROWS = 1_048_576
CHUNK_ROWS = 50_000
FORMATS = {"money": "#,##0.00", "count": "#,##0", "duration": "[h]:mm:ss", "percent": "0.00",
           "seconds": "0.00", "rate": "0.0000", "id": "0", "integer": "0"}
SECONDS = "#,##0"   # a change of a duration, in seconds


class ExportTooLarge(ValueError):
    """The report has more rows than a spreadsheet holds."""


def _kind(column: str) -> str:
    kind = KINDS.get(column, "text")
    if kind == "duration" and column.startswith("delta_"):
        return "delta_seconds"
    return kind


def heading(report: Report, column: str) -> str:
    """The column's heading with its unit: the currency after money, % after percents."""
    label, kind = report.label(column), _kind(column)
    if kind == "money":
        return f"{label} ({report.currency})"
    if kind == "percent" and "%" not in label and "points" not in label:
        return f"{label} %"
    if kind == "delta_seconds":
        return f"{label} (s)"
    return label


def _when(epoch: int | None, tz: str) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def facts(report: Report) -> list[tuple[str, str]]:
    """What the sheet's first rows say about the report."""
    tz = report.timezone or "UTC"
    out = [("Period", f"{_when(report.from_, tz)} – {_when(report.till, tz)} ({tz})")]
    if report.compare:
        out.append(("Compared with", f"{_when(report.prev_from, tz)} – {_when(report.prev_till, tz)} "
                                     f"({report.compare})"))
    out += [("Acting user", report.user or ""), ("Currency", report.currency),
            ("Source", report.source or "")]
    return out


def write_xlsx(report: Report, stream: IO[bytes]) -> None:
    """Write the report as an .xlsx workbook to a binary stream; ExportTooLarge, before
    anything is written, when its rows do not fit in a sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    meta = facts(report)
    header_row = len(meta) + 2          # the facts, a blank row, then the headings
    names_row = header_row + 1
    needed = names_row + len(report.rows) + 1
    if needed > EXCEL_MAX_ROWS:
        room = EXCEL_MAX_ROWS - needed + len(report.rows)
        raise ExportTooLarge(
            f"the report has {len(report.rows):,} rows and an XLSX sheet holds at most "
            f"{EXCEL_MAX_ROWS:,} rows (with its headings and totals, {room:,} report rows); "
            "export it as CSV instead, or narrow the period or the grouping")

    workbook = Workbook(write_only=True)
    props = workbook.properties
    props.title = "MOR Aggregates"
    props.subject = "; ".join(f"{k}: {v}" for k, v in meta)
    props.creator = report.user or "MOR Aggregates"
    props.description = props.subject
    sheet = workbook.create_sheet("Aggregates")
    columns = report.columns
    kinds = [_kind(c) for c in columns]
    bold, faint = Font(bold=True), Font(italic=True, color="808080")
    sheet.freeze_panes = f"A{names_row + 1}"
    last_col = get_column_letter(max(1, len(columns)))
    sheet.auto_filter.ref = f"A{names_row}:{last_col}{names_row + max(len(report.rows), 1)}"

    def text(value, font=None):
        cell = WriteOnlyCell(sheet, value=_clean(str(value)))
        cell.data_type = "s"    # never a formula, whatever the text begins with
        if font is not None:
            cell.font = font
        return cell

    def number(value, kind, font=None):
        value = _number(value)
        if value is None:
            return WriteOnlyCell(sheet, value=None) if font is None else _styled(WriteOnlyCell(sheet), font)
        if kind == "duration":
            value = value / 86400
        elif kind in ("count", "id", "integer", "delta_seconds") and float(value).is_integer():
            value = int(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = FORMATS.get(kind, SECONDS)
        if font is not None:
            cell.font = font
        return cell

    for name, value in meta:
        sheet.append([text(name, bold), text(value)])
    sheet.append([])
    sheet.append([text(heading(report, c), bold) for c in columns])
    sheet.append([text(c, faint) for c in columns])
    rows = report.rows
    for start in range(0, len(rows), CHUNK_ROWS):
        part = rows.iloc[start:start + CHUNK_ROWS]
        values = [part[c].tolist() if c in part else [None] * len(part) for c in columns]
        for record in zip(*values, strict=True):
            sheet.append([_cell(v, k, text, number) for v, k in zip(record, kinds, strict=True)])
    total = []
    for i, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
        if i == 0 and column not in report.totals:
            total.append(text("Total", bold))
        elif column in report.totals:
            total.append(number(report.totals[column], kind, bold))
        else:
            total.append(_styled(WriteOnlyCell(sheet), bold))
    sheet.append(total)
    workbook.save(stream)


def _cell(value, kind, text, number):
    if kind == "text":
        return None if _missing(value) else text(value)
    if isinstance(value, str):      # a key of a numeric kind that came as text (an API)
        return text(value)
    return number(value, kind)


def _styled(cell, font):
    cell.font = font
    return cell


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value):
    if hasattr(value, "item"):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean(text: str) -> str:
    """Text a sheet can hold: no control characters (XML 1.0 cannot carry them) and no lone
    surrogates; each becomes U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    text = text.encode("utf-8", "replace").decode("utf-8") if not _utf8(text) else text
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
