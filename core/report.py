"""The result of a report, whichever source produced it.

Rows and totals are pandas objects with the column names of spec sections 3 and 4.
Ratios are always derived from additive columns, for each row and for the totals alike,
so the totals are ratios of sums and never averages of ratios.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ADDITIVE = ("total_calls", "answered_calls", "billed_originator", "billed_terminator",
            "billed_duration_originator", "billed_duration_terminator", "duration")
RATIOS = ("asr", "acd", "pdd")
PROFIT = ("profit", "margin", "markup")
METRICS = ADDITIVE + RATIOS + PROFIT
MONEY = ("billed_originator", "billed_terminator", "profit")
DURATIONS = ("billed_duration_originator", "billed_duration_terminator", "duration", "acd")
PERCENTS = ("asr", "margin", "markup")
COUNTS = ("total_calls", "answered_calls")
# Money and what is derived from money: hidden from an accountant without financial rights.
FINANCIAL = ("billed_originator", "billed_terminator", "profit", "margin", "markup")

ID_KEYS = ("originator_id", "device_id", "terminator_id", "provider_id", "dst_group_id")

LABELS = {
    "originator_id": "Originator ID", "originator": "Originator",
    "device_id": "Device ID", "device": "Device",
    "terminator_id": "Terminator ID", "terminator": "Terminator",
    "provider_id": "Provider ID", "provider": "Provider",
    "dst_group_id": "Destination group ID", "dst_group": "Destination group",
    "dst": "Prefix", "destination": "Destination",
    "day": "Day", "hour": "Hour", "user_rate": "Originator rate",
    "provider_rate": "Provider rate",
    "total_calls": "Calls", "answered_calls": "Answered",
    "billed_originator": "Billed originator", "billed_terminator": "Billed terminator",
    "billed_duration_originator": "Billed duration originator",
    "billed_duration_terminator": "Billed duration terminator",
    "duration": "Duration", "asr": "ASR %", "acd": "ACD", "pdd": "PDD",
    "profit": "Profit", "margin": "Margin %", "markup": "Markup %",
}


def _ratio(numerator, denominator, scale: float = 1.0):
    """numerator / denominator × scale, and 0 where the denominator is 0 (MOR's rule)."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1) * scale, 0.0)
    return out


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ASR, ACD, PDD, profit, margin and markup from the additive columns present."""
    out = frame.copy()
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
        numeric = list(ADDITIVE) + ["pdd_sum", "pdd_count"]

        metrics = list(ADDITIVE + RATIOS) + (list(PROFIT) if profit_show else [])
        if not money_visible:
            metrics = [m for m in metrics if m not in FINANCIAL]

        rows = derive(sums)
        total = derive(pd.DataFrame([{c: sums[c].sum() for c in numeric}]))
        totals = {m: _scalar(total[m].iloc[0]) for m in metrics}
        rows = rows[key_columns + metrics].reset_index(drop=True)
        return cls(rows=rows, totals=totals, currency=currency, from_=from_, till=till,
                   key_columns=list(key_columns), metric_columns=metrics, source=source)


# Result dtypes: counts, seconds and ids are whole numbers; money and rates are floats.
INTEGERS = COUNTS + ("pdd_count", "billed_duration_originator", "billed_duration_terminator",
                     "hour") + ID_KEYS
FLOATS = ("billed_originator", "billed_terminator", "pdd_sum", "duration", "user_rate",
          "provider_rate")


def _typed(sums: pd.DataFrame, rate: float) -> pd.DataFrame:
    """The engines' sums (Decimal, float, int or NULL) as int64/float64, money converted."""
    sums = sums.copy()
    for column in ADDITIVE + ("pdd_sum", "pdd_count"):
        sums[column] = pd.to_numeric(sums[column]).fillna(0)
    for column in INTEGERS:
        if column in sums:
            sums[column] = pd.to_numeric(sums[column]).astype("int64")
    for column in FLOATS:
        if column in sums:
            sums[column] = pd.to_numeric(sums[column]).astype("float64")
    for column in ("billed_originator", "billed_terminator"):
        sums[column] = sums[column] * float(rate)
    # Whole seconds stay whole; real_billsec sums keep their fractions.
    if (sums["duration"] == sums["duration"].round()).all():
        sums["duration"] = sums["duration"].astype("int64")
    return sums


def _scalar(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value
