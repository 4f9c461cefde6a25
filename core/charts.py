"""Plotly figures of a Report: pure functions, each returning (figure, the data it shows).

Returning the data lets every chart be downloaded as exactly what it plots. A chart that
the report's grouping cannot support returns (None, reason) so that the page can say why.
Names from MOR's tables reach the figure through `plotly_text` (plotly renders HTML in labels,
ticks, legends and hover text); the data returned keeps them as they are.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .escaping import plotly_text
from .groupings import GROUPINGS
from .periods import to_wall_clock
from .report import ADDITIVE, Report, derive

# Dimensions a chart can break a report down by: every grouping with a label, by its label
# column: (that label column, the grouping's key and label columns).
DIMENSIONS = {g.label: (g.label, list(g.columns)) for g in GROUPINGS if g.label}
# Keys shown through their label, so a row's name leaves them out.
LABELLED_KEYS = {g.key for g in GROUPINGS if g.label}
SHARE_METRICS = ("total_calls", "answered_calls", "duration", "billed_originator",
                 "billed_terminator", "profit")
SERIES_METRICS = ("total_calls", "asr", "acd", "profit")


def _label_of(report: Report) -> pd.Series:
    """One readable label per row, made of the labels (or keys) of the grouping."""
    parts = [c for c in report.key_columns if c not in LABELLED_KEYS] or report.key_columns
    return report.rows[parts].astype(str).agg(" · ".join, axis=1)


def _as_text(data: pd.DataFrame, column: str) -> pd.DataFrame:
    """A copy of `data` whose `column` of names plotly shows as written, not as HTML."""
    return data.assign(**{column: data[column].map(plotly_text)})


def rollup(report: Report, keys: list[str]) -> pd.DataFrame:
    """Re-aggregate a report's rows to fewer keys: sum the additive columns, recompute ratios.

    PDD cannot be rebuilt without record counts, so it is left out of roll-ups.
    """
    additive = [c for c in ADDITIVE if c in report.rows]
    summed = report.rows.groupby(keys, as_index=False, sort=True)[additive].sum()
    return derive(summed).drop(columns=["pdd"], errors="ignore")


def top_groups(report: Report, metric: str, n: int = 10, smallest: bool = False):
    """The n largest (or smallest: who lost money) rows by a metric; negatives drawn red."""
    if report.empty:
        return None, "The report has no rows."
    if metric not in report.rows:
        return None, f"This report has no {report.label(metric)} column."
    rows = report.rows.assign(group=_label_of(report))
    data = (rows.nsmallest(n, metric) if smallest else rows.nlargest(n, metric))[["group", metric]]
    sign = data[metric].map(lambda v: "negative" if v < 0 else "positive")
    which = "Bottom" if smallest else "Top"
    fig = px.bar(_as_text(data, "group").iloc[::-1], x=metric, y="group", orientation="h",
                 color=sign.iloc[::-1],
                 color_discrete_map={"positive": "#1f6feb", "negative": "#d1242f"},
                 labels={metric: f"{report.label(metric)}", "group": ""},
                 title=f"{which} {min(n, len(data))} by {report.label(metric)}")
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), showlegend=False,
                      height=max(300, 28 * len(data) + 100))
    return fig, data.reset_index(drop=True)


def share(report: Report, dimension: str, metric: str):
    label, keys = DIMENSIONS[dimension]
    if not set(keys) <= set(report.key_columns):
        return None, (f"Group by {label.replace('_', ' ')} to see shares by it "
                      "(it is not part of this report's grouping).")
    if metric not in report.rows:
        return None, f"This report has no {report.label(metric)} column."
    data = rollup(report, keys)[[label, metric]]
    data = data[data[metric] > 0]
    if data.empty:
        return None, f"No positive {report.label(metric)} to share out."
    fig = px.pie(_as_text(data, label), names=label, values=metric, hole=0.45,
                 title=f"Share of {report.label(metric)} by {report.label(label).lower()}")
    fig.update_traces(textposition="inside", textinfo="percent+label")
    return fig, data.sort_values(metric, ascending=False).reset_index(drop=True)


def _times(data: pd.DataFrame, time_keys: list[str]) -> pd.Series:
    if time_keys == ["day", "hour"]:
        return pd.to_datetime(data["day"]) + pd.to_timedelta(data["hour"], unit="h")
    if time_keys == ["day"]:
        return pd.to_datetime(data["day"])
    return data["hour"]


def _days(from_: int, till: int, report: Report) -> tuple[pd.Timestamp, pd.Timestamp]:
    tz = report.timezone or "UTC"
    return (pd.Timestamp(to_wall_clock(from_, tz).date()), pd.Timestamp(to_wall_clock(till, tz).date()))


def _previous_rows(report: Report, time_keys: list[str]) -> tuple[Report, Report]:
    """A compared report's rows split into each period's, the previous one under the plain
    names. With days as keys, both periods' days are rows of the union: each keeps its own."""
    additive = [c for c in ADDITIVE if f"prev_{c}" in report.rows]
    now = report.rows[time_keys + additive]
    before = report.rows[time_keys + [f"prev_{c}" for c in additive]].rename(
        columns={f"prev_{c}": c for c in additive})
    if "day" in time_keys:
        day = pd.to_datetime(report.rows["day"])
        first, last = _days(report.from_, report.till, report)
        prev_first, prev_last = _days(report.prev_from, report.prev_till, report)
        now = now[(day >= first) & (day <= last)]
        before = before[(day >= prev_first) & (day <= prev_last)]
    return (replace(report, rows=now.reset_index(drop=True)),
            replace(report, rows=before.reset_index(drop=True)))


def time_series(report: Report, metric: str, *, previous: bool = False):
    """The metric over time; with `previous` and a compared report, the other period as a
    dashed line over the same times (its days moved forward by the periods' distance)."""
    time_keys = [k for k in ("day", "hour") if k in report.key_columns]
    if not time_keys:
        return None, "Group by day or by hour to see a time series."
    if metric not in report.rows and metric != "profit":
        return None, f"This report has no {report.label(metric)} column."
    before = None
    if report.compare:
        report, earlier = _previous_rows(report, time_keys)
        before = rollup(earlier, time_keys) if previous else None
    data = rollup(report, time_keys)
    if metric not in data:
        return None, "Turn on profit_show to chart profit."
    data["time"] = _times(data, time_keys)
    data = data.sort_values("time")[time_keys + [metric]].assign(time=data["time"])
    fig = px.line(data, x="time", y=metric, markers=True,
                  labels={metric: report.label(metric), "time": " / ".join(time_keys).capitalize()},
                  title=f"{report.label(metric)} by {' and '.join(time_keys)}")
    if before is not None and metric in before:
        before["time"] = _times(before, time_keys)
        if "day" in time_keys:
            before["time"] += _days(report.from_, report.till, report)[0] - \
                _days(report.prev_from, report.prev_till, report)[0]
        before = before.sort_values("time")
        fig.add_trace(go.Scatter(x=before["time"], y=before[metric], mode="lines+markers",
                                 name="Previous period", line={"dash": "dash"}))
        data = data.merge(before[["time", metric]].rename(columns={metric: f"prev_{metric}"}),
                          on="time", how="outer").sort_values("time")
    return fig, data.drop(columns=["time"]).reset_index(drop=True)


def day_hour_heatmap(report: Report, metric: str = "total_calls"):
    if not {"day", "hour"} <= set(report.key_columns):
        return None, "Group by both day and hour to see the day × hour heatmap."
    data = rollup(report, ["day", "hour"])
    if metric not in data:
        return None, f"This report has no {report.label(metric)} column."
    grid = data.pivot(index="day", columns="hour", values=metric).reindex(columns=range(24))
    fig = go.Figure(go.Heatmap(z=grid.values, x=list(grid.columns), y=list(grid.index),
                               colorscale="Blues", colorbar=dict(title=report.label(metric)),
                               hovertemplate="%{y} %{x}:00<br>%{z}<extra></extra>"))
    fig.update_layout(title=f"{report.label(metric)} by day and hour",
                      xaxis_title="Hour", yaxis_title="Day", height=max(300, 22 * len(grid) + 120))
    return fig, data[["day", "hour", metric]].reset_index(drop=True)
