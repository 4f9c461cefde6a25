"""Plotly figures of a Report: pure functions, each returning (figure, the data it shows).

Returning the data lets every chart be downloaded as exactly what it plots. A chart that
the report's grouping cannot support returns (None, reason) so that the page can say why.
Names from MOR's tables reach the figure through `plotly_text` (plotly renders HTML in labels,
ticks, legends and hover text); the data returned keeps them as they are.
"""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .escaping import plotly_text
from .groupings import GROUPINGS
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


def time_series(report: Report, metric: str):
    time_keys = [k for k in ("day", "hour") if k in report.key_columns]
    if not time_keys:
        return None, "Group by day or by hour to see a time series."
    if metric not in report.rows and metric != "profit":
        return None, f"This report has no {report.label(metric)} column."
    data = rollup(report, time_keys)
    if metric not in data:
        return None, "Turn on profit_show to chart profit."
    if time_keys == ["day", "hour"]:
        data["time"] = pd.to_datetime(data["day"]) + pd.to_timedelta(data["hour"], unit="h")
    elif time_keys == ["day"]:
        data["time"] = pd.to_datetime(data["day"])
    else:
        data["time"] = data["hour"]
    data = data.sort_values("time")[time_keys + [metric]].assign(time=data["time"])
    fig = px.line(data, x="time", y=metric, markers=True,
                  labels={metric: report.label(metric), "time": " / ".join(time_keys).capitalize()},
                  title=f"{report.label(metric)} by {' and '.join(time_keys)}")
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
