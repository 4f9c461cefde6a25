"""Pieces every report page shows: the run with its feedback, headline metrics, downloads."""
from __future__ import annotations

import time

import streamlit as st

from core import exports, formatting
from core.params import FILTER_PARAMS, Params
from core.periods import to_wall_clock
from core.report import Report
from ui import state


def period_text(params: Params) -> str:
    tz = state.settings().timezone
    start, end = to_wall_clock(params.from_, tz), to_wall_clock(params.till, tz)
    return f"{start:%Y-%m-%d %H:%M:%S} – {end:%Y-%m-%d %H:%M:%S} ({tz})"


def current_report() -> Report | None:
    """Run (or fetch from cache) the applied report; show any failure and return None."""
    params = state.current_params()
    started = time.perf_counter()
    try:
        with st.spinner("Running the report…", show_time=True):
            report = state.run_report(params)
    except Exception as exc:  # every failure becomes a message, never a traceback
        message, hint = state.describe_error(exc)
        st.error(f"**{message}**" + (f"  \n{hint}" if hint else ""))
        return None
    elapsed = time.perf_counter() - started
    st.caption(f"{period_text(params)} · acting as **{params.u}** · {report.currency} · "
               f"{len(report.rows):,} rows · {elapsed:.2f} s")
    return report


def active_filters(params: Params) -> list[str]:
    return [f"{n}={getattr(params, n)}" for n in FILTER_PARAMS if getattr(params, n) is not None]


def empty_state(report: Report) -> None:
    params = state.current_params()
    filters = active_filters(params)
    why = f"No calls match in {period_text(params)}"
    why += f" with {', '.join(filters)}." if filters else "."
    st.info(why + " Widen the period (the sidebar's presets), relax the filters, or check the "
                  "acting user's scope on the Data source page.", icon=":material/search_off:")


# The totals shown above the table, each under its name; money only where the report has it.
HEADLINE = (("Calls", "total_calls"), ("ASR", "asr"), ("ACD", "acd"),
            ("Billed originator", "billed_originator"), ("Billed terminator", "billed_terminator"),
            ("Profit", "profit"), ("Margin", "margin"))


def headline(report: Report) -> None:
    cells = [(name, formatting.shown(column, report.totals[column], report.currency, with_unit=True))
             for name, column in HEADLINE if column in report.totals]
    per_row = 4  # money with its currency code needs the room
    for start in range(0, len(cells), per_row):
        for column, (label, value) in zip(st.columns(per_row), cells[start:start + per_row],
                                          strict=False):
            column.metric(label, value)


def downloads(report: Report, stem: str = "aggregate") -> None:
    columns = st.columns(len(exports.EXPORTERS) + 2)
    for column, (name, exporter) in zip(columns, exports.EXPORTERS.items()):
        column.download_button(f"Download {name.upper()}", exports.export(report, name),
                               file_name=exports.filename(report, name, stem), mime=exporter.mime,
                               key=f"download_{stem}_{name}", icon=":material/download:")


def freshness_panel(url: str) -> None:
    """How current the copy is: its newest call and the last sync."""
    try:
        fresh = state.freshness(url)
    except Exception as exc:
        message, hint = state.describe_error(exc)
        st.warning(f"{message}  \n{hint or 'Build the copy with `python -m core sync`.'}",
                   icon=":material/sync_problem:")
        return
    newest, synced = fresh["newest_call"], fresh["last_sync"]
    left, middle, right = st.columns(3)
    left.metric("Call records", f"{fresh['calls']:,}")
    middle.metric("Newest call", f"{newest:%Y-%m-%d %H:%M}" if newest else "—")
    right.metric("Last sync (UTC)", f"{synced:%Y-%m-%d %H:%M}" if synced else "never")
