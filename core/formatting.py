"""How numbers look to a person: H:MM:SS durations, money with its currency, 2-decimal percents."""
from __future__ import annotations

import math

import pandas as pd

from .report import COUNTS, DURATIONS, MONEY, PERCENTS, Report


def hms(seconds) -> str:
    """Seconds as H:MM:SS, MOR's way of showing durations (hours are not wrapped at 24)."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    total = int(round(float(seconds)))
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def money(value, currency: str) -> str:
    return f"{float(value):,.2f} {currency}"


def percent(value) -> str:
    return f"{float(value):.2f}"


def pdd(value) -> str:
    return f"{float(value):.2f}"


def format_cell(column: str, value, currency: str) -> str:
    if column in DURATIONS:
        return hms(value)
    if column in MONEY:
        return money(value, currency)
    if column in PERCENTS:
        return percent(value)
    if column == "pdd":
        return pdd(value)
    if column in COUNTS:
        return f"{int(value):,}"
    if column in ("user_rate", "provider_rate"):
        return f"{float(value):.4f}"
    return "" if value is None else str(value)


def display_frame(report: Report, *, with_totals: bool = True) -> pd.DataFrame:
    """The report as a person reads it: formatted text cells, labelled columns, a Total row."""
    records = report.rows.to_dict("records")
    if with_totals:
        total = {c: "" for c in report.key_columns}
        if report.key_columns:
            total[report.key_columns[0]] = "Total"
        total.update(report.totals)
        records.append(total)
    def cell(column: str, value) -> str:
        if column in report.metric_columns:
            return format_cell(column, value, report.currency)
        return "" if value is None else str(value)

    return pd.DataFrame([[cell(c, r.get(c)) for c in report.columns] for r in records],
                        columns=[report.label(c) for c in report.columns])
