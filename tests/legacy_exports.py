"""The exporters as they were before they went columnar (core/exports.py at 9f4faea),
kept verbatim as the oracle: the columnar writers must write exactly this text.

Do not "improve" this file: its value is that it is the old code, cell by cell.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator
from xml.sax.saxutils import escape as _xml_escape

from core.report import Report

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
CSV_DECIMALS = 6


def neutralise(cell: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with ' (caller IDs are chosen by callers)."""
    if cell and cell.startswith(FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        text = f"{value:.{CSV_DECIMALS}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if hasattr(value, "item"):  # numpy scalars
        return _csv_value(value.item())
    return neutralise(str(value))


def _records(report: Report) -> list[dict]:
    return report.rows.to_dict("records")


def to_csv(report: Report) -> str:
    """The table's columns, a header row, the rows, and a final Total row; numbers unformatted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = report.columns
    writer.writerow(columns)
    for record in _records(report):
        writer.writerow([_csv_value(record.get(c)) for c in columns])
    total = [""] * len(columns)
    if columns:
        total[0] = "Total"
    for i, c in enumerate(columns):
        if c in report.totals:
            total[i] = _csv_value(report.totals[c])
    writer.writerow(total)
    return buffer.getvalue()


def _json_value(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_dict(report: Report) -> dict:
    return {
        "currency": report.currency,
        "from": report.from_,
        "till": report.till,
        "rows": [{c: _json_value(r.get(c)) for c in report.columns} for r in _records(report)],
        "totals": {c: _json_value(v) for c, v in report.totals.items()},
    }


def to_json(report: Report) -> str:
    """The machine form: numbers unrounded, keys and labels as in the spec."""
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class Exporter:
    name: str
    extension: str
    mime: str
    write: Callable[[Report], str]


EXPORTERS: dict[str, Exporter] = {
    "csv": Exporter("csv", "csv", "text/csv", to_csv),
    "json": Exporter("json", "json", "application/json", to_json),
}


def export(report: Report, fmt: str) -> str:
    return EXPORTERS[fmt].write(report)


def filename(report: Report, fmt: str, stem: str = "aggregate") -> str:
    start = datetime.fromtimestamp(report.from_, timezone.utc).strftime("%Y%m%d")
    end = datetime.fromtimestamp(report.till, timezone.utc).strftime("%Y%m%d")
    return f"{stem}_{start}-{end}_{report.currency}.{EXPORTERS[fmt].extension}"


# --- XML: MOR's aggregate_get answer (spec section 8), as core.server sends it ----------

# Characters XML 1.0 cannot carry at all, even escaped; a label holding one gets U+FFFD.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_value(value) -> str:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)  # unrounded: the shortest text that reads back as the same number
    # A raw CR would come back as LF (XML normalises line ends), so it travels as &#13;.
    return _xml_escape(_XML_INVALID.sub("\ufffd", str(value)), {"\r": "&#13;"})


def _xml_elements(items, indent: str) -> str:
    return "".join(f"{indent}<{name}>{_xml_value(value)}</{name}>\n" for name, value in items)


XML_CHUNK_ROWS = 1000  # ~0.6-1.2 MB of text per chunk


def xml_chunks(report: Report, rows_per_chunk: int = XML_CHUNK_ROWS) -> Iterator[str]:
    """to_xml's text in pieces of `rows_per_chunk` aggregates, so that a server can send a
    large answer without ever holding all of it (nor every row as a dict) in memory."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <aggregates>\n'
    columns = report.columns
    for start in range(0, len(report.rows), rows_per_chunk):
        records = report.rows.iloc[start:start + rows_per_chunk].to_dict("records")
        yield "".join("    <aggregate>\n"
                      + _xml_elements(((c, record.get(c)) for c in columns), " " * 6)
                      + "    </aggregate>\n" for record in records)
    yield ("  </aggregates>\n  <totals>\n" + _xml_elements(report.totals.items(), " " * 4)
           + "  </totals>\n</page>\n")


def to_xml(report: Report) -> str:
    """<page><aggregates><aggregate>…</aggregate></aggregates><totals>…</totals></page>."""
    return "".join(xml_chunks(report))


EXPORTERS["xml"] = Exporter("xml", "xml", "application/xml", to_xml)
