"""Aggregates: headline metrics, the table, its totals, and downloads."""
import streamlit as st

from ui import tables, view

st.title("Aggregates")
report = view.current_report()
if report is None:
    st.stop()

view.headline(report)
if report.empty:
    view.empty_state(report)
    st.stop()

tables.show_rows(report)
st.caption("Totals (ASR, ACD, margin and markup recomputed from the sums, never averaged)")
tables.show_totals(report)
view.downloads(report)
