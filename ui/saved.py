"""Saved reports in the app: the app's own database, saving the current report (with a
confirm step before replacing one of the same name), opening one as the opener, and the
cron and systemd lines that deliver it.

The app database is opened only when a saved report or a rule is used, so a corrupt or
unreachable one never stops a report from running: it is one message where it is needed.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.appdb import AppDatabaseError, AppDb, NameTaken, SavedReport, app_db_url
from core.errors import ReportError
from core.escaping import markdown_text
from core.params import ParamError
from core.saved import Delivery, saved_params
from ui import form, state, view

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = "aggregates"


# --- the app database ------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _opened(url: str, mor_urls: tuple[str, ...]) -> AppDb:
    return AppDb(url, mor_urls=mor_urls)


def app_db() -> AppDb:
    """The app's database as configured ($MOR_APP_DB_URL, [app_db] url, data/app.sqlite);
    AppDatabaseError when it cannot be used. Never one of the configured MOR databases."""
    secrets, _ = state.read_secrets()
    url = app_db_url(secrets)
    mor_urls = tuple(sorted(c.url for c in state.configuration().sources.values() if c.url))
    db = _opened(url, mor_urls)
    db.engine()   # opens it (and creates its tables) now, so a failure is said here
    return db


def owner() -> str:
    """Who saves: the signed-in user himself, even while the admin views as someone."""
    return state.signed_in().username


def page_name(page) -> str:
    """The page a report is saved on, by its file's name under app_pages/."""
    return page.url_path or DEFAULT_PAGE


def page_file(name: str) -> str:
    """The page to switch to when a saved report opens; the Aggregates page when its page
    no longer exists."""
    path = f"app_pages/{name}.py"
    return path if name and name.replace("_", "").isalnum() and (ROOT / path).exists() \
        else f"app_pages/{DEFAULT_PAGE}.py"


# --- saving ----------------------------------------------------------------------------------

def _save(replace: bool = False) -> None:
    """Save the applied report under the form's name; a name in use asks first."""
    pending = st.session_state.get("save_pending") if replace else None
    name = pending["name"] if pending else st.session_state.get("save_name", "")
    shared = pending["shared"] if pending else bool(st.session_state.get("save_shared"))
    page = pending["page"] if pending else st.session_state.get("save_page", DEFAULT_PAGE)
    st.session_state.pop("save_pending", None)
    st.session_state.pop("save_error", None)
    try:
        saved = app_db().save(owner(), name, state.current_params().to_pairs(), page=page,
                              shared=shared, replace=replace)
    except NameTaken:
        st.session_state.save_pending = {"name": name.strip(), "shared": shared, "page": page}
        return
    except ValueError as exc:   # an empty or too long name
        st.session_state.save_error = f"Not saved: {exc}."
        return
    except ReportError as exc:
        st.session_state.save_error = f"Not saved: {exc.full()}"
        return
    st.session_state.save_done = f"Saved as '{saved.name}'" + (" (shared)" if saved.shared else "")


def _cancel() -> None:
    st.session_state.pop("save_pending", None)


def save_form(page) -> None:
    """The sidebar's "Save report": a name and whether others may open it."""
    st.session_state.save_page = page_name(page)
    with st.expander("Save report", icon=":material/bookmark_add:"):
        with st.form("save_form", border=False):
            st.text_input("Name", key="save_name", max_chars=200,
                          placeholder="e.g. Yesterday by destination group",
                          help="Saves the applied report (its parameters, comparison and period) "
                               "and this page; a relative period stays relative.")
            st.checkbox("Shared", key="save_shared",
                        help="Other users may open it; it always runs with their own scope.")
            st.form_submit_button("Save", on_click=_save, icon=":material/save:", width="stretch")
        pending = st.session_state.get("save_pending")
        if pending:
            st.warning(f"You already have a saved report named '{markdown_text(pending['name'])}'. "
                       "Replace it with this report?", icon=":material/help:")
            left, right = st.columns(2)
            left.button("Replace", on_click=_save, kwargs={"replace": True}, type="primary",
                        width="stretch")
            right.button("Cancel", on_click=_cancel, width="stretch")
        if st.session_state.get("save_error"):
            st.error(markdown_text(st.session_state.pop("save_error")))
        if st.session_state.get("save_done"):
            st.success(markdown_text(st.session_state.pop("save_done")), icon=":material/check:")


# --- opening, renaming, deleting -------------------------------------------------------------

def open_saved(saved: SavedReport) -> None:
    """Apply a saved report as the opener (his own scope, whatever its owner), with its
    relative period resolved now, show it in the sidebar and go to its page (callback)."""
    tz = state.settings().timezone
    try:
        params = saved_params(saved, state.acting_username(), tz)
    except ParamError as exc:
        st.session_state.saved_error = f"'{saved.name}' cannot be opened: {exc}"
        return
    state.set_params(params)
    applied = state.current_params()
    st.session_state.update(form.widget_values(applied, tz))
    st.session_state.update(form.option_values(applied))
    st.session_state.saved_goto = page_file(saved.page)


def goto_opened() -> None:
    """After Open: switch to the saved report's page (not possible inside a callback)."""
    target = st.session_state.pop("saved_goto", None)
    if target:
        st.switch_page(target)


def _rename(report_id: int) -> None:
    new = st.session_state.get(f"saved_rename_{report_id}", "")
    try:
        app_db().rename(report_id, new, owner(), state.is_admin())
    except (ValueError, ReportError) as exc:
        st.session_state.saved_error = exc.full() if isinstance(exc, ReportError) else str(exc)


def _delete(report_id: int) -> None:
    try:
        app_db().delete(report_id, owner(), state.is_admin())
    except ReportError as exc:
        st.session_state.saved_error = exc.full()


def _set_shared(report_id: int) -> None:
    try:
        app_db().set_shared(report_id, bool(st.session_state.get(f"saved_shared_{report_id}")),
                            owner(), state.is_admin())
    except ReportError as exc:
        st.session_state.saved_error = exc.full()


def may_change(saved: SavedReport) -> bool:
    return saved.owner == owner() or state.is_admin()


def delivery(saved: SavedReport, schedule: str, at: str, fmt: str, mail_to: str) -> Delivery:
    """How cron or systemd delivers `saved` from this project's folder."""
    python = os.path.relpath(ROOT / ".venv" / "bin" / "python", ROOT) \
        if (ROOT / ".venv" / "bin" / "python").exists() else "python3"
    return Delivery(saved=saved, workdir=str(ROOT), python=python, fmt=fmt,
                    mail_to=tuple(mail_to.split()), schedule=schedule, at=at)


def show_saved(saved: SavedReport, schedule: str, at: str, fmt: str, mail_to: str) -> None:
    """One saved report: who owns it, its parameters, Open, and (for its owner or the
    admin) rename, share and delete; then the crontab line and the systemd units."""
    who = "yours" if saved.owner == owner() else f"by {markdown_text(saved.owner)}"
    title = markdown_text(f"{saved.name} · {'shared · ' if saved.shared else ''}{saved.owner}")
    with st.expander(title, icon=":material/bookmark:"):
        pairs = " ".join(f"{k}={v}" for k, v in saved.params.items())
        st.caption(f"{who} · page: {markdown_text(saved.page or DEFAULT_PAGE)} · "
                   f"`{markdown_text(pairs) or 'defaults'}`")
        st.button("Open", key=f"saved_open_{saved.id}", on_click=open_saved, args=(saved,),
                  type="primary", icon=":material/open_in_new:")
        if may_change(saved):
            left, right = st.columns([3, 1], vertical_alignment="bottom")
            left.text_input("New name", key=f"saved_rename_{saved.id}", value=saved.name, max_chars=200)
            right.button("Rename", key=f"saved_rename_button_{saved.id}", on_click=_rename,
                         args=(saved.id,), width="stretch")
            st.checkbox("Shared", key=f"saved_shared_{saved.id}", value=saved.shared,
                        on_change=_set_shared, args=(saved.id,),
                        help="Other users may open it, with their own scope.")
            st.button("Delete", key=f"saved_delete_{saved.id}", on_click=_delete, args=(saved.id,),
                      icon=":material/delete:")
        try:
            how = delivery(saved, schedule, at, fmt, mail_to)
        except ValueError as exc:
            st.info(f"Delivery: {markdown_text(str(exc))}.", icon=":material/schedule:")
            return
        st.markdown("**crontab** (`crontab -e`; `MOR_SMTP_PASSWORD` in cron's environment)")
        st.code(how.crontab_line(), language="bash", wrap_lines=True)
        st.markdown(f"**systemd**: `/etc/systemd/system/{how.unit_name}.service`")
        st.code(how.systemd_service(), language="ini")
        st.markdown(f"`/etc/systemd/system/{how.unit_name}.timer`, then "
                    f"`systemctl enable --now {how.unit_name}.timer`")
        st.code(how.systemd_timer(), language="ini")


def listed() -> list[SavedReport] | None:
    """The saved reports the signed-in user may open; None (and the message shown) when
    the app database cannot be used."""
    try:
        return app_db().list_for(owner(), state.is_admin())
    except AppDatabaseError as exc:
        view.show_error(exc)
        return None
