"""Aggregates: the drill-down's breadcrumbs, headline metrics, the chosen columns, the table
with its totals directly beneath (the table scrolls within a screen's height, so both stay
in view), Drill into, a comparison's Movers, and downloads."""
import streamlit as st

from ui import columns, drill, movers, tables, view

st.title("Aggregates")
drill.breadcrumbs()
report = view.current_report()
if report is None:
    st.stop()

view.headline(report)
if report.empty:
    view.empty_state(report)
    st.stop()

if report.compare:
    movers.compared_with(report)
    table_tab, movers_tab = st.tabs(["Table", "Movers"])
else:
    table_tab, movers_tab = st.container(), None

with table_tab:
    toolbar = st.container(horizontal=True, vertical_alignment="center")
    with toolbar:
        shown = columns.chooser(report)
    frame, selected = tables.show_rows(report, shown, selectable=True, key=drill.table_key())
    tables.show_totals(report, shown)
    st.caption("Totals (ASR, ACD, margin and markup recomputed from the sums, never averaged)")
    drill.drill_into(toolbar, frame, selected)
if movers_tab is not None:
    with movers_tab:
        movers.show(report)
view.downloads(columns.for_download(report, shown))
