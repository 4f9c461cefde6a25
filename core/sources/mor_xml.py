"""Reading MOR's aggregate_get XML into a Report, leniently (spec section 8).

MOR's element names are not published and have varied between versions, so every child
of a row becomes a column, known aliases are mapped to the spec's names, durations may be
seconds or H:MM:SS, and ratios are recomputed from the additive columns whenever they are
present (MOR has sent ASR both as a percent and as a fraction). Entities and DTDs are
refused: a hostile or broken server must not exhaust memory.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from ..errors import SourceUnavailable
from ..groupings import GROUPINGS
from ..params import Params
from ..query import key_columns
from ..report import ADDITIVE, COUNTS, DURATIONS, ID_KEYS, METRICS, PROFIT, RATIOS, Report, derive

ALIASES = {
    "billed_orig": "billed_originator", "price_orig": "billed_originator",
    "user_billed": "billed_originator",
    "billed_term": "billed_terminator", "price_term": "billed_terminator",
    "terminator_billed": "billed_terminator",
    "billsec_orig": "billed_duration_originator",
    "billsec_term": "billed_duration_terminator",
    "billsec": "duration",
}
KNOWN_KEYS = tuple(c for g in GROUPINGS for c in g.columns)
INT_KEYS = ID_KEYS + ("hour",)
FLOAT_KEYS = ("user_rate", "provider_rate")
WHOLE_SECONDS = ("billed_duration_originator", "billed_duration_terminator")
_HMS = re.compile(r"^(-?)(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")


def parse_document(body: bytes):
    """The root element, or SourceUnavailable saying what is wrong with the answer."""
    head = body[:200].lstrip().lower()
    if not head:
        raise SourceUnavailable("the MOR server sent an empty answer",
                                hint="check the base URL and the server's error log")
    if head.startswith((b"<!doctype html", b"<html")):
        raise SourceUnavailable("the MOR server sent a web page, not an API answer",
                                hint="the base URL is probably wrong: it is the address of "
                                     "MOR's web interface, e.g. https://host/billing")
    try:
        return fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise SourceUnavailable("the MOR server's answer declares a DTD or XML entities, "
                                "which are refused",
                                hint="MOR never sends them; check that the base URL points "
                                     "at your MOR server") from None
    except ParseError as exc:
        raise SourceUnavailable(f"the MOR server's answer is not well-formed XML ({exc})",
                                hint="the answer may have been cut off; check the server "
                                     "and any proxy between") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def mor_error(root) -> str | None:
    """MOR's error text: <page><status><error>…</error></status></page>, or without <page>."""
    statuses = [root] if _local(root.tag) == "status" else \
        [el for el in root.iter() if _local(el.tag) == "status"]
    for status in statuses:
        for child in status:
            if _local(child.tag) == "error":
                return " ".join((child.text or "").split()) or "an unnamed error"
    return None


def _record(element) -> dict[str, str]:
    """One row's children by column name; a spec name wins over its alias."""
    out: dict[str, str] = {}
    for child in element:
        tag = _local(child.tag)
        name = ALIASES.get(tag, tag)
        if name != tag and name in out:
            continue
        out[name] = "".join(child.itertext())  # labels keep their spaces; numbers are stripped
    return out


def _bad(column: str, value: str, what: str):
    return SourceUnavailable(f"the MOR server sent '{value[:40]}' for {column}; expected {what}",
                             hint="the server's answer is not a usable aggregate report")


def _number(column: str, text: str) -> float:
    text = text.strip()
    if text == "":
        return 0.0
    try:
        return float(text.rstrip("%").strip())
    except ValueError:
        raise _bad(column, text, "a number") from None


def _seconds(column: str, text: str) -> float:
    match = _HMS.match(text.strip())
    if match:
        sign, h, m, s = match.groups()
        value = int(h) * 3600 + int(m) * 60 + float(s)
        return -value if sign else value
    return _number(column, text)


def _integral(values) -> bool:
    return bool(np.all(np.asarray(values, dtype="float64") == np.round(values)))


def _column(name: str, texts: list[str]) -> pd.Series:
    """A column typed as DatabaseSource types it: ints for counts and ids, floats for money."""
    if name in INT_KEYS or name in COUNTS:
        values = [_number(name, t) for t in texts]
        if not _integral(values):
            first = next(t for t, v in zip(texts, values, strict=True) if v != round(v))
            raise _bad(name, first, "a whole number")
        return pd.Series(values, dtype="float64").astype("int64")
    if name in DURATIONS:
        values = pd.Series([_seconds(name, t) for t in texts], dtype="float64")
        whole = name in WHOLE_SECONDS or name == "duration"
        return values.astype("int64") if whole and _integral(values) else values
    if name in METRICS or name in FLOAT_KEYS:
        return pd.Series([_number(name, t) for t in texts], dtype="float64")
    if name in KNOWN_KEYS:
        return pd.Series(texts, dtype=object if not texts else None)
    return _guess(texts)


def _guess(texts: list[str]) -> pd.Series:
    """An unknown column: whole numbers, else numbers, else text."""
    try:
        values = [float(t) for t in texts]
    except ValueError:
        return pd.Series(texts, dtype=object if not texts else None)
    if texts and all(re.fullmatch(r"[+-]?\d+", t.strip()) for t in texts):
        return pd.Series(values, dtype="float64").astype("int64")
    return pd.Series(values, dtype="float64")


def _frame(records: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: _column(c, [r.get(c, "") for r in records]) for c in columns})


def _as_percent(rows: pd.DataFrame, totals: pd.DataFrame | None, texts: list[str]) -> None:
    """MOR's own ASR, used only without the additive columns: a fraction becomes a percent."""
    frames = [f for f in (rows, totals) if f is not None and "asr" in f]
    if not frames or any(t.strip().endswith("%") for t in texts):
        return
    values = np.concatenate([f["asr"].to_numpy(dtype="float64") for f in frames])
    if len(values) and values.max() <= 1.0:
        for f in frames:
            f["asr"] = f["asr"] * 100.0


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Ratios from the additive columns present; MOR's own values stay where they are not."""
    return derive(frame) if any(c in frame for c in ADDITIVE) else frame


def _scalar(column: str, value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and (column in COUNTS or column in WHOLE_SECONDS) \
            and value == round(value):
        return int(value)
    return value


def _computed_totals(rows: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Totals from the rows: sums of the additive columns, ratios of those sums."""
    sums = {c: rows[c].sum() for c in ADDITIVE if c in rows}
    total = _complete(pd.DataFrame([sums])) if sums else pd.DataFrame([{}])
    if "pdd" in rows and "total_calls" in rows:
        weights = rows["total_calls"].to_numpy(dtype="float64")
        total["pdd"] = float(np.average(rows["pdd"], weights=weights)) if weights.sum() else 0.0
        notes.append("The server sent no totals; the total PDD is weighted by calls per row.")
    return total


def read_report(root, params: Params, *, source: str = "") -> Report:
    """A Report from a successful aggregate_get answer, shaped like DatabaseSource's."""
    aggregates = root if _local(root.tag) == "aggregates" else \
        next((el for el in root.iter() if _local(el.tag) == "aggregates"), None)
    totals_el = next((el for el in root.iter() if _local(el.tag) == "totals"), None)
    if aggregates is None and totals_el is None:
        raise SourceUnavailable(f"the MOR server's answer (<{_local(root.tag)}>) holds no "
                                "<aggregates> or <totals>",
                                hint="check that the base URL points at MOR's API")
    records = [_record(el) for el in (aggregates if aggregates is not None else [])]
    total_record = _record(totals_el) if totals_el is not None else None

    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    if not records:  # no rows to learn the columns from: the keys asked for, the metrics sent
        seen.update(dict.fromkeys(key_columns(params)))
        seen.update(dict.fromkeys(total_record or
                                  ADDITIVE + RATIOS + (PROFIT if params.profit_show else ())))
    columns = list(seen)

    rows = _frame(records, columns)
    totals = _frame([total_record], list(total_record)) if total_record is not None else None
    if "answered_calls" not in columns or "total_calls" not in columns:
        texts = [r.get("asr", "") for r in records + ([total_record] if total_record else [])]
        _as_percent(rows, totals, texts)
    rows = _complete(rows)
    notes: list[str] = []
    totals = _complete(totals) if totals is not None else _computed_totals(rows, notes)

    sent = set(columns)
    expected = key_columns(params)
    keys = [c for c in expected if c in sent] + \
        [c for c in columns if c in KNOWN_KEYS and c not in expected]
    metrics = [m for m in METRICS if m in rows and (params.profit_show or m not in PROFIT
                                                     or m in sent)]
    unknown = [c for c in columns if c not in KNOWN_KEYS and c not in METRICS]
    metric_columns = metrics + unknown
    if "duration" in totals and "duration" in rows and rows["duration"].dtype.kind == "f":
        totals["duration"] = totals["duration"].astype("float64")  # as DatabaseSource types it
    total_values = {m: _scalar(m, totals[m].iloc[0]) for m in metric_columns if m in totals}
    return Report(rows=rows[keys + metric_columns].reset_index(drop=True), totals=total_values,
                  currency=params.a_currency, from_=params.from_, till=params.till,
                  key_columns=keys, metric_columns=metric_columns, source=source, notes=notes)
