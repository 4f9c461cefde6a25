"""Losses: the groups of a report that lose money, most lost first.

A row is a loss when its profit is below 0; with a threshold PCT, when its margin is below
PCT % (a row billed nothing to the originator but costing something has no margin: it is
a loss whatever PCT is; a row with no money at all is never one). Rows are ranked by
profit, the most lost first; the totals are those of the listed rows (ratios of their
sums), and `lost` is the money those rows lost (the sum of their negative profits).

The report runs with profit_show through the same Source.run as any other (scope and
currency as always); an acting user who may not see money (an accountant without the
financial permission) is refused, since losses are money.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .compare import run_report
from .errors import AccessDenied
from .params import GROUP_FLAGS, ParamError, Params
from .report import ADDITIVE, Report, derive

# --by: the groupings a loss is looked for in (group_by_* flags), the first the default.
LOSS_GROUPINGS = {
    "dst_group_terminator": ("dst_group", "terminator"),
    "destination": ("dst",),
    "originator": ("user",),
    "provider": ("provider",),
}
DEFAULT_LOSS_GROUPING = "dst_group_terminator"
LOSS_TITLES = {"dst_group_terminator": "Destination group × terminator", "destination": "Destination",
               "originator": "Originator", "provider": "Provider"}


@dataclass
class Losses:
    report: Report            # the losing rows, most lost first; totals over them
    lost: float               # money lost by those rows (a positive number), in report.currency
    calls: int                # their calls
    by: str
    margin_below: float | None


def loss_params(params: Params, by: str = DEFAULT_LOSS_GROUPING) -> Params:
    """`params` grouped as `by` says, with profit shown and no comparison."""
    if by not in LOSS_GROUPINGS:
        raise ParamError("by", f"'{by}' is not accepted; use {', '.join(LOSS_GROUPINGS)}")
    flags = {f"group_by_{g}": g in LOSS_GROUPINGS[by] for g in GROUP_FLAGS}
    return params.with_(**flags, profit_show=True, compare=None)


def losing(report: Report, margin_below: float | None = None, *, by: str = "") -> Losses:
    """The rows of `report` that lose money (or whose margin is below `margin_below` %)."""
    if "profit" not in report.metric_columns:
        raise AccessDenied("Access Denied", hint="losses are money: this user may not see money "
                                                 "columns (an accountant needs the financial permission)")
    rows = report.rows
    profit = rows["profit"].to_numpy(dtype="float64")
    billed = rows["billed_originator"].to_numpy(dtype="float64")
    if margin_below is None:
        mask = profit < 0
    else:
        margin = rows["margin"].to_numpy(dtype="float64")
        mask = ((billed > 0) & (margin < margin_below)) | ((billed == 0) & (profit < 0))
    chosen = rows[mask].sort_values("profit", kind="stable").reset_index(drop=True)
    totals = _totals(chosen, report)
    lost = float(-chosen["profit"].clip(upper=0).sum()) if len(chosen) else 0.0
    calls = int(chosen["total_calls"].sum()) if len(chosen) else 0
    return Losses(report=replace(report, rows=chosen, totals=totals), lost=lost + 0.0,
                  calls=calls, by=by, margin_below=margin_below)


def _totals(rows: pd.DataFrame, report: Report) -> dict:
    """The listed rows' totals: sums of the additive columns, ratios of those sums (PDD, a
    mean over records no row carries, is left out)."""
    sums = pd.DataFrame([{c: rows[c].sum() if len(rows) else 0 for c in ADDITIVE if c in rows}])
    derived = derive(sums)
    out = {}
    for column in report.metric_columns:
        if column == "pdd" or column not in derived:
            continue
        value = derived[column].iloc[0]
        out[column] = value.item() if isinstance(value, np.generic) else value
    return out


def run_losses(source, params: Params, settings, *, by: str = DEFAULT_LOSS_GROUPING,
               margin_below: float | None = None) -> Losses:
    """The losses of the acting user's calls in params' period, grouped as `by` says."""
    report = run_report(source, loss_params(params, by), settings)
    return losing(report, margin_below, by=by)
