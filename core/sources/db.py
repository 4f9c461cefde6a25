"""A MOR database as a report source: MySQL/MariaDB, SQLite, or an analytics copy in DuckDB
or ClickHouse (a server, or chDB in-process: see core/clickhouse.py).

Reads only. Before the report's one statement runs, the acting user, the currency and
every id filter are checked, so invalid input never reaches the big query.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy import and_, case, create_engine, event, false, func, or_, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from .. import clickhouse, dialects, results
from ..access import ActingUser, acting_user
from ..errors import NotFound, SourceUnavailable
from ..params import MAX_INT, Params
from ..query import key_columns, report_select
from ..report import Report
from ..schema import calls, currencies, devices, providers, terminators, users
from ..settings import Settings
from ..signin import sign_in, sign_in_by_email
from . import MAX_LISTED, SEARCH_LIMIT, Capabilities, TooMany

log = logging.getLogger(__name__)

# DuckDB's memory limit for reports (spills to a temporary file beyond it).
DUCKDB_MEMORY_LIMIT = os.environ.get("MOR_DUCKDB_MEMORY_LIMIT", "256MB")


def safe_url(url) -> str:
    """The URL with its password masked: fit for logs, pages and messages."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


# Backends a MOR database (or our copy of one) may live in.
BACKENDS = ("mysql", "mariadb", "sqlite", "duckdb", "chdb", "clickhousedb")
# URL query options each backend accepts: harmless ones only. Anything else (pymysql's
# local_infile, read_default_file, init_command, client_flag, auth_plugin_map, DuckDB's
# extension settings, …) could read local files, run commands or load code, so it is refused.
URL_OPTIONS = {
    "mysql": ("charset", "connect_timeout", "read_timeout", "write_timeout", "unix_socket",
              "ssl_ca", "ssl_cert", "ssl_key", "ssl_disabled"),
    "sqlite": ("mode", "uri", "immutable"),   # always opened read-only; mode may only say so
    "duckdb": ("memory_limit", "threads"),
    "chdb": ("database",),      # a ClickHouse database in the directory (core/clickhouse.py)
    "clickhousedb": ("secure", "ca_cert", "connect_timeout", "send_receive_timeout", "compress"),
}
# Options that could only turn a TLS certificate's verification off (it is always on: with
# ssl_ca pymysql checks the certificate and the host name; clickhouse-connect verifies by
# default). Given explicitly, pymysql would even drop the CA of ssl_ca and the host check.
TLS_VERIFY_OPTIONS = ("verify", "ssl_verify_cert", "ssl_verify_identity")
URL_OPTIONS["mariadb"] = URL_OPTIONS["mysql"]
# pymysql arguments never passed, whatever asks for them: they read local files or run code.
_PYMYSQL_REFUSED = ("read_default_file", "read_default_group", "init_command", "auth_plugin_map",
                    "defer_connect", "server_public_key")
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"          # bytes 8-11 of a DuckDB file
# A report meeting a sync's write lock on the DuckDB copy waits this long, retrying.
LOCK_WAIT_SECONDS = 2.5
LOCK_RETRY_SECONDS = 0.25


def check_url(url) -> URL:
    """The parsed URL when it names a database we can read with harmless options only;
    else SourceUnavailable saying what is accepted. A MySQL URL without a driver gets pymysql."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SourceUnavailable(f"'{safe_url(url)}' is not a database URL",
                                hint="use e.g. sqlite:///data/demo.sqlite, "
                                     "mysql+pymysql://user@host/mor or duckdb:///copy.duckdb") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in BACKENDS:
        raise SourceUnavailable(f"{backend} databases are not supported",
                                hint="use mysql+pymysql://, mariadb+pymysql://, sqlite:///, duckdb:///, "
                                         "chdb:///PATH or clickhousedb://user@host:8123/db")
    if backend in ("mysql", "mariadb"):
        if "+" not in parsed.drivername:
            parsed = parsed.set(drivername=f"{backend}+pymysql")
        elif driver != "pymysql":
            raise SourceUnavailable(f"the {parsed.drivername} driver is not supported",
                                    hint=f"use {backend}+pymysql://")
    unverified = [name for name in TLS_VERIFY_OPTIONS if name in parsed.query]
    if unverified:
        raise SourceUnavailable(f"the option {unverified[0]} is not accepted: a server's TLS "
                                "certificate is always verified",
                                hint="leave it out; for a certificate of your own CA give its file "
                                     "(ca_cert= for ClickHouse, ssl_ca= for MySQL/MariaDB)")
    refused = sorted(set(parsed.query) - set(URL_OPTIONS[backend]))
    if refused:
        raise SourceUnavailable(
            f"the database URL option{'s' if len(refused) > 1 else ''} {', '.join(refused)} "
            f"{'are' if len(refused) > 1 else 'is'} not accepted",
            hint=f"a {backend} URL accepts only {', '.join(URL_OPTIONS[backend]) or 'no options'}: "
                 "options that read local files or run commands are never used")
    if backend == "sqlite" and parsed.query.get("mode", "ro") != "ro":
        raise SourceUnavailable(f"mode={parsed.query['mode']} is not accepted: reports only read",
                                hint="leave mode out, or give mode=ro")
    return parsed


def open_engine(url: str | URL) -> Engine:
    """An engine for reading a MOR database, failing early with a clear message.

    Opens nothing yet, and never creates a file: SQLite and DuckDB files are opened
    read-only and must exist and be what the URL says. On MySQL/MariaDB, LOAD DATA LOCAL
    INFILE is off on every connection (a rogue server cannot ask for a local file).
    A password never has to travel on a command line: a URL without one takes
    $MOR_DB_PASSWORD when that is set.
    """
    parsed = check_url(url)
    if parsed.password is None and parsed.username and os.environ.get("MOR_DB_PASSWORD"):
        parsed = parsed.set(password=os.environ["MOR_DB_PASSWORD"])
    backend = parsed.get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = _sqlite_path(parsed.database)
        _check_file(path, "sqlite")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        if parsed.query.get("immutable") in ("1", "true"):
            uri += "&immutable=1"
        parsed = URL.create("sqlite", database=str(path))
        kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    if backend == "duckdb" and parsed.database and parsed.database != ":memory:":
        _check_file(Path(parsed.database), "duckdb")
    if backend == "duckdb":
        # No pooled connection: the file is released between reports, so that
        # `python -m core sync` can take its lock. That costs each report a cold start
        # (~0.2 s at 10M calls: the column blocks are read from the file again).
        kwargs["poolclass"] = NullPool
        # DuckDB runs inside this process and keeps the blocks it scanned up to its
        # memory limit (80 % of RAM by default): a month at 10M calls grew the process by
        # ~410 MB. 256 MB keeps it under 300 MB and was no slower from a cold start.
        # Read-only (reports never write, and readers do not block each other); never
        # fetch or load an extension behind our back.
        config = {"memory_limit": DUCKDB_MEMORY_LIMIT, "autoinstall_known_extensions": False,
                  "autoload_known_extensions": False}
        kwargs["connect_args"] = {"config": config}
        if parsed.database and parsed.database != ":memory:":
            kwargs["connect_args"]["read_only"] = True
    if backend == "chdb":
        return _chdb_engine(parsed)
    if backend == "clickhousedb":
        kwargs["connect_args"] = clickhouse.connect_args(backend)
    if backend in ("mysql", "mariadb"):
        kwargs["pool_pre_ping"] = True
        kwargs["pool_recycle"] = 3600
        kwargs["connect_args"] = {"connect_timeout": 10, "read_timeout": 600, "local_infile": False}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise SourceUnavailable(f"no driver for {parsed.drivername}: {exc}",
                                hint="use sqlite, duckdb or mysql+pymysql") from None
    return refuse_local_files(engine)


def refuse_local_files(engine: Engine) -> Engine:
    """The engine, with every MySQL/MariaDB connection it opens made safe from its server: no
    LOAD DATA LOCAL INFILE, no option file, no start-up command, whatever the URL asked for.
    open_engine applies it; engines made elsewhere (the demo's writer) apply it too."""
    if engine.url.get_backend_name() in ("mysql", "mariadb") and engine.url.get_driver_name() == "pymysql":
        event.listen(engine, "do_connect", _connect_without_local_files)
    return engine


def _chdb_engine(parsed: URL) -> Engine:
    """The process's one engine on a chDB data directory, which must exist (never created
    here: `python -m core sync --to chdb:///PATH` or `demo --db chdb:///PATH` make one)."""
    if not parsed.database or parsed.database == ":memory:":
        raise SourceUnavailable("a chDB URL names a data directory",
                                hint="use chdb:///path/to/copy.chdb")
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_dir():
        raise SourceUnavailable(f"chDB data directory {path} does not exist",
                                hint="build one with `python -m core sync --to chdb:///PATH` or "
                                     "`python -m core demo --db chdb:///PATH`")
    try:
        url = URL.create("chdb", database=str(path), query=dict(parsed.query))
        clickhouse.chdb_parts(url)
    except clickhouse.BadChdbUrl as exc:
        raise SourceUnavailable(str(exc), hint="use chdb:///path/to/copy.chdb?database=mor") from None
    try:
        key = url.render_as_string()
        return clickhouse.shared_engine(key, lambda: clickhouse.create(url, poolclass=NullPool))
    except (NoSuchModuleError, ImportError) as exc:
        raise SourceUnavailable(f"no driver for chdb: {exc}",
                                hint="pip install chdb chdb-sqlalchemy") from None


def _sqlite_path(database: str) -> Path:
    """The file of a SQLite URL's database, also in the URI form file:/path (or file:///path)."""
    if database.startswith("file:"):
        rest = database[len("file:"):]
        if rest.startswith("//"):
            rest = rest[2:].removeprefix("localhost")
        return Path(unquote(rest))
    return Path(database)


def _check_file(path: Path, backend: str) -> None:
    """The file exists and is a database of this kind; else one clear SourceUnavailable.

    Checked before the driver sees it: SQLite would create a missing file, and DuckDB given a
    SQLite file tries to download its sqlite extension."""
    label = {"sqlite": "SQLite", "duckdb": "DuckDB"}[backend]
    if not path.is_file():
        raise SourceUnavailable(f"{label} database {path} does not exist",
                                hint="check the path; build the demo with `python -m core demo`, "
                                     "a copy with `python -m core sync`")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise SourceUnavailable(f"cannot read {path}: {exc.strerror}",
                                hint="check the file's permissions") from None
    is_sqlite, is_duckdb = head.startswith(SQLITE_MAGIC), head[8:12] == DUCKDB_MAGIC
    if backend == "duckdb" and is_sqlite:
        raise SourceUnavailable(f"{path} is a SQLite database, not a DuckDB file",
                                hint=f"use sqlite:///{path}")
    if backend == "sqlite" and is_duckdb:
        raise SourceUnavailable(f"{path} is a DuckDB file, not a SQLite database",
                                hint=f"use duckdb:///{path}")
    if head and not (is_sqlite if backend == "sqlite" else is_duckdb):
        raise SourceUnavailable(f"{path} is not a {label} database",
                                hint="give the file of a MOR database, a demo database or an "
                                     "analytics copy")


def _connect_without_local_files(dialect, conn_rec, cargs, cparams):
    """Every pymysql connection: LOAD DATA LOCAL INFILE off, no option file, no start-up
    command; a server asking for a local file gets a connection error, never the file."""
    from pymysql.constants import CLIENT
    cparams["local_infile"] = False
    cparams["client_flag"] = int(cparams.get("client_flag", 0)) & ~CLIENT.LOCAL_FILES
    for key in _PYMYSQL_REFUSED:
        cparams.pop(key, None)
    return _safe_pymysql_connection()(*cargs, **cparams)


@functools.cache
def _safe_pymysql_connection():
    import pymysql
    from pymysql.constants import CR

    class Connection(pymysql.connections.Connection):
        """pymysql's connection, with a server's LOCAL INFILE request as a connection error
        (pymysql raises a bare RuntimeError, which would escape every handler)."""

        def _read_query_result(self, unbuffered=False):
            try:
                return super()._read_query_result(unbuffered=unbuffered)
            except RuntimeError as exc:
                if "LOAD_LOCAL" not in str(exc):
                    raise
                self._force_close()
                raise pymysql.err.OperationalError(
                    CR.CR_SERVER_LOST, "the server asked for a file of this machine (LOAD DATA "
                                       "LOCAL INFILE); none is ever sent") from None

    return Connection


def exchange_rate(conn: Connection, code: str) -> tuple[str, float]:
    row = conn.execute(select(currencies.c.name, currencies.c.exchange_rate)
                       .where(func.upper(currencies.c.name) == code.upper())).first()
    if row is None:
        raise NotFound("Currency was not found",
                       hint=f"'{code}' is not in the currencies table")
    return row.name.upper(), float(row.exchange_rate)


def check_filters(conn: Connection, params: Params, user: ActingUser) -> None:
    """MOR's 'X was not found' for id filters naming no row (or, for a reseller, none of his)."""
    def exists(table, id_value, *extra) -> bool:
        return conn.execute(select(table.c.id).where(table.c.id == id_value, *extra)).first() is not None

    own_user = (users.c.owner_id == user.id,) if user.is_reseller else ()
    if params.s_originator_id is not None and not exists(users, params.s_originator_id, *own_user):
        raise NotFound("User was not found", hint=f"no originator has id {params.s_originator_id}")
    # A Reseller PRO's foreign provider or terminator reads exactly as an unknown id: no leak.
    his = " you may use" if user.is_reseller else ""
    if params.s_terminator_id is not None and not exists(terminators, params.s_terminator_id,
                                                         *terminator_scope(user)):
        raise NotFound("Terminator was not found",
                       hint=f"no terminator{his} has id {params.s_terminator_id}")
    if params.s_device is not None:
        extra = ()
        if user.is_reseller:
            own = select(users.c.id).where(users.c.owner_id == user.id).scalar_subquery()
            extra = (devices.c.user_id.in_(own),)
        if not exists(devices, params.s_device, *extra):
            raise NotFound("Device was not found", hint=f"no device has id {params.s_device}")
    if params.s_provider is not None and not exists(providers, params.s_provider, *provider_scope(user)):
        raise NotFound("Provider was not found", hint=f"no provider{his} has id {params.s_provider}")


# MOR's admin is users.id 0; his providers with common_use = 1 are shared with resellers.
ADMIN_ID = 0


def provider_scope(user: ActingUser) -> tuple:
    """The providers a user may name (where clauses on `providers`): all, or for a Reseller PRO
    his own (providers.user_id) and the admin's shared ones (common_use)."""
    if not user.is_reseller:
        return ()
    return (or_(providers.c.user_id == user.id,
                and_(providers.c.user_id == ADMIN_ID, providers.c.common_use == 1)),)


def terminator_scope(user: ActingUser) -> tuple:
    """The terminators a user may name: all, or for a Reseller PRO his own and those grouping a
    provider he may use (his report shows them for his calls through those providers)."""
    if not user.is_reseller:
        return ()
    usable = select(providers.c.terminator_id).where(*provider_scope(user))
    return (or_(terminators.c.user_id == user.id, terminators.c.id.in_(usable)),)


class DatabaseSource:
    """Runs reports as single SQL statements on a MOR-schema database."""

    capabilities = Capabilities(lists_names=True, lists_acting_users=True, freshness=True)

    def __init__(self, engine: Engine | str):
        self.engine = open_engine(engine) if isinstance(engine, str) else engine
        self.name = safe_url(self.engine.url)

    def describe(self) -> str:
        return f"database {self.name}"

    @contextlib.contextmanager
    def _connect(self):
        """A connection whose database failures come out as one clear SourceUnavailable."""
        conn = self._open_connection()
        try:
            with conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._failure(exc) from None

    def _open_connection(self) -> Connection:
        """A connection; a DuckDB copy locked by a running sync is retried for a moment."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self.engine.connect()
            except SQLAlchemyError as exc:
                if not self._locked(exc):
                    raise self._failure(exc) from None
                if time.monotonic() >= deadline:
                    raise SourceUnavailable("the analytics copy is being updated by a sync; "
                                            "try again in a moment",
                                            hint=f"{self.name} is locked by the process "
                                                 "writing it (`python -m core sync`)") from None
                time.sleep(LOCK_RETRY_SECONDS)

    def _locked(self, exc: SQLAlchemyError) -> bool:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        if self.engine.dialect.name == "chdb":      # another process has the directory open
            return "EmbeddedServer" in str(cause) and "different path" not in str(cause)
        return self.engine.dialect.name == "duckdb" and "lock" in str(cause).lower()

    def _failure(self, exc: SQLAlchemyError) -> SourceUnavailable:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        if "LOCAL INFILE" in str(cause):
            hint = ("a MySQL server never needs a reporting client's files: check that the "
                    "configured host really is the MOR database")
        elif "different path" in str(cause):
            hint = ("chDB opens one data directory per process: serve or report on one chDB "
                    "copy at a time")
        elif self.engine.dialect.name in ("sqlite", "duckdb", "chdb"):
            hint = "check that the file is a MOR database, a demo database or an analytics copy"
        else:
            hint = ("check that the server is running, the URL and the account's SELECT rights "
                    "on MOR's tables")
        return SourceUnavailable(f"the database {self.name} failed: {_first_line(cause)}", hint=hint)

    def run(self, params: Params, settings: Settings) -> Report:
        started = time.perf_counter()
        with self._connect() as conn:
            user = acting_user(conn, params.u, settings)
            currency, rate = exchange_rate(conn, params.a_currency)
            check_filters(conn, params, user)
            stmt = report_select(params, user, settings)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("report SQL:\n%s", stmt.compile(dialect=self.engine.dialect))
            sums = results.fetch(conn, stmt)   # column by column: Arrow from DuckDB
            from ..sync import copy_warning  # here: core.sync imports this module
            unfinished = copy_warning(conn)   # an analytics copy whose last sync stopped
        log.debug("report ran in %.3f s, %d rows", time.perf_counter() - started, len(sums))
        report = Report.from_sums(sums, key_columns=key_columns(params), rate=rate,
                                  currency=currency, from_=params.from_, till=params.till,
                                  profit_show=params.profit_show, money_visible=user.sees_money,
                                  source=self.describe())
        if unfinished:
            report.notes.append(unfinished)
        return report

    def sign_in(self, username: str, password: str, settings: Settings) -> ActingUser:
        """MOR's own check on its users table (core.signin): the hash compared in constant
        time, blocked and role refused, on one connection."""
        with self._connect() as conn:
            return sign_in(conn, username, password, settings)

    def sign_in_by_email(self, email: str, settings: Settings) -> ActingUser:
        """Single sign-on: the one MOR user with this users.email (core.signin), refused
        as blocked or unauthorised exactly as sign_in; on one connection."""
        with self._connect() as conn:
            return sign_in_by_email(conn, email, settings)

    def choices(self, username: str, settings: Settings) -> dict[str, list | TooMany]:
        """What the sidebar offers, within the acting user's scope: (id, label) pairs, or for
        a catalogue longer than MAX_LISTED only how many (never the whole list)."""
        with self._connect() as conn:
            return _choices(conn, acting_user(conn, username, settings))

    def search(self, kind: str, text: str, username: str, settings: Settings,
               limit: int = SEARCH_LIMIT) -> list[tuple[int, str]]:
        """At most `limit` of the acting user's originators, devices, terminators or providers
        whose label, name or username holds `text` (any case; % and _ are literal) or whose
        id it is (an exact id first); scoped exactly as choices()."""
        text = text.strip()
        if kind not in CATALOGUES:
            raise ValueError(f"no catalogue {kind!r}; there are {', '.join(CATALOGUES)}")
        if not text:
            return []
        with self._connect() as conn:
            return _search(conn, kind, text, acting_user(conn, username, settings), limit)

    def acting_users(self) -> list[tuple[str, str]]:
        """Usernames that may run the report, with their MOR user type."""
        with self._connect() as conn:
            rows = conn.execute(select(users.c.username, users.c.usertype, users.c.own_providers)
                                .where(users.c.usertype.in_(("admin", "reseller", "accountant")))
                                .order_by(users.c.id)).all()
        return [(r.username, "Reseller PRO" if r.usertype == "reseller" and r.own_providers
                 else r.usertype) for r in rows]

    def test_connection(self) -> str:
        """A one-line account of what the database holds, or SourceUnavailable."""
        with self._connect() as conn:
            n, newest = _call_summary(conn)
        return f"{self.name}: {n:,} call records, newest {newest or '—'}"

    def freshness(self) -> dict:
        """How fresh the call data is, for the Data source page (it counts every call: cache it).

        {"calls": count of call records, "newest_call": newest calldate (or None),
         "last_sync": UTC time of the last committed sync batch (None unless an analytics copy),
         "lookups_synced": UTC time of the last lookup refresh, "last_id", "source" (the copy's
         source, password masked), "complete": whether the copy holds all the source had at its
         last sync (None when unknown or not a copy)}.
        """
        out = {"calls": 0, "newest_call": None, "last_sync": None, "lookups_synced": None,
               "last_id": None, "source": None, "complete": None}
        with self._connect() as conn:
            count, newest = _call_summary(conn)
            out["calls"], out["newest_call"] = int(count or 0), newest
            from ..sync import copy_state  # here: core.sync imports this module
            state = copy_state(conn)    # None: not an analytics copy; {}: no run recorded yet
        # a copy whose first sync stopped before recording anything is incomplete
        complete = False if state == {} else (state or {}).get("complete")
        state = state or {}
        out.update(last_sync=state.get("last_sync"), lookups_synced=state.get("lookups_synced"),
                   last_id=state.get("last_id"), source=state.get("source"),
                   complete=None if complete is None else bool(complete))
        return out


def _call_summary(conn: Connection) -> tuple[int, object]:
    """(number of call records, newest calldate): what test_connection and freshness report."""
    return tuple(conn.execute(select(func.count(), func.max(calls.c.calldate)).select_from(calls)).one())


# The catalogues the sidebar names filters from, as choices() and search() return them.
CATALOGUES = ("originators", "terminators", "devices", "providers")


def _catalogue(kind: str, user: ActingUser) -> tuple:
    """One catalogue within the acting user's scope: (id, label, texts a search looks in,
    where clauses, order)."""
    if kind == "originators":
        full_name = func.trim(func.coalesce(users.c.first_name, "") + " "
                              + func.coalesce(users.c.last_name, ""))
        label = func.coalesce(func.nullif(full_name, ""), users.c.username)
        where = [users.c.id > 0] + ([users.c.owner_id == user.id] if user.is_reseller else [])
        return users.c.id, label, (label, users.c.username), where, (users.c.id,)
    if kind == "devices":
        label = func.coalesce(func.nullif(devices.c.description, ""),
                              devices.c.device_type + "/" + devices.c.name)
        where = []
        if user.is_reseller:
            own = select(users.c.id).where(users.c.owner_id == user.id).scalar_subquery()
            where = [devices.c.user_id.in_(own)]
        return devices.c.id, label, (label, devices.c.name), where, (devices.c.id,)
    if kind == "terminators":
        return (terminators.c.id, terminators.c.name, (terminators.c.name,),
                list(terminator_scope(user)), (terminators.c.name,))
    return (providers.c.id, providers.c.name, (providers.c.name,), list(provider_scope(user)),
            (providers.c.name,))


def _pairs(conn: Connection, stmt) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in conn.execute(stmt)]


def _choices(conn: Connection, user: ActingUser) -> dict[str, list | TooMany]:
    out: dict[str, list | TooMany] = {}
    for kind in CATALOGUES:
        ident, label, _, where, order = _catalogue(kind, user)
        listed = _pairs(conn, select(ident, label).where(*where).order_by(*order).limit(MAX_LISTED + 1))
        if len(listed) > MAX_LISTED:   # too many to list: only how many
            count = conn.execute(select(func.count()).select_from(ident.table).where(*where)).scalar_one()
            out[kind] = TooMany(int(count))
        else:
            out[kind] = listed
    out["currencies"] = [r[0].upper() for r in conn.execute(
        select(currencies.c.name).where(currencies.c.active != 0).order_by(currencies.c.id))]
    return out


def _search(conn: Connection, kind: str, text: str, user: ActingUser, limit: int) -> list[tuple[int, str]]:
    ident, label, texts, where, _ = _catalogue(kind, user)
    number = text.removeprefix("#").strip()
    whole = number.isascii() and number.isdigit() and len(number) <= 19 and int(number) <= MAX_INT
    by_id = ident == int(number) if whole else false()
    found = or_(by_id, *(dialects.contains(column, text) for column in texts))
    stmt = (select(ident, label).where(*where, found)
            .order_by(case((by_id, 0), else_=1), label, ident).limit(limit))
    return _pairs(conn, stmt)


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
