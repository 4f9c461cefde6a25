"""Writers of a Report: one registry, one small function per format (spec section 9).

Pages, the command line and the server pick a writer by name and never know which
source produced the report. Each format is defined cell by cell (`_csv_value`,
`_json_value`, `_xml_value`); core.columnar applies those rules a column at a time, so a
report of millions of rows is written at the speed of Arrow's kernels, in chunks that go
straight to a file, a download or an HTTP answer without the whole text in memory.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Callable, Iterator
from xml.sax.saxutils import escape as _xml_escape

from . import columnar, xlsx
from .report import Report

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
CSV_DECIMALS = 6
CHUNK_ROWS = 50_000   # rows per piece of an export: ~10-30 MB of text


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


def _csv_field(text: str) -> str:
    """A field as the csv module writes it between others (QUOTE_MINIMAL, CRLF lines)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# Text that needs the per-cell rule: a formula to neutralise, or a field to quote.
CSV_CELLS = columnar.Cells(cell=lambda v: _csv_field(_csv_value(v)), special=r'^[=+\-@\t\r]|[,"\r\n]',
                           quote="", missing="", fixed6=True)


def to_csv(report: Report) -> str:
    """The table's columns, a header row, the rows, and a final Total row; numbers unformatted."""
    return "".join(csv_chunks(report))


def _csv_row(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def csv_chunks(report: Report, rows_per_chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """to_csv's text in pieces: the header, `rows_per_chunk` rows at a time, the Total row."""
    columns = report.columns
    yield _csv_row(columns)
    for part in _parts(report, rows_per_chunk):
        try:
            if len(columns) == 1:   # the csv module quotes a lone empty field: per record
                raise columnar.NotText("one column")
            texts = [columnar.texts(_column(part, c), CSV_CELLS) for c in columns]
            texts[-1] = columnar.ended(texts[-1], "\r\n")
            yield columnar.rows_text(texts, ",")
        except columnar.NotText:
            yield "".join(_csv_row([_csv_value(record.get(c)) for c in columns])
                          for record in part.to_dict("records"))
    total = [""] * len(columns)
    if columns:
        total[0] = "Total"
    for i, c in enumerate(columns):
        if c in report.totals:
            total[i] = _csv_value(report.totals[c])
    yield _csv_row(total)


# --- JSON --------------------------------------------------------------------------------------

def _json_value(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


JSON_CELLS = columnar.Cells(cell=lambda v: json.dumps(_json_value(v), ensure_ascii=False),
                            special=r'[\x00-\x1f"\\]', quote='"', missing="null", fixed6=False)
_NO_ROWS = '\n  "rows": [],\n'   # where json.dumps(indent=2) puts the rows: a line of its own


def json_chunks(report: Report, rows_per_chunk: int = CHUNK_ROWS) -> Iterator[str]:
    """to_json's text in pieces, `rows_per_chunk` rows at a time: as json.dumps(indent=2)
    writes the whole, without every row as a dict."""
    whole = {"currency": report.currency, "from": report.from_, "till": report.till, "rows": [],
             "totals": {c: _json_value(v) for c, v in report.totals.items()}}
    skeleton = json.dumps(whole, ensure_ascii=False, indent=2) + "\n"
    if report.rows.empty:
        yield skeleton
        return
    before, after = skeleton.split(_NO_ROWS, 1)
    yield before + '\n  "rows": [\n'
    names = [json.dumps(c, ensure_ascii=False) for c in report.columns]
    for n, part in enumerate(_parts(report, rows_per_chunk)):
        try:
            pieces: list = []   # every row begins ",\n" (cut from the very first)
            for i, column in enumerate(report.columns):
                pieces.append((",\n    {\n      " if i == 0 else ",\n      ") + names[i] + ": ")
                pieces.append(columnar.texts(_column(part, column), JSON_CELLS))
            pieces.append("\n    }")
            text = columnar.rows_text(columnar.interleaved(pieces))
        except columnar.NotText:   # record by record, each as json.dumps nests it two deep
            text = "".join(",\n    " + json.dumps({c: _json_value(r.get(c)) for c in report.columns},
                                                  ensure_ascii=False, indent=2).replace("\n", "\n    ")
                           for r in part.to_dict("records"))
        yield text[2:] if n == 0 else text
    yield "\n  ],\n" + after


def to_json(report: Report) -> str:
    """The machine form: numbers unrounded, keys and labels as in the spec."""
    return "".join(json_chunks(report))


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


XML_CELLS = columnar.Cells(cell=_xml_value, special=r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]",
                           quote="", missing="", fixed6=False)


def _xml_elements(items, indent: str) -> str:
    return "".join(f"{indent}<{name}>{_xml_value(value)}</{name}>\n" for name, value in items)


XML_CHUNK_ROWS = 10_000  # ~6-12 MB of text per chunk


def xml_chunks(report: Report, rows_per_chunk: int = XML_CHUNK_ROWS) -> Iterator[str]:
    """to_xml's text in pieces of `rows_per_chunk` aggregates, so that a server can send a
    large answer without ever holding all of it (nor every row as a dict) in memory."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <aggregates>\n'
    for part in _parts(report, rows_per_chunk):
        try:
            pieces: list = ["    <aggregate>\n"]
            for column in report.columns:
                pieces += [f"      <{column}>", columnar.texts(_column(part, column), XML_CELLS),
                           f"</{column}>\n"]
            pieces.append("    </aggregate>\n")
            yield columnar.rows_text(columnar.interleaved(pieces))
        except columnar.NotText:
            yield "".join("    <aggregate>\n" + _xml_elements(((c, r.get(c)) for c in report.columns),
                                                          " " * 6)
                          + "    </aggregate>\n" for r in part.to_dict("records"))
    yield ("  </aggregates>\n  <totals>\n" + _xml_elements(report.totals.items(), " " * 4)
           + "  </totals>\n</page>\n")


def to_xml(report: Report) -> str:
    """<page><aggregates><aggregate>…</aggregate></aggregates><totals>…</totals></page>."""
    return "".join(xml_chunks(report))


# --- the rows, a piece at a time -------------------------------------------------------------

def _parts(report: Report, rows_per_chunk: int):
    rows = report.rows
    for start in range(0, len(rows), max(1, rows_per_chunk)):
        yield rows.iloc[start:start + rows_per_chunk]


def _column(part, name: str):
    """A column of the rows; a column of None when the rows lack it (as a record's .get would)."""
    if name in part:
        return part[name]
    import pandas as pd
    return pd.Series([None] * len(part), index=part.index, dtype=object)


# --- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exporter:
    name: str
    extension: str
    mime: str
    chunks: Callable[[Report], Iterator[str]] | None
    # A binary format (xlsx) writes to a byte stream instead of yielding text: the command
    # line refuses it to a terminal, a download offers its bytes (export_bytes).
    write_binary: Callable[[Report, IO[bytes]], None] | None = None

    @property
    def binary(self) -> bool:
        return self.write_binary is not None

    def write(self, report: Report) -> str:
        return "".join(self.chunks(report))


EXPORTERS: dict[str, Exporter] = {
    "csv": Exporter("csv", "csv", "text/csv", csv_chunks),
    "json": Exporter("json", "json", "application/json", json_chunks),
    "xml": Exporter("xml", "xml", "application/xml", xml_chunks),
    "xlsx": Exporter("xlsx", "xlsx", xlsx.MIME, None, write_binary=xlsx.write_xlsx),
}


def export(report: Report, fmt: str) -> str | bytes:
    """The whole export as one string (small reports, tests); bytes for a binary format."""
    if EXPORTERS[fmt].binary:
        return export_bytes(report, fmt)
    return EXPORTERS[fmt].write(report)


def export_chunks(report: Report, fmt: str) -> Iterator[str]:
    """The export in pieces: what a file, a download or an HTTP answer should be fed."""
    if EXPORTERS[fmt].binary:
        raise TypeError(f"{fmt} is a binary format: use export_bytes or write_binary_to")
    return EXPORTERS[fmt].chunks(report)


def write_to(handle: IO[str], report: Report, fmt: str) -> None:
    """Write the export to a text file, a piece at a time."""
    for chunk in export_chunks(report, fmt):
        handle.write(chunk)


def export_bytes(report: Report, fmt: str) -> bytes:
    """The export as UTF-8 bytes (a download), built from the pieces without the whole text
    also held as a str."""
    buffer = io.BytesIO()
    if EXPORTERS[fmt].binary:
        EXPORTERS[fmt].write_binary(report, buffer)
        return buffer.getvalue()
    for chunk in export_chunks(report, fmt):
        buffer.write(chunk.encode("utf-8"))
    return buffer.getvalue()


def filename(report: Report, fmt: str, stem: str = "aggregate") -> str:
    start = datetime.fromtimestamp(report.from_, timezone.utc).strftime("%Y%m%d")
    end = datetime.fromtimestamp(report.till, timezone.utc).strftime("%Y%m%d")
    return f"{stem}_{start}-{end}_{report.currency}.{EXPORTERS[fmt].extension}"
