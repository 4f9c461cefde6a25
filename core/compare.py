"""Compare a report with another period: the period before, a week or a year earlier.

Both periods run through the same `Source.run` with the same parameters (scope, currency,
filters, grouping): one pushed-down statement each, so a comparison works on every source,
MOR's API included. The result is still a `Report`: its rows are the union of both periods'
groups (zeros where a group had no calls), and every metric m gains prev_m and delta_m,
the additive ones and profit also delta_pct_m (core/report.py's COMPARE_COLUMNS), so pages,
charts and exports handle it as any other report.

Periods (docs/decisions.md):
- previous: [from - L, from - 1] with L = till - from + 1, in epoch seconds (the issue's
  definition, so "yesterday" compares with the 86,400 seconds before it even across a
  daylight-saving change);
- week: the same wall-clock times 7 calendar days earlier in the report time zone, so a
  day stays a whole day (00:00:00-23:59:59) across a daylight-saving change;
- year: the same wall-clock dates and times a year earlier; 29 February becomes 28 February.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .groupings import GROUPINGS
from .params import COMPARES, MAX_EPOCH, ParamError, Params
from .report import PCT_METRICS, Report

LABEL_COLUMNS = frozenset(g.label for g in GROUPINGS if g.label)
_PREV = "__prev"


def _shifted(epoch: int, tz: str, *, days: int = 0, years: int = 0) -> int:
    """The same wall-clock time `days` or `years` earlier in `tz` (29 February -> 28th)."""
    zone = ZoneInfo(tz)
    wall = datetime.fromtimestamp(epoch, zone).replace(tzinfo=None)
    if years:
        year = wall.year - years
        day = 28 if (wall.month, wall.day) == (2, 29) and not _leap(year) else wall.day
        wall = wall.replace(year=year, day=day)
    wall -= timedelta(days=days)
    return int(wall.replace(tzinfo=zone).timestamp())


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def other_period(from_: int, till: int, compare: str, tz: str = "UTC") -> tuple[int, int]:
    """The period `compare` (previous, week, year) names for [from_, till], as epochs."""
    if compare == "previous":
        length = till - from_ + 1
        start, end = from_ - length, from_ - 1
    elif compare in ("week", "year"):
        shift = {"days": 7} if compare == "week" else {"years": 1}
        try:
            start, end = _shifted(from_, tz, **shift), _shifted(till, tz, **shift)
        except (ValueError, OverflowError, OSError):
            start, end = -1, -1
    else:
        raise ParamError("compare", f"'{compare}' is not accepted; use {', '.join(COMPARES)}")
    if start < 0 or end > MAX_EPOCH:
        raise ParamError("compare", f"the {compare} period of this one would begin before "
                                    "1970-01-01 00:00:00 UTC, where no call can be; choose a later "
                                    "period or leave compare out")
    return start, end


def combine(current: Report, previous: Report, *, compare: str,
            prev_from: int, prev_till: int) -> Report:
    """One report of both periods: the union of their groups, each metric m followed by
    prev_m, delta_m and (additive metrics and profit) delta_pct_m; totals alike."""
    keys = list(current.key_columns)
    ids = [c for c in keys if c not in LABEL_COLUMNS] or keys
    labels = [c for c in keys if c not in ids]
    metrics = list(current.metric_columns)

    cur = current.rows
    prev = previous.rows[[c for c in keys + metrics if c in previous.rows]]
    cur, prev = _same_key_types(cur, prev, ids)
    merged = cur.merge(prev, on=ids, how="outer", suffixes=("", _PREV), sort=True)

    out = pd.DataFrame(index=merged.index)
    for column in keys:
        if column in labels:
            mine = merged[column] if column in merged else pd.Series(None, index=merged.index)
            other = merged.get(column + _PREV)
            out[column] = mine if other is None else mine.where(mine.notna(), other)
        else:
            out[column] = merged[column]
    columns = []
    for m in metrics:
        now = _filled(merged.get(m), cur.get(m), merged.index)
        before = _filled(merged.get(m + _PREV), prev.get(m), merged.index)
        out[m], out[f"prev_{m}"], out[f"delta_{m}"] = now, before, now - before
        columns += [m, f"prev_{m}", f"delta_{m}"]
        if m in PCT_METRICS:
            out[f"delta_pct_{m}"] = percent_change(now - before, before)
            columns.append(f"delta_pct_{m}")

    totals = {}
    for m in metrics:
        now, before = current.totals.get(m, 0), previous.totals.get(m, 0)
        totals[m], totals[f"prev_{m}"], totals[f"delta_{m}"] = now, before, now - before
        if m in PCT_METRICS:
            totals[f"delta_pct_{m}"] = _scalar(percent_change(np.array([now - before]),
                                                              np.array([before]))[0])
    notes = list(dict.fromkeys(current.notes + previous.notes))
    return replace(current, rows=out[keys + columns].reset_index(drop=True), totals=totals,
                   metric_columns=columns, notes=notes, compare=compare,
                   prev_from=prev_from, prev_till=prev_till)


def percent_change(delta, before) -> np.ndarray:
    """delta / |before| x 100, NaN (an empty cell) where before is 0: never infinity.
    |before| so that a smaller loss (profit -10 -> -5) reads as a rise, as its delta does."""
    delta = np.asarray(delta, dtype="float64")
    before = np.asarray(before, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before != 0, delta / np.where(before != 0, np.abs(before), 1) * 100.0, np.nan)


def _filled(values, original, index) -> pd.Series:
    """A metric of one period over the union's rows: 0 where the group had no calls, and
    whole numbers kept whole."""
    if values is None:
        return pd.Series(0, index=index, dtype="int64")
    out = pd.to_numeric(values).fillna(0)
    if original is not None and pd.api.types.is_integer_dtype(original.dtype):
        out = out.astype("int64")
    return out


def _same_key_types(cur: pd.DataFrame, prev: pd.DataFrame, ids: list[str]):
    """An empty period's key columns typed as the other's, so the two can be joined."""
    if cur.empty and not prev.empty:
        cur = cur.astype({c: prev[c].dtype for c in ids if c in cur and c in prev})
    elif prev.empty and not cur.empty:
        prev = prev.astype({c: cur[c].dtype for c in ids if c in cur and c in prev})
    return cur, prev


def _scalar(value):
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and np.isnan(value) else value


def run_compared(source, params: Params, settings) -> Report:
    """Both periods of `params.compare`, each through source.run, as one compared report."""
    tz = getattr(settings, "timezone", "UTC") or "UTC"
    prev_from, prev_till = other_period(params.from_, params.till, params.compare, tz)
    plain = params.with_(compare=None)
    current = source.run(plain, settings)
    previous = source.run(plain.with_(from_=prev_from, till=prev_till), settings)
    return combine(current, previous, compare=params.compare, prev_from=prev_from, prev_till=prev_till)


def run_report(source, params: Params, settings) -> Report:
    """The report `params` asks for, compared when params.compare is set, with the acting
    user and time zone noted on it: the one entry point for the app and the command line."""
    if params.compare:
        report = run_compared(source, params, settings)
    else:
        report = source.run(params, settings)
    report.user = report.user or params.u
    report.timezone = report.timezone or (getattr(settings, "timezone", "") or "UTC")
    return report
