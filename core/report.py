"""The result of a report, whichever source produced it.

Rows and totals are pandas objects with the column names of spec sections 3 and 4.
Ratios are always derived from additive columns, for each row and for the totals alike,
so the totals are ratios of sums and never averages of ratios.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .groupings import GROUPINGS

ADDITIVE = ("total_calls", "answered_calls", "billed_originator", "billed_terminator",
            "billed_duration_originator", "billed_duration_terminator", "duration")
# What every source sums per row: the additive columns and the two PDD parts from which a
# mean over any set of rows can be rebuilt (the totals' PDD is a mean over records).
SUM_COLUMNS = ADDITIVE + ("pdd_sum", "pdd_count")
RATIOS = ("asr", "acd", "pdd")
PROFIT = ("profit", "margin", "markup")
METRICS = ADDITIVE + RATIOS + PROFIT

# Every metric column: its heading and its kind. A kind decides how a column is typed and
# how core/formatting.py shows it: count, money, duration (H:MM:SS), percent, seconds
# (PDD, 2 decimals), rate (4 decimals), id, integer or text.
METRIC_COLUMNS = {
    "total_calls": ("Calls", "count"),
    "answered_calls": ("Answered", "count"),
    "billed_originator": ("Billed originator", "money"),
    "billed_terminator": ("Billed terminator", "money"),
    "billed_duration_originator": ("Billed duration originator", "duration"),
    "billed_duration_terminator": ("Billed duration terminator", "duration"),
    "duration": ("Duration", "duration"),
    "asr": ("ASR %", "percent"),
    "acd": ("ACD", "duration"),
    "pdd": ("PDD", "seconds"),
    "profit": ("Profit", "money"),
    "margin": ("Margin %", "percent"),
    "markup": ("Markup %", "percent"),
}

# A comparison with another period (core/compare.py) adds, for every metric m, prev_m (the
# other period's value) and delta_m (m - prev_m, in m's own unit: ASR in points), and for
# the additive ones and profit delta_pct_m (delta_m / |prev_m| x 100, empty when prev_m is 0).
PCT_METRICS = ADDITIVE + ("profit",)


def _compare_columns() -> dict[str, tuple[str, str]]:
    out = {}
    for m, (heading, kind) in METRIC_COLUMNS.items():
        bare = heading.removesuffix(" %")
        out[f"prev_{m}"] = (f"{heading} (previous)", kind)
        out[f"delta_{m}"] = (f"Δ {bare} (points)" if kind == "percent" else f"Δ {heading}", kind)
        if m in PCT_METRICS:
            out[f"delta_pct_{m}"] = (f"Δ {bare} %", "percent")
    return out


COMPARE_COLUMNS = _compare_columns()

# The grouping columns' headings and kinds come from the groupings' table.
LABELS = {**{c: heading for g in GROUPINGS for c, heading in g.headings.items()},
          **{c: heading for c, (heading, _) in METRIC_COLUMNS.items()},
          **{c: heading for c, (heading, _) in COMPARE_COLUMNS.items()}}
KINDS = {**{c: kind for g in GROUPINGS for c, kind in g.kinds.items()},
         **{c: kind for c, (_, kind) in METRIC_COLUMNS.items()},
         **{c: kind for c, (_, kind) in COMPARE_COLUMNS.items()}}


def of_kind(*kinds: str) -> tuple[str, ...]:
    return tuple(c for c, kind in KINDS.items() if kind in kinds)


MONEY = of_kind("money")
DURATIONS = of_kind("duration")
PERCENTS = of_kind("percent")
COUNTS = of_kind("count")
ID_KEYS = of_kind("id")
# Money and what is derived from money: hidden from an accountant without financial rights.
FINANCIAL = ("billed_originator", "billed_terminator", "profit", "margin", "markup")
FINANCIAL_COMPARED = tuple(c for c in COMPARE_COLUMNS if c.split("_", 1)[1].removeprefix("pct_") in FINANCIAL)


def _ratio(numerator, denominator, scale: float = 1.0):
    """numerator / denominator × scale, and 0 where the denominator is 0 (MOR's rule)."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1) * scale, 0.0)
    return out


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ASR, ACD, PDD, profit, margin and markup from the additive columns present."""
    out = frame.copy(deep=False)   # copy-on-write: the caller's frame is never changed
    if {"answered_calls", "total_calls"} <= set(out):
        out["asr"] = _ratio(out["answered_calls"], out["total_calls"], 100.0)
    if {"duration", "answered_calls"} <= set(out):
        out["acd"] = _ratio(out["duration"], out["answered_calls"])
    if {"pdd_sum", "pdd_count"} <= set(out):
        out["pdd"] = _ratio(out["pdd_sum"], out["pdd_count"])
    if {"billed_originator", "billed_terminator"} <= set(out):
        bo, bt = out["billed_originator"], out["billed_terminator"]
        out["profit"] = bo - bt
        out["margin"] = _ratio(out["profit"], bo, 100.0)
        markup = _ratio(bo, bt, 100.0) - 100.0
        out["markup"] = np.where(np.asarray(bt, dtype="float64") != 0, markup, 0.0)
    return out


@dataclass
class Report:
    rows: pd.DataFrame
    totals: dict
    currency: str
    from_: int
    till: int
    key_columns: list[str]
    metric_columns: list[str]
    source: str = ""
    notes: list[str] = field(default_factory=list)
    # Who ran it and in which time zone (set by core.compare.run_report; shown in an XLSX).
    user: str = ""
    timezone: str = ""
    # A comparison (core/compare.py): its name (previous, week, year) and the other period.
    compare: str | None = None
    prev_from: int | None = None
    prev_till: int | None = None

    @property
    def columns(self) -> list[str]:
        return self.key_columns + self.metric_columns

    @property
    def empty(self) -> bool:
        return self.rows.empty

    def label(self, column: str) -> str:
        return LABELS.get(column, column.replace("_", " ").capitalize())

    @classmethod
    def from_sums(cls, sums: pd.DataFrame, *, key_columns: list[str], rate: float,
                  currency: str, from_: int, till: int, profit_show: bool,
                  money_visible: bool = True, source: str = "") -> "Report":
        """Build a report from per-group additive sums in the system currency.

        `sums` carries the key columns, the ADDITIVE columns, and `pdd_sum`/`pdd_count`
        so that the totals' PDD is the mean over the records, not over the rows.
        """
        sums = _typed(sums, rate)

        metrics = list(ADDITIVE + RATIOS) + (list(PROFIT) if profit_show else [])
        if not money_visible:
            metrics = [m for m in metrics if m not in FINANCIAL]

        rows = derive(sums)
        total = derive(pd.DataFrame([{c: sums[c].sum() for c in SUM_COLUMNS}]))
        totals = {m: _scalar(total[m].iloc[0]) for m in metrics}
        rows = rows[key_columns + metrics].reset_index(drop=True)
        return cls(rows=rows, totals=totals, currency=currency, from_=from_, till=till,
                   key_columns=list(key_columns), metric_columns=metrics, source=source)


# Result dtypes: counts, seconds, ids and the hour are whole numbers; money and rates are
# floats (duration too, made whole below when it is).
INTEGERS = COUNTS + ("pdd_count", "billed_duration_originator", "billed_duration_terminator") \
    + of_kind("id", "integer")
FLOATS = ("billed_originator", "billed_terminator", "pdd_sum", "duration") + of_kind("rate")


def _typed(sums: pd.DataFrame, rate: float) -> pd.DataFrame:
    """The engines' sums (Decimal, float, int or NULL) as int64/float64, money converted.

    A column already of its type is left as it is (at millions of rows every copy counts)."""
    sums = sums.copy(deep=False)   # copy-on-write: columns are replaced, never changed in place
    for column in SUM_COLUMNS:
        sums[column] = _numeric(sums[column]).fillna(0)
    # Whole seconds stay whole; real_billsec sums keep their fractions.
    whole_duration = (pd.api.types.is_integer_dtype(sums["duration"].dtype)
                      or (sums["duration"] == sums["duration"].round()).all())
    for column in INTEGERS:
        if column in sums:
            sums[column] = _numeric(sums[column]).astype("int64")
    for column in FLOATS:
        if column in sums and not (column == "duration" and whole_duration):
            sums[column] = _numeric(sums[column]).astype("float64")
    if rate != 1.0:   # x * 1.0 is x: no copy of every money figure to learn that
        for column in ("billed_originator", "billed_terminator"):
            sums[column] = sums[column] * float(rate)
    if whole_duration:
        sums["duration"] = _numeric(sums["duration"]).astype("int64")
    return sums


def _numeric(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_object_dtype(column.dtype):
        return column
    return pd.to_numeric(column)


def _scalar(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value
