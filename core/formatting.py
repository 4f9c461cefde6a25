"""How numbers look to a person: one rule per kind of column (core/report.KINDS).

The command line's table (`display_frame`), the app's table (ui/tables.py) and its headline
metrics (ui/view.py) all show a value through `shown`, so a column reads the same wherever
it appears. The CSV, JSON and XML exports keep numbers unformatted (spec section 9).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

import pandas as pd

from .report import KINDS, Report


def hms(seconds) -> str:
    """Seconds as H:MM:SS, MOR's way of showing durations (hours are not wrapped at 24)."""
    total = int(round(float(seconds)))
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def money(value, currency: str) -> str:
    return f"{float(value):,.2f} {currency}"


def count(value) -> str:
    return f"{int(value):,}"


def two_decimals(value) -> str:
    """Percents and PDD seconds."""
    return f"{float(value):.2f}"


def rate(value) -> str:
    """A per-minute rate: MOR's rates carry up to 4 decimals."""
    return f"{float(value):.4f}"


def whole(value) -> str:
    """Ids and the hour: plain whole numbers, no thousands separator."""
    return str(int(value))


def text(value) -> str:
    return str(value)


# Kind -> how a value of it is shown; money also takes the report's currency.
FORMATS = {"count": count, "duration": hms, "percent": two_decimals, "seconds": two_decimals,
           "rate": rate, "id": whole, "integer": whole, "text": text}
# What the headline metrics add after a value, where the table says it in the heading.
UNITS = {"percent": " %"}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def formatter(column: str, currency: str, *, with_unit: bool = False) -> Callable[[object], str]:
    """How values of a result column are shown (a column of no known kind: as text);
    a missing value is an empty cell."""
    kind = KINDS.get(column, "text")
    show = partial(money, currency=currency) if kind == "money" else FORMATS[kind]
    unit = UNITS.get(kind, "") if with_unit else ""
    return lambda value: "" if _missing(value) else show(value) + unit


def shown(column: str, value, currency: str, *, with_unit: bool = False) -> str:
    """One value of a result column as a person reads it."""
    return formatter(column, currency, with_unit=with_unit)(value)


def display_frame(report: Report, *, with_totals: bool = True) -> pd.DataFrame:
    """The report as a person reads it: formatted text cells, labelled columns, a Total row."""
    formats = {c: formatter(c, report.currency) for c in report.columns}
    cells = [[formats[c](record.get(c)) for c in report.columns]
             for record in report.rows.to_dict("records")]
    if with_totals:
        total = ["Total" if i == 0 else "" for i in range(len(report.key_columns))]
        total += [formats[c](report.totals.get(c)) for c in report.metric_columns]
        cells.append(total)
    return pd.DataFrame(cells, columns=[report.label(c) for c in report.columns])
