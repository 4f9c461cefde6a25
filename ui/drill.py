"""Drill-down on the Aggregates page: Drill into a selected row, and breadcrumbs back.

Drilling applies a report like the sidebar's Run report does (so the URL and the sidebar
follow); core/drill.py decides the filters and the finer grouping.
"""
from __future__ import annotations

import streamlit as st

from core.drill import DrillRefused, Trail, crumb, drill, selected_row
from core.escaping import markdown_text
from core.params import Params
from ui import form, state

TRAIL = "drill_trail"
TABLE = "aggregates_table"
HELP = ("Select a row of the table, then drill into it: its originator, terminator, provider, "
        "device, destination group, prefix and day become filters, and the report moves to a "
        "finer grouping (e.g. originator → originator × destination group → prefix).")


def _trail() -> Trail:
    return st.session_state.setdefault(TRAIL, Trail())


def table_key() -> str:
    """The table's key: a new one after each drill or step back, so that the browser forgets
    the row selected in the report left (it would stay ticked in the next one)."""
    return f"{TABLE}_{st.session_state.get('drill_moves', 0)}"


def _apply(params: Params) -> None:
    """Apply a report and show it in the sidebar's widgets, with a table selecting nothing."""
    state.set_params(params)
    st.session_state.update(form.widget_values(state.current_params(), state.settings().timezone))
    st.session_state.pop(table_key(), None)
    st.session_state.drill_moves = st.session_state.get("drill_moves", 0) + 1


def _drill(row: dict) -> None:
    before = state.current_params()
    try:
        after = drill(before, row, state.settings().timezone)
    except DrillRefused as exc:
        st.session_state.drill_error = f"Cannot drill into this row: {exc}."
        return
    _apply(after)
    _trail().add(crumb(before, row), before, state.current_params())


def _back(level: int) -> None:
    _apply(_trail().back(level))


def breadcrumbs() -> None:
    """The path of drills to the report in view; each earlier level is a button back to it."""
    steps = _trail().current(state.current_params())
    if not steps:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Report", key="crumb_0", on_click=_back, args=(0,), icon=":material/arrow_back:",
                  help="Back to the report the drilling started from.", type="tertiary")
        for level, (words, _, _) in enumerate(steps):
            st.markdown("›")
            if level == len(steps) - 1:
                st.markdown(f"**{markdown_text(words)}**")
            else:
                st.button(markdown_text(words), key=f"crumb_{level + 1}", on_click=_back,
                          args=(level + 1,), type="tertiary")


def drill_into(toolbar, frame, positions: list[int]) -> None:
    """The Drill into button, in `toolbar`, for the row selected in `frame` (the table's data)."""
    row = selected_row(frame, positions)
    toolbar.button("Drill into", icon=":material/zoom_in:", disabled=row is None, help=HELP,
                   on_click=_drill, args=(row,))
    if row is not None:
        toolbar.caption(markdown_text(crumb(state.current_params(), row)))
    if st.session_state.get("drill_error"):
        st.warning(markdown_text(st.session_state.pop("drill_error")), icon=":material/block:")
