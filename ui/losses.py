"""The Losses page's pieces: who may see it, its choices, and what it shows."""
from __future__ import annotations

import streamlit as st

from core import formatting
from core.losses import DEFAULT_LOSS_GROUPING, LOSS_GROUPINGS, LOSS_TITLES, Losses, losing, loss_params
from ui import state, tables, view


def sees_money() -> bool:
    """Whether the acting user may see money: losses are money. An accountant needs the
    financial permission; anyone else who may run the report sees it."""
    viewed = state.viewing_as()
    if viewed is not None:
        role = viewed[1]
    else:
        user = state.signed_in()
        if user is None:
            return False
        role = user.usertype
    return role != "accountant" or state.settings().accountant_financial


def refused() -> None:
    st.error("**Losses are money, which this user may not see.**  \nAn accountant needs MOR's "
             "financial permission (the 'accountant may see financial data' setting).",
             icon=":material/block:")


def choices() -> tuple[str, float | None]:
    """The grouping to look for losses in, and the margin threshold (None: profit below 0)."""
    left, right = st.columns(2)
    by = left.selectbox("Losses by", tuple(LOSS_GROUPINGS), key="losses_by",
                        index=tuple(LOSS_GROUPINGS).index(DEFAULT_LOSS_GROUPING),
                        format_func=LOSS_TITLES.get,
                        help="The grouping the losing rows are found in.")
    margin = right.number_input("Margin below (%)", key="losses_margin", value=None, step=1.0,
                                placeholder="profit below 0 only",
                                help="Empty: the rows whose profit is negative. A percentage: also "
                                     "the rows whose margin is below it.")
    return by, margin


def run(by: str, margin_below: float | None) -> Losses | None:
    """The losing rows of the applied period, scope and filters; a failure shown as one message."""
    params = loss_params(state.current_params(), by)
    try:
        with st.spinner("Looking for losses…", show_time=True):
            report = state.run_report(view.source(), params)
        return losing(report, margin_below, by=by)
    except Exception as exc:  # every failure becomes a message, never a traceback
        view.show_error(exc)
        return None


def show(losses: Losses) -> None:
    report = losses.report
    lost, calls, rows = st.columns(3)
    lost.metric("Money lost", formatting.shown("profit", losses.lost, report.currency, with_unit=True))
    calls.metric("Calls involved", f"{losses.calls:,}")
    rows.metric("Losing rows", f"{len(report.rows):,}")
    if report.empty:
        what = ("lost money" if losses.margin_below is None
                else f"had a margin below {losses.margin_below:g} %")
        period = view.period_text(state.current_params())
        st.success(f"No {LOSS_TITLES[losses.by].lower()} {what} in {period}.", icon=":material/check_circle:")
        return
    st.caption("Most lost first; the totals are those of the rows listed.")
    st.dataframe(tables.styled(report, report.rows), column_config=tables.column_config(report),
                 hide_index=True, key="losses_table", height=tables.table_height(len(report.rows)))
    tables.show_totals(report)
    view.downloads(report, stem="losses")
