"""Aggregates: the drill-down's breadcrumbs, headline metrics, the chosen columns, the table
with its totals directly beneath (the table scrolls within a screen's height, so both stay
in view), Drill into, and downloads."""
import streamlit as st

from ui import columns, drill, tables, view

st.title("Aggregates")
drill.breadcrumbs()
report = view.current_report()
if report is None:
    st.stop()

view.headline(report)
if report.empty:
    view.empty_state(report)
    st.stop()

toolbar = st.container(horizontal=True, vertical_alignment="center")
with toolbar:
    shown = columns.chooser(report)
frame, selected = tables.show_rows(report, shown, selectable=True)
tables.show_totals(report, shown)
st.caption("Totals (ASR, ACD, margin and markup recomputed from the sums, never averaged)")
drill.drill_into(toolbar, frame, selected)
view.downloads(columns.for_download(report, shown))
