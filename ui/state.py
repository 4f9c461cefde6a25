"""Where the app keeps its source, settings and parameters, and the one place it caches.

`st.cache_resource` holds engines and HTTP sessions; `st.cache_data` holds reports, keyed
on the source, the acting user and every parameter, the time zone and the rules, so one
user's cached report is never served to another.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from core.errors import ReportError, SourceUnavailable
from core.params import Params, today_bounds
from core.report import Report
from core.settings import Settings, SettingsError

DEMO, SECRETS, COPY, API = "demo", "secrets", "copy", "api"
REPORT_TTL = 600


@dataclass(frozen=True)
class SourceChoice:
    kind: str = DEMO
    url: str = ""             # database URL (demo or secrets); may hold a password: never shown
    api_base: str = ""
    api_user: str = ""
    api_secret: str = ""      # never shown, never in a URL or a log
    use_get: bool = False

    def cache_key(self) -> tuple:
        digest = hashlib.sha256(self.api_secret.encode()).hexdigest() if self.api_secret else ""
        return (self.kind, self.url, self.api_base, self.api_user, digest, self.use_get)


def _secrets_section(name: str) -> dict:
    try:
        section = st.secrets
        for part in name.split("."):
            section = section[part]
        return dict(section)
    except (KeyError, FileNotFoundError, AttributeError):
        return {}
    except Exception:  # a malformed secrets.toml must not take the app down
        return {}


def secrets_db_url() -> str:
    """[connections.mor] in secrets.toml: a `url`, or Streamlit's SQL connection fields."""
    conf = _secrets_section("connections.mor")
    if conf.get("url"):
        return str(conf["url"])
    if conf.get("dialect"):
        from sqlalchemy.engine import URL
        drivername = conf["dialect"] + (f"+{conf['driver']}" if conf.get("driver") else "")
        return URL.create(drivername, username=conf.get("username"), password=conf.get("password"),
                          host=conf.get("host"), port=conf.get("port"),
                          database=conf.get("database")).render_as_string(hide_password=False)
    return ""


def copy_url() -> str:
    """The DuckDB analytics copy: [connections.analytics] url, else data/mor.duckdb."""
    conf = _secrets_section("connections.analytics")
    return str(conf.get("url") or os.environ.get("MOR_COPY_URL", "duckdb:///data/mor.duckdb"))


@st.cache_data(ttl=60, show_spinner=False)
def _cached_freshness(url: str) -> dict:
    from core.sync import freshness
    return freshness(_database_source(url).engine)


def freshness(url: str) -> dict:
    """Newest call and last sync of a database (cached a minute: it counts every call)."""
    return _cached_freshness(url)


def secrets_api() -> dict:
    return _secrets_section("mor_api")


def demo_path() -> Path:
    return Path(os.environ.get("MOR_DEMO_PATH", "data/demo.sqlite"))


def default_settings() -> Settings:
    conf = _secrets_section("report")
    try:
        return Settings(timezone=os.environ.get("MOR_TIMEZONE", conf.get("timezone", "UTC")),
                        answered_rule=conf.get("answered_rule", "disposition"))
    except SettingsError:
        return Settings()


def source_choice() -> SourceChoice:
    if "source_choice" not in st.session_state:
        st.session_state.source_choice = SourceChoice(kind=DEMO, url=f"sqlite:///{demo_path()}")
    return st.session_state.source_choice


def set_source_choice(choice: SourceChoice) -> None:
    """Switch sources; the report's parameters stay, so the same report runs on the new one."""
    st.session_state.source_choice = choice


def settings() -> Settings:
    if "settings" not in st.session_state:
        st.session_state.settings = default_settings()
    return st.session_state.settings


@st.cache_resource(show_spinner=False)
def _database_source(url: str):
    from core.sources.db import DatabaseSource
    return DatabaseSource(url)


@st.cache_resource(show_spinner=False)
def _http_session():
    import requests
    return requests.Session()


_DEMO_CHECKED: set[tuple[str, str]] = set()  # (path, UTC day) already checked by this process


def ensure_demo_database() -> None:
    """Build the demo on first use, or rebuild it when it no longer reaches today.

    Checked once a day per process, not on every rerun: a rerun follows every click.
    """
    from datetime import datetime, timezone

    from sqlalchemy.exc import SQLAlchemyError

    from core.demo import ensure_demo
    path = demo_path()
    checked = (str(path), datetime.now(timezone.utc).strftime("%Y-%m-%d"))
    if checked in _DEMO_CHECKED and path.exists():
        return
    status = None
    try:
        def progress(message: str) -> None:
            nonlocal status
            if status is None:
                status = st.status("Preparing the demo database…", expanded=True)
            status.write(message)
        ensure_demo(path, progress=progress)
        _DEMO_CHECKED.add(checked)
        if status is not None:
            status.update(label="Demo database ready", state="complete", expanded=False)
    except (OSError, SQLAlchemyError, ValueError) as exc:  # the user's to fix, not a bug
        raise SourceUnavailable(f"the demo database {path} could not be built: {exc}",
                                hint="set MOR_DEMO_PATH to a file in a writable folder, or choose "
                                     "another source on the Data source page") from None


def current_source(choice: SourceChoice | None = None):
    """The report source for the session's choice; raises ReportError when it cannot open."""
    choice = choice or source_choice()
    if choice.kind == API:
        from core.sources.mor_api import MorApiSource
        return MorApiSource(choice.api_base, secret=choice.api_secret, use_get=choice.use_get,
                            session=_http_session())
    if choice.kind == DEMO:
        ensure_demo_database()
    if not choice.url:
        raise SourceUnavailable("No database is configured",
                                hint="add [connections.mor] to .streamlit/secrets.toml, "
                                     "or choose the demo database on the Data source page")
    return _database_source(choice.url)


@st.cache_data(ttl=REPORT_TTL, show_spinner=False, max_entries=128)
def _cached_report(source_key: tuple, params_key: tuple, settings_key: tuple,
                   _source, _params: Params, _settings: Settings) -> Report:
    return _source.run(_params, _settings)


def run_report(params: Params) -> Report:
    """The report for these parameters, from cache when the same report ran recently."""
    choice = source_choice()
    source = current_source(choice)
    return _cached_report(choice.cache_key(), params.cache_key(), settings().cache_key(),
                          source, params, settings())


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def _cached_choices(source_key: tuple, username: str, settings_key: tuple,
                    _source, _settings: Settings) -> dict:
    return _source.choices(username, _settings)


def choices(username: str) -> dict | None:
    """Names for the sidebar's selects, or None when the source cannot list them (remote API)."""
    choice = source_choice()
    if choice.kind == API:
        return None
    source = current_source(choice)
    return _cached_choices(choice.cache_key(), username, settings().cache_key(), source, settings())


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def _cached_acting_users(source_key: tuple, _source) -> list:
    return _source.acting_users()


def acting_users() -> list[tuple[str, str]] | None:
    choice = source_choice()
    if choice.kind == API:
        return None
    return _cached_acting_users(choice.cache_key(), current_source(choice))


def default_params(username: str | None = None) -> Params:
    choice = source_choice()
    user = username or (choice.api_user if choice.kind == API and choice.api_user else "admin")
    start, end = today_bounds(settings().timezone)
    return Params(u=user, from_=start, till=end)


def current_params() -> Params:
    if "report_params" not in st.session_state:
        st.session_state.report_params = default_params()
    return st.session_state.report_params


def set_params(params: Params) -> None:
    st.session_state.report_params = params


def describe_error(exc: Exception) -> tuple[str, str]:
    """(message, what to do) for any failure, without a traceback."""
    if isinstance(exc, ReportError):
        return str(exc), exc.hint
    return (f"Unexpected {exc.__class__.__name__}: {exc}",
            "This is a bug in the reporting tool; the command line's --debug shows details.")
