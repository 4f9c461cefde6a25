"""How a Report looks in st.dataframe: labels, formats and MOR's colouring.

Values stay numeric underneath (so columns sort as numbers); a pandas Styler supplies
the shown text and the colours.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import formatting
from core.columns import arrow, delta_formatter, is_delta
from core.report import ID_KEYS, KINDS, Report

RED, YELLOW = "background-color: #f8d7da", "background-color: #fff3cd"
RISE, FALL = "color: #1a7f37", "color: #cf222e"
MAX_BROWSER_ROWS = 5000
TABLE_ROWS, ROW_PIXELS = 20, 35   # st.dataframe's default row height


def asr_colour(value) -> str:
    """MOR: ASR under 10 % red, 10–20 % yellow."""
    return RED if value < 10 else YELLOW if value < 20 else ""


def acd_colour(value) -> str:
    """MOR: ACD under 2:00 red, 2:00–3:00 yellow."""
    return RED if value < 120 else YELLOW if value < 180 else ""


def profit_colour(value) -> str:
    return RED if value < 0 else ""


def change_colour(value) -> str:
    mark = arrow(value)
    return RISE if mark == "▲" else FALL if mark == "▼" else ""


def styled(report: Report, frame: pd.DataFrame):
    """Every number shown as core/formatting.py shows it; text as it is."""
    formats = {column: (delta_formatter(column, report.currency) if is_delta(column)
                        else formatting.formatter(column, report.currency))
               for column in frame.columns if KINDS.get(column, "text") != "text"}
    styler = frame.style.format(formats)
    for column, colour in (("asr", asr_colour), ("acd", acd_colour), ("profit", profit_colour)):
        if column in frame:
            styler = styler.map(colour, subset=[column])
    changes = [column for column in frame.columns if is_delta(column)]
    if changes:  # a comparison: ▲ green, ▼ red
        styler = styler.map(change_colour, subset=changes)
    return styler


def column_config(report: Report) -> dict:
    config = {c: st.column_config.Column(report.label(c)) for c in report.columns}
    for column in ID_KEYS:
        if column in config:
            config[column] = st.column_config.NumberColumn(report.label(column), format="%d")
    return config


def table_height(rows: int) -> int:
    """Pixels for up to TABLE_ROWS rows and the header: a screen's worth, where
    Streamlit's default shows 10 rows; longer tables scroll inside it."""
    return (min(rows, TABLE_ROWS) + 1) * ROW_PIXELS + 3


def show_rows(report: Report, shown: list[str] | None = None, *, selectable: bool = False,
              key: str = "aggregates_table"):
    """The rows, `shown` columns only (None: all); returns the frame the table was given and
    the selected positions in it (a row picked to drill into)."""
    frame = report.rows
    if len(frame) > MAX_BROWSER_ROWS:
        st.info(f"Showing the first {MAX_BROWSER_ROWS:,} of {len(frame):,} rows; "
                "the downloads below carry every row.")
        frame = frame.head(MAX_BROWSER_ROWS)
    event = st.dataframe(styled(report, frame), column_config=column_config(report), hide_index=True,
                         key=key, column_order=shown, height=table_height(len(frame)),
                         on_select="rerun" if selectable else "ignore", selection_mode="single-row")
    return frame, (list(event.selection.rows) if selectable else [])


def show_totals(report: Report, shown: list[str] | None = None) -> None:
    totals = pd.DataFrame([report.totals])
    st.dataframe(styled(report, totals), column_config=column_config(report), hide_index=True,
                 column_order=shown)
