"""The app's session state and its caches; nothing here draws on the page (ui/view.py does).

Who is signed in decides everything else: the acting user is the signed-in user (or, for
the admin, whom he views as), and `current_params`, `set_params` and `default_params` are
the one place that forces the report's `u` to him, whatever a URL or a widget says. The
password is checked by the source and kept nowhere: not in session state, not in a cache.

Sources are configured, never typed: `.streamlit/secrets.toml` and the environment name
them (core.sources.config), the session holds only the chosen name. `st.cache_resource`
holds opened sources (engines, HTTP sessions) keyed on their configuration; a cache bounded
in bytes (core.report_cache, $MOR_REPORT_CACHE_MB) holds reports keyed on the acting user
first, then the source, every parameter and the settings, so one user's cached report is
never served to another.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import compare
from core.access import ActingUser
from core.errors import AccessDenied, NotFound, ReportError, SourceUnavailable
from core.params import Params, today_bounds
from core.report import Report
from core.report_cache import DEFAULT_MB, CacheLimitError, ReportCache, limit_bytes
from core.settings import UNCONFIGURED, Settings, SettingsError, settings_from
from core.signin import SignInRefused, Throttle, email_from_claims, throttle_keys
from core.sources import Source
from core.sources.config import (
    ANALYTICS,
    CLICKHOUSE,
    DEMO,
    MOR,
    MOR_API,
    SECRETS_FILE,
    SourceConfig,
    configured_sources,
    open_source,
    sign_in_source,
)

REPORT_TTL = 600
FRESHNESS_TTL = 60   # freshness counts every call: once a minute is enough

# Every source the app knows, in the order the Data source page lists them, with what to
# configure for the ones that are not: (title, what to add).
KNOWN_SOURCES = {
    DEMO: ("Demo database", "set MOR_DEMO_PATH to a file in a writable folder"),
    MOR: ("MOR database", f"add a [connections.mor] section with a url to {SECRETS_FILE} "
                          "(or set MOR_DB_URL); a read-only account is enough"),
    ANALYTICS: ("Analytics copy", "build data/mor.duckdb with `python -m core sync`, or add a "
                                  f"[connections.analytics] section with a url to {SECRETS_FILE} "
                                  "(or set MOR_COPY_URL)"),
    MOR_API: ("MOR server API", f"add a [mor_api] section with base, username and secret to {SECRETS_FILE}"),
    CLICKHOUSE: ("ClickHouse copy", "copy MOR with `python -m core sync --to chdb:///data/mor.chdb` (or "
                                    "clickhousedb://user@host:8123/mor), then add a [connections.clickhouse] "
                                    f"section with its url to {SECRETS_FILE} (or set MOR_CLICKHOUSE_URL)"),
}


@dataclass(frozen=True)
class Configuration:
    """What the operator configured: the sources by name, the [report] section, and why
    part of it could not be used ('' when all is well)."""

    sources: dict[str, SourceConfig]
    report: Mapping = field(default_factory=dict)
    problem: str = ""
    sign_in: str = DEMO          # the source people sign in against ('' when misnamed)
    sign_in_problem: str = ""    # why no one can sign in ('' when all is well)


# --- configuration -------------------------------------------------------------------------

def read_secrets() -> tuple[dict, str]:
    """secrets.toml as a dict, and '' or one line saying why it could not be read.

    A missing file is no problem (nothing is configured); a malformed one is, named with
    the parser's reason, so that a typo is never mistaken for "not configured".
    """
    try:
        return st.secrets.to_dict(), ""
    except StreamlitSecretNotFoundError as exc:
        where = exc.exec_kwargs.get("path") or exc.exec_kwargs.get("sub_folder_path")
        if not where:   # no secrets file anywhere: nothing configured
            return {}, ""
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        return {}, (f"{where} could not be read: {reason}. Until it is fixed, only the demo "
                    "database and sources set in the environment are offered.")
    except OSError as exc:  # e.g. a secrets.toml the app may not read
        return {}, f"{exc.filename or SECRETS_FILE} could not be read: {exc.strerror}."
    except UnicodeDecodeError:
        return {}, f"{SECRETS_FILE} could not be read: it is not UTF-8 text."


def configuration() -> Configuration:
    """The configured sources and report rules, read afresh on every run (an edited
    secrets.toml takes effect without a restart)."""
    secrets, problem = read_secrets()
    try:
        sources = configured_sources(secrets)
    except ReportError as exc:  # one malformed section: the demo still works
        problem = f"{exc.full()}. Until it is fixed, only the demo database is offered."
        sources = configured_sources({}, {k: v for k, v in os.environ.items() if k == "MOR_DEMO_PATH"})
    report = secrets.get("report") if isinstance(secrets.get("report"), Mapping) else {}
    try:
        sign_in, sign_in_problem = sign_in_source(sources, secrets), ""
    except ReportError as exc:  # never a quiet fall-back to the demo and its known passwords
        sign_in, sign_in_problem = "", exc.full()
    return Configuration(sources=sources, report=dict(report), problem=problem,
                         sign_in=sign_in, sign_in_problem=sign_in_problem)


def configured_settings() -> tuple[Settings, str]:
    """Settings from [report] and the environment, and '' or why they could not be used."""
    try:
        return settings_from(configuration().report), ""
    except SettingsError as exc:
        return Settings(**UNCONFIGURED), f"{exc}; until it is fixed the defaults are used."


def problems() -> list[str]:
    """What is wrong with the configuration, one line each; empty when all is well."""
    return [p for p in (configuration().problem, configured_settings()[1], _cache_problem()) if p]


def _cache_problem() -> str:
    try:
        limit_bytes()
    except CacheLimitError as exc:
        return f"{exc}; until it is fixed reports are cached up to {DEFAULT_MB} MB."
    return ""


# --- the session's source ------------------------------------------------------------------

def source_name() -> str:
    """The source in use: the one signed in against, until the admin chooses another."""
    return st.session_state.get("source_name") or configuration().sign_in or DEMO


def needs_password(name: str) -> bool:
    """Whether the signed-in user must prove who he is on source `name` before using it: a
    username means someone else on another source (the demo's admin is anyone who read its
    sign-in page), so each source checks its own users' passwords once per session."""
    return name not in st.session_state.get("verified_sources", ())


def set_source(name: str, password: str | None = None) -> None:
    """Switch sources (the admin's alone); the report's parameters stay, so the same report
    runs on the new one. Viewing as someone needs a database, which lists who may be viewed.

    On a source he has not signed in to this session, his password there is checked first
    (throttled like a sign-in), and he must be that source's admin where it tells the role."""
    _admin_only("choose the source")
    if needs_password(name):
        _confirm_on(name, password or "")
    st.session_state.source_name = name
    config = configuration().sources.get(name)
    if config is None or not config.url:
        st.session_state.pop("view_as", None)


def current_config() -> SourceConfig:
    """The configuration of the source in use; SourceUnavailable when it is not configured
    (any more)."""
    name = source_name()
    config = configuration().sources.get(name)
    if config is None:
        title, how = KNOWN_SOURCES.get(name, (name, "it is not a source this app knows"))
        what = "No database is configured" if name == MOR else f"The {title} is not configured"
        raise SourceUnavailable(what, hint=how + ", or choose another source on the Data source page")
    return config


@st.cache_resource(show_spinner=False)
def _opened(config_key: tuple, _config: SourceConfig) -> Source:
    return open_source(_config)


_DEMO_CHECKED: set[tuple[str, str]] = set()  # (path, UTC day) already checked by this process


def prepare_demo(config: SourceConfig, progress: Callable[[str], None] | None = None) -> None:
    """Build the demo on first use, or rebuild it when it no longer reaches today.

    Checked once a day per process, not on every rerun: a rerun follows every click.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from core.demo import ensure_demo
    path = make_url(config.url).database
    checked = (path, datetime.now(timezone.utc).strftime("%Y-%m-%d"))
    if checked in _DEMO_CHECKED and os.path.exists(path):
        return
    try:
        ensure_demo(path, progress=progress)
    except (OSError, SQLAlchemyError, ValueError, ReportError) as exc:  # the operator's to fix
        raise SourceUnavailable(f"the demo database {path} could not be built: {exc}",
                                hint="set MOR_DEMO_PATH to a file in a writable folder, or choose "
                                     "another source on the Data source page") from None
    _DEMO_CHECKED.add(checked)


def source(config: SourceConfig | None = None, progress: Callable[[str], None] | None = None) -> Source:
    """The opened source for `config` (default: the one in use); the demo is built first.
    Opening connects to nothing: the first query or request does."""
    config = config or current_config()
    if config.name == DEMO:
        prepare_demo(config, progress)
    return _opened(config.cache_key(), config)


def settings() -> Settings:
    """The configured settings with the admin's time zone and answered rule for this session.

    The accountant's permissions always come from configuration, never from the session."""
    configured, _ = configured_settings()
    rules = st.session_state.get("report_rules")
    if not rules or not is_admin():
        return configured
    try:
        return replace(configured, **rules)
    except SettingsError:
        return configured


def set_rules(timezone_name: str, answered_rule: str) -> None:
    _admin_only("change the report rules")
    st.session_state.report_rules = {"timezone": timezone_name, "answered_rule": answered_rule}


# --- who is signed in ----------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def throttle() -> Throttle:
    """Failed sign-ins, counted for the whole process: per username and per browser session."""
    return Throttle()


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def sign_in_config() -> SourceConfig:
    """The configured source people sign in against; SourceUnavailable when it is misnamed."""
    config = configuration()
    if config.sign_in_problem:
        raise SourceUnavailable(config.sign_in_problem,
                                hint="until it is fixed no one can sign in; the operator fixes it")
    return config.sources[config.sign_in]


def sign_in(source: Source, config: SourceConfig, username: str, password: str) -> ActingUser:
    """Check the credentials on the sign-in source; on success the session is his.

    Refused whatever the password after 5 failures for this username or from this browser
    within 10 minutes; every refusal counts (Access Denied too: it tells that the password
    was right). A failing source counts nothing. The password lives in this frame only."""
    keys = throttle_keys(username, _session_id())
    throttle().check(*keys)
    try:
        user = source.sign_in(username, password, configured_settings()[0])
    except (SignInRefused, AccessDenied):
        throttle().failed(*keys)
        raise
    throttle().succeeded(*keys)
    return _start_session(config, user)


def _start_session(config: SourceConfig, user: ActingUser, sso: str = "") -> ActingUser:
    """The session is now `user`'s, on `config`; `sso` names the identity provider when
    single sign-on vouched for him (signing out then ends that sign-in too)."""
    for name in ("view_as", "report_params", "report_rules", "url_loaded", "sso_refused"):
        st.session_state.pop(name, None)
    st.session_state.source_name = config.name
    st.session_state.verified_sources = (config.name,)
    st.session_state.signed_in = user
    if sso:
        st.session_state.sso = sso
    return user


# --- single sign-on (OpenID Connect, st.login) ---------------------------------------------

def sso_providers() -> list[tuple[str, str]]:
    """(provider for st.login, name shown) for each identity provider of secrets.toml's
    [auth] section: the unnamed one (shown by its server's host name) and each [auth.NAME];
    an [auth] naming none still gets a button, whose click says what is missing. Only names
    and the metadata URL's host are read: the client secret is never touched."""
    from urllib.parse import urlsplit

    auth = read_secrets()[0].get("auth")
    if not isinstance(auth, Mapping):
        return []
    found = []
    if auth.get("client_id") or auth.get("server_metadata_url"):
        host = urlsplit(str(auth.get("server_metadata_url") or "")).hostname
        found.append(("default", host or "single sign-on"))
    for name, section in auth.items():
        if isinstance(section, Mapping) and name != "client_kwargs" and (
                "client_id" in section or "server_metadata_url" in section):
            found.append((name, name[:1].upper() + name[1:]))
    return found or [("default", "single sign-on")]   # st.login then says what is missing


def sso_login(provider: str) -> None:
    """Send the browser to the identity provider (st.login); a broken [auth] section is said
    in Streamlit's words, which never quote a secret."""
    from streamlit.errors import StreamlitAuthError

    try:
        st.login(provider)
    except StreamlitAuthError as exc:   # its words name the missing key, never a value
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise SourceUnavailable(f"Single sign-on is not configured correctly: {reason}",
                                hint=f"the operator fixes the [auth] section of {SECRETS_FILE} "
                                     "(redirect_uri, cookie_secret, client_id, client_secret, "
                                     "server_metadata_url); meanwhile sign in with your MOR "
                                     "username and password") from None


def sso_identity() -> dict | None:
    """The identity provider's claims for this browser (st.user), or None when no one has
    signed in there (or single sign-on is not configured)."""
    if not sso_providers():
        return None
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") is True else None


def sign_in_with_sso(source: Source, config: SourceConfig, claims: Mapping) -> ActingUser:
    """The identity provider vouched for an e-mail: the one MOR user with it on the sign-in
    source is signed in, as if by his password (same refusals, same session). A refusal is
    kept for the session, so the page says it without asking the source on every rerun."""
    try:
        user = source.sign_in_by_email(email_from_claims(claims), configured_settings()[0])
    except ReportError as exc:
        st.session_state.sso_refused = exc
        raise
    return _start_session(config, user, sso=str(claims.get("provider") or "default"))


def sso_refusal() -> ReportError | None:
    return st.session_state.get("sso_refused")


def sso_logout() -> None:
    """Forget the identity provider's sign-in in this browser (st.logout), so that another
    account can be chosen."""
    st.session_state.pop("sso_refused", None)
    st.logout()


def _confirm_on(name: str, password: str) -> None:
    config = configuration().sources.get(name)
    if config is None:
        raise SourceUnavailable(f"The source '{name}' is not configured")
    username = signed_in().username
    keys = throttle_keys(username, _session_id())
    throttle().check(*keys)
    try:
        there = source(config).sign_in(username, password, configured_settings()[0])
        if there.usertype and there.usertype != "admin":
            raise AccessDenied(f"{username} is not the admin of {config.title}",
                               hint="only that source's admin may switch the app to it")
    except (SignInRefused, AccessDenied):
        throttle().failed(*keys)
        raise
    throttle().succeeded(*keys)
    st.session_state.verified_sources = (*st.session_state.get("verified_sources", ()), name)


def signed_in() -> ActingUser | None:
    return st.session_state.get("signed_in")


def is_admin() -> bool:
    """Whether the signed-in user is MOR's admin (viewing as someone or not). A sign-in
    over MOR's API never is: its login does not tell the role."""
    user = signed_in()
    return user is not None and user.usertype == "admin"


def role(user: ActingUser) -> str:
    return user.role or "as MOR decides (its API does not tell the role)"


def _admin_only(what: str) -> None:
    if not is_admin():
        raise AccessDenied(f"Only the admin may {what}", hint="sign in as MOR's admin")


def sign_out() -> None:
    """End the session: who is signed in, whom he viewed as, his report, rules and choices,
    the names cached for the users he acted as, and a single sign-on's identity."""
    for args in st.session_state.get("choices_cached", ()):
        _cached_choices.clear(*args, None, None)
    by_sso = bool(st.session_state.get("sso"))
    st.session_state.clear()
    if by_sso:    # else the identity provider's sign-in would sign him straight back in
        st.logout()


def acting_username() -> str:
    """Who reports run as: the user the admin views as, else the signed-in user."""
    user = signed_in()
    if user is None:
        raise AccessDenied("No one is signed in", hint="sign in first")
    viewed = st.session_state.get("view_as")
    return viewed[0] if viewed and is_admin() else user.username


def viewing_as() -> tuple[str, str] | None:
    """(username, role) of the user the admin views as, or None."""
    viewed = st.session_state.get("view_as")
    return tuple(viewed) if viewed and is_admin() else None


def view_as(username: str, source: Source) -> None:
    """The admin sees what `username` sees: one of the users a database lists as able to
    run reports. His own username ends it."""
    _admin_only("view as another user")
    if username == signed_in().username:
        end_view_as()
        return
    roles = dict(acting_users(source) or ())
    if username not in roles:
        raise NotFound(f"'{username}' is not a user who may run reports here",
                       hint="choose one of the listed users")
    st.session_state.view_as = (username, roles[username])
    set_params(current_params())


def end_view_as() -> None:
    st.session_state.pop("view_as", None)
    if signed_in() is not None:
        set_params(current_params())


# --- cached reads --------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def kept_reports() -> ReportCache:
    """The process's reports, bounded in bytes ($MOR_REPORT_CACHE_MB, default 512): a
    report of millions of rows cannot push the server out of memory."""
    try:
        limit = limit_bytes()
    except CacheLimitError:   # said by problems(); the default meanwhile
        limit = DEFAULT_MB * 2**20
    return ReportCache(limit, ttl=REPORT_TTL)


def _cached_report(user: str, source_key: tuple, params_key: tuple, settings_key: tuple,
                   _source: Source, _params: Params, _settings: Settings) -> Report:
    """Keyed on the acting user first, then the source, every parameter and the settings."""
    return kept_reports().get_or_run((user, source_key, params_key, settings_key),
                                     lambda: compare.run_report(_source, _params, _settings))


def run_report(source: Source, params: Params) -> Report:
    """The report for these parameters, from cache when the same report ran recently."""
    return _cached_report(params.u, current_config().cache_key(), params.cache_key(),
                          settings().cache_key(), source, params, settings())


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def _cached_choices(username: str, source_key: tuple, settings_key: tuple,
                    _source: Source, _settings: Settings) -> dict:
    return _source.choices(username, _settings)


def choices(source: Source, username: str) -> dict | None:
    """Names for the sidebar's selects, or None when the source cannot list them. Which
    ones were cached is remembered, so that signing out forgets them."""
    if not source.capabilities.lists_names:
        return None
    args = (username, current_config().cache_key(), settings().cache_key())
    cached = st.session_state.setdefault("choices_cached", set())
    cached.add(args)
    return _cached_choices(*args, source, settings())


def search(source: Source, kind: str, text: str) -> list[tuple[int, str]]:
    """At most SEARCH_LIMIT originators (devices, …) of the acting user matching `text`,
    for a catalogue too long to list. Kept by the page in the session, never shared."""
    return source.search(kind, text, acting_username(), settings())


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def _cached_acting_users(source_key: tuple, _source: Source) -> list:
    return _source.acting_users()


def acting_users(source: Source) -> list[tuple[str, str]] | None:
    """Whom the admin may view as, or None when the source cannot list them."""
    if not is_admin() or not source.capabilities.lists_acting_users:
        return None
    return _cached_acting_users(current_config().cache_key(), source)


@st.cache_data(ttl=FRESHNESS_TTL, show_spinner=False)
def _cached_freshness(source_key: tuple, _source: Source) -> dict | None:
    return _source.freshness()


def freshness(config: SourceConfig, source: Source) -> dict | None:
    """How current the source's calls are, or None when it cannot tell."""
    if not source.capabilities.freshness:
        return None
    return _cached_freshness(config.cache_key(), source)


# --- the report's parameters ---------------------------------------------------------------

def default_params() -> Params:
    """Today's report, as the acting user: the relative period "today", so that a link to it
    (or a report saved from it) stays today."""
    start, end = today_bounds(settings().timezone)
    return Params(u=acting_username(), from_=start, till=end, period="today")


def current_params() -> Params:
    """The applied report, always as the acting user."""
    params = st.session_state.get("report_params") or default_params()
    set_params(params)
    return st.session_state.report_params


def set_params(params: Params) -> None:
    """Apply a report; its `u` is the acting user's, whatever it said."""
    acting = acting_username()
    st.session_state.report_params = params if params.u == acting else params.with_(u=acting)
