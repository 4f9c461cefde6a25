"""A comparison on the Aggregates page: which period it is compared with, and the Movers view
(the rows whose chosen metric changed most, either way, first)."""
from __future__ import annotations

import streamlit as st

from core.columns import base_metric, movers
from core.periods import to_wall_clock
from core.report import Report
from ui import state, tables


def compared_with(report: Report) -> None:
    tz = state.settings().timezone
    start, end = to_wall_clock(report.prev_from, tz), to_wall_clock(report.prev_till, tz)
    st.caption(f"Compared with {start:%Y-%m-%d %H:%M:%S} – {end:%Y-%m-%d %H:%M:%S} ({tz}): "
               "Δ is this period minus that one; ▲ a rise, ▼ a fall.")


def show(report: Report) -> None:
    """The rows by the largest absolute change of the chosen metric."""
    metrics = [c for c in report.metric_columns if base_metric(c) == c and f"delta_{c}" in report.rows]
    default = metrics.index("profit") if "profit" in metrics else 0
    metric = st.selectbox("Rank by the change of", metrics, index=default, key="movers_metric",
                          format_func=report.label)
    ranked = movers(report, metric)
    st.dataframe(tables.styled(ranked, ranked.rows), column_config=tables.column_config(ranked),
                 hide_index=True, key="movers_table", column_order=ranked.columns,
                 height=tables.table_height(len(ranked.rows)))
