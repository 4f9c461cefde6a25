"""Which of a report's columns the table shows, as MOR's Aggregates page lets one choose.

MOR offers originator and terminator price, billed time, duration, answered calls, total
calls, ACD and ASR; here every metric column can be chosen, by its result name. The choice
is the app's, not a report input: it lives in the app's URL under `columns=` (a comma list
of metric names) and is never sent to MOR's API nor part of a report's cache key. No
`columns` means every column the report has. ID columns are hidden unless `ids=1`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from . import formatting
from .report import ID_KEYS, METRICS, Report

# MOR's names for the columns its Aggregates page lets one choose, beside ours.
MOR_NAMES = {
    "billed_originator": "Originator price",
    "billed_terminator": "Terminator price",
    "billed_duration_originator": "Billed time (originator)",
    "billed_duration_terminator": "Billed time (terminator)",
    "duration": "Duration",
    "answered_calls": "Answered calls",
    "total_calls": "Total calls",
    "acd": "ACD",
    "asr": "ASR",
}
CHOOSABLE = METRICS
# The app's own URL keys: never aggregate_get parameters, never sent to a source.
APP_KEYS = ("columns", "ids")


class ColumnsError(ValueError):
    """A `columns=` or `ids=` value the app does not know; says what is accepted."""


@dataclass(frozen=True)
class TableChoice:
    """The table's columns: the chosen metrics (None: all) and whether ID columns show."""

    columns: tuple[str, ...] | None = None
    ids: bool = False

    def __post_init__(self) -> None:   # one order whatever order they were picked in
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(c for c in CHOOSABLE if c in self.columns))

    def to_pairs(self) -> dict[str, str]:
        out = {}
        if self.columns is not None:
            out["columns"] = ",".join(self.columns)
        if self.ids:
            out["ids"] = "1"
        return out

    def shown(self, report: Report) -> list[str]:
        """The report's columns as the table shows them, in the report's order."""
        keys = [c for c in report.key_columns if self.ids or c not in ID_KEYS]
        metrics = [c for c in report.metric_columns
                   if self.columns is None or base_metric(c) in self.columns]
        return keys + metrics


def base_metric(column: str) -> str:
    """The metric a comparison's column belongs to: prev_asr, delta_asr -> asr."""
    for prefix in ("delta_pct_", "delta_", "prev_"):
        if column.startswith(prefix) and column[len(prefix):] in CHOOSABLE:
            return column[len(prefix):]
    return column


def movers(report: Report, metric: str) -> Report:
    """The Movers view: the rows by the largest absolute change of `metric` first, with the
    metric, its previous value and its change (absolute, and in % where it has one)."""
    delta = f"delta_{metric}"
    if delta not in report.rows:
        raise ColumnsError(f"'{metric}' has no change to rank by; compare with another period first")
    order = report.rows[delta].abs().sort_values(ascending=False, kind="stable").index
    metrics = [c for c in (metric, f"prev_{metric}", delta, f"delta_pct_{metric}")
               if c in report.metric_columns]
    return replace(report, rows=report.rows.loc[order, report.key_columns + metrics].reset_index(drop=True),
                   totals={m: report.totals.get(m) for m in metrics}, metric_columns=metrics)


def parse_choice(pairs: Mapping[str, str]) -> TableChoice:
    """The table choice from the app's URL keys; ColumnsError names a value not accepted."""
    columns = None
    raw = pairs.get("columns")
    if raw is not None:
        names = [n.strip() for n in str(raw).split(",") if n.strip()]
        unknown = [n for n in names if n not in CHOOSABLE]
        if unknown:
            raise ColumnsError(f"columns: '{unknown[0]}' is not a column; accepted are "
                               + ", ".join(CHOOSABLE))
        columns = tuple(names)
    ids = str(pairs.get("ids", "0")).strip()
    if ids not in ("0", "1"):
        raise ColumnsError(f"ids: '{ids}' is not accepted; use 0 or 1")
    return TableChoice(columns=columns, ids=ids == "1")


def split_query(query: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the report's parameters, the app's own keys) of a URL query."""
    report = {k: v for k, v in query.items() if k not in APP_KEYS}
    app = {k: v for k, v in query.items() if k in APP_KEYS}
    return report, app


def restricted(report: Report, columns: list[str]) -> Report:
    """The report with only `columns` (rows and totals): the "as shown" download."""
    keys = [c for c in report.key_columns if c in columns]
    metrics = [c for c in report.metric_columns if c in columns]
    return replace(report, rows=report.rows[keys + metrics],
                   totals={m: report.totals[m] for m in metrics},
                   key_columns=keys, metric_columns=metrics)


def is_delta(column: str) -> bool:
    return column.startswith("delta_") and base_metric(column) != column


def arrow(value) -> str:
    """▲ for a rise, ▼ for a fall, nothing for no change or no value."""
    if value is None or value != value or value == 0:
        return ""
    return "▲" if value > 0 else "▼"


def delta_formatter(column: str, currency: str):
    """A change as ▲ or ▼ and its size in the column's own unit (ASR in points)."""
    plain = formatting.formatter(column, currency)
    return lambda value: "" if arrow(value) == "" and plain(value) == "" else \
        f"{arrow(value)} {plain(abs(value)) if arrow(value) else plain(value)}".strip()
