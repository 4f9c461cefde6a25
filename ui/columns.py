"""The table's column choice and its ID toggle, kept in the app's URL (`columns=`, `ids=`),
and whether downloads carry every column or the columns shown."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.columns import MOR_NAMES, ColumnsError, TableChoice, parse_choice, restricted
from core.report import Report

CHOICE = "table_choice"
ALL, AS_SHOWN = "Every column", "As shown"


def current() -> TableChoice:
    return st.session_state.get(CHOICE) or TableChoice()


def url_pairs() -> dict[str, str]:
    """The app's own URL keys for the table; none while it shows its defaults."""
    return current().to_pairs()


def load(pairs: dict[str, str]) -> None:
    """A link's `columns=`/`ids=`; an unknown one is said once and the defaults are used."""
    try:
        st.session_state[CHOICE] = parse_choice(pairs)
    except ColumnsError as exc:
        st.session_state.url_error = f"The link's {exc}. The table shows its default columns instead."


def _offered(report: Report) -> list[str]:
    return list(report.metric_columns)


def _chosen_metrics() -> None:
    """The multiselect changed: keep what it does not offer (e.g. profit, on a report without it)."""
    choice = current()
    picked = st.session_state.table_columns
    offered = st.session_state.table_columns_offered
    if set(picked) == set(offered) and choice.columns is None:
        return
    kept = [c for c in (choice.columns or ()) if c not in offered]
    st.session_state[CHOICE] = replace(choice, columns=tuple(kept + list(picked)))


def _chosen_ids() -> None:
    st.session_state[CHOICE] = replace(current(), ids=st.session_state.table_ids)


def chooser(report: Report) -> list[str]:
    """The Columns menu (MOR's choice of columns, and the ID toggle); returns the columns shown."""
    choice = current()
    offered = _offered(report)
    st.session_state.table_columns_offered = offered
    st.session_state.table_columns = [c for c in offered if choice.columns is None or c in choice.columns]
    st.session_state.table_ids = choice.ids
    with st.popover("Columns", icon=":material/view_column:"):
        st.multiselect("Columns shown", offered, key="table_columns", on_change=_chosen_metrics,
                       format_func=lambda c: _title(report, c),
                       help="As MOR's Aggregates page: choose the columns the table shows. "
                            "The link keeps the choice; downloads keep every column unless "
                            "you ask for them as shown.")
        st.toggle("Show ID columns", key="table_ids", on_change=_chosen_ids,
                  help="The MOR ids of originators, terminators, devices, providers and "
                       "destination groups; the names are shown either way.")
    return current().shown(report)


def _title(report: Report, column: str) -> str:
    mor = MOR_NAMES.get(column)
    label = report.label(column)
    return f"{label} ({mor})" if mor and mor.lower() != label.lower() else label


def for_download(report: Report, shown: list[str]) -> Report:
    """The report the downloads carry: every column, or the columns shown when asked."""
    carried = st.radio("Downloads carry", (ALL, AS_SHOWN), horizontal=True, key="download_columns",
                       help="Every column of the report, or only the columns the table shows.")
    return restricted(report, shown) if carried == AS_SHOWN else report
