"""Pieces the pages show: the run with its feedback, failures as one message, headline
metrics, downloads, a source's freshness, and the demo database's first build."""
from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable

import streamlit as st

from core import exports, formatting
from core.errors import ReportError
from core.escaping import markdown_text
from core.params import FILTER_PARAMS, Params
from core.periods import to_wall_clock
from core.report import Report
from core.sources import Source
from core.sources.config import ANALYTICS, SourceConfig
from ui import state

log = logging.getLogger(__name__)


# --- failures --------------------------------------------------------------------------------

def describe(exc: Exception) -> tuple[str, str]:
    """(message, what to do) for any failure, without a traceback.

    A ReportError is a condition someone can fix and says what to do; anything else is a
    defect of this tool, said to be unexpected, with its details left in the server log."""
    if isinstance(exc, ReportError):
        return str(exc), exc.hint
    log.error("unexpected %s", exc.__class__.__name__, exc_info=exc)
    return (f"Unexpected error ({exc.__class__.__name__}): the reporting tool did not expect this",
            "Try again. If it happens again, tell whoever runs this app, with the time it happened: "
            "the server's log has the details.")


def show_error(exc: Exception, *, warning: bool = False) -> None:
    """The one way every page shows a failure: the message in bold, then what to do.
    Both are shown as written: they may quote a parameter, a name or a file's contents."""
    message, hint = describe(exc)
    text = f"**{markdown_text(message)}**" + (f"  \n{markdown_text(hint)}" if hint else "")
    if warning:
        st.warning(text, icon=":material/warning:")
    else:
        st.error(text, icon=":material/error:")


# --- the source ------------------------------------------------------------------------------

@contextlib.contextmanager
def _demo_status():
    """A status box while the demo database is built (a few seconds, on first use only)."""
    status = None

    def progress(message: str) -> None:
        nonlocal status
        if status is None:
            status = st.status("Preparing the demo database…", expanded=True)
        status.write(message)

    try:
        yield progress
    except Exception:
        if status is not None:
            status.update(label="The demo database could not be built", state="error")
        raise
    if status is not None:
        status.update(label="Demo database ready", state="complete", expanded=False)


def source(config: SourceConfig | None = None) -> Source:
    """The source in use (or `config`'s), opened; the demo's first build shows its progress."""
    with _demo_status() as progress:
        return state.source(config, progress)


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
            report = state.run_report(source(), params)
    except Exception as exc:  # every failure becomes a message, never a traceback
        show_error(exc)
        return None
    elapsed = time.perf_counter() - started
    st.caption(f"{period_text(params)} · acting as **{markdown_text(params.u)}** · {report.currency} · "
               f"{len(report.rows):,} rows · {elapsed:.2f} s")
    for note in report.notes:   # e.g. an analytics copy whose last sync did not finish
        st.warning(markdown_text(note), icon=":material/sync_problem:")
    return report


def active_filters(params: Params) -> list[str]:
    return [f"{n}={getattr(params, n)}" for n in FILTER_PARAMS if getattr(params, n) is not None]


def empty_state(report: Report) -> None:
    """Why there is nothing to show; the filters as the URL or the sidebar gave them, as text."""
    params = state.current_params()
    filters = [markdown_text(f) for f in active_filters(params)]
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


def download_data(report: Report, fmt: str) -> Callable[[], bytes]:
    """The file a download button hands over, written only when it is clicked: a rerun
    never writes every format of a report of millions of rows, nor keeps them in memory."""
    return functools.partial(exports.export_bytes, report, fmt)


def downloads(report: Report, stem: str = "aggregate") -> None:
    columns = st.columns(len(exports.EXPORTERS) + 2)
    for column, (name, exporter) in zip(columns, exports.EXPORTERS.items(), strict=False):
        column.download_button(f"Download {name.upper()}", download_data(report, name),
                               file_name=exports.filename(report, name, stem), mime=exporter.mime,
                               key=f"download_{stem}_{name}", icon=":material/download:",
                               on_click="ignore")


def freshness_panel(config: SourceConfig) -> None:
    """How current a source's calls are: how many, the newest, and a copy's last sync."""
    try:
        fresh = state.freshness(config, source(config))
    except Exception as exc:
        show_error(exc, warning=True)
        return
    if fresh is None:
        st.info(f"The {config.title} cannot tell how current its calls are.", icon=":material/info:")
        return
    newest, synced = fresh["newest_call"], fresh["last_sync"]
    left, middle, right = st.columns(3)
    left.metric("Call records", f"{fresh['calls']:,}")
    middle.metric("Newest call", f"{newest:%Y-%m-%d %H:%M}" if newest else "—")
    if synced:
        right.metric("Last sync (UTC)", f"{synced:%Y-%m-%d %H:%M}")
    else:
        right.metric("Last sync (UTC)", "never" if config.name == ANALYTICS else "— (not a copy)")
    if fresh.get("complete") is False:
        st.warning("**Incomplete**: the last sync did not finish, so the copy lacks calls. Run "
                   "`python -m core sync` again.", icon=":material/sync_problem:")
