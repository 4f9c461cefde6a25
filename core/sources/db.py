"""A MOR database as a report source: MySQL/MariaDB, SQLite or a DuckDB analytics copy.

Reads only. Before the report's one statement runs, the acting user, the currency and
every id filter are checked, so invalid input never reaches the big query.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..access import ActingUser, acting_user
from ..errors import NotFound, SourceUnavailable
from ..params import Params
from ..query import key_columns, report_select
from ..report import Report
from ..schema import calls, currencies, devices, providers, terminators, users
from ..settings import Settings

log = logging.getLogger(__name__)

# DuckDB's memory limit for reports (spills to a temporary file beyond it).
DUCKDB_MEMORY_LIMIT = os.environ.get("MOR_DUCKDB_MEMORY_LIMIT", "256MB")


def safe_url(url) -> str:
    """The URL with its password masked: fit for logs, pages and messages."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def open_engine(url: str) -> Engine:
    """An engine for reading a MOR database, failing early with a clear message.

    A password never has to travel on a command line: a URL without one takes
    $MOR_DB_PASSWORD when that is set.
    """
    try:
        parsed = make_url(url)
        if parsed.password is None and parsed.username and os.environ.get("MOR_DB_PASSWORD"):
            parsed = parsed.set(password=os.environ["MOR_DB_PASSWORD"])
    except ArgumentError:
        raise SourceUnavailable(f"'{url}' is not a database URL",
                                hint="use e.g. sqlite:///data/demo.sqlite, "
                                     "mysql+pymysql://user@host/mor or duckdb:///copy.duckdb") from None
    backend = parsed.get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_file():
            raise SourceUnavailable(f"SQLite database {path} does not exist",
                                    hint="check the path, or build the demo with `python -m core demo`")
    if backend == "duckdb" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_file():
            raise SourceUnavailable(f"DuckDB database {path} does not exist",
                                    hint="build it with `python -m core sync` or `python -m core demo`")
    if backend == "duckdb":
        # No pooled connection: the file is released between reports, so that
        # `python -m core sync` can take its lock. That costs each report a cold start
        # (~0.2 s at 10M calls: the column blocks are read from the file again).
        kwargs["poolclass"] = NullPool
        # DuckDB runs inside this process and keeps the blocks it scanned up to its
        # memory limit (80 % of RAM by default): a month at 10M calls grew the process by
        # ~410 MB. 256 MB keeps it under 300 MB and was no slower from a cold start.
        kwargs["connect_args"] = {"config": {"memory_limit": DUCKDB_MEMORY_LIMIT}}
    if backend in ("mysql", "mariadb"):
        kwargs["pool_pre_ping"] = True
        kwargs["pool_recycle"] = 3600
        kwargs["connect_args"] = {"connect_timeout": 10, "read_timeout": 600}
    try:
        return create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise SourceUnavailable(f"no driver for {parsed.drivername}: {exc}",
                                hint="use sqlite, duckdb or mysql+pymysql") from None


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
    if params.s_terminator_id is not None and not exists(terminators, params.s_terminator_id):
        raise NotFound("Terminator was not found", hint=f"no terminator has id {params.s_terminator_id}")
    if params.s_device is not None:
        extra = ()
        if user.is_reseller:
            own = select(users.c.id).where(users.c.owner_id == user.id).scalar_subquery()
            extra = (devices.c.user_id.in_(own),)
        if not exists(devices, params.s_device, *extra):
            raise NotFound("Device was not found", hint=f"no device has id {params.s_device}")
    if params.s_provider is not None and not exists(providers, params.s_provider):
        raise NotFound("Provider was not found", hint=f"no provider has id {params.s_provider}")


class DatabaseSource:
    """Runs reports as single SQL statements on a MOR-schema database."""

    kind = "database"

    def __init__(self, engine: Engine | str):
        self.engine = open_engine(engine) if isinstance(engine, str) else engine
        self.name = safe_url(self.engine.url)

    def describe(self) -> str:
        return f"database {self.name}"

    @contextlib.contextmanager
    def _connect(self):
        """A connection whose database failures come out as one clear SourceUnavailable."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            raise SourceUnavailable(f"the database {self.name} failed: {_first_line(cause)}",
                                    hint="check that the server is running, the URL and the "
                                         "account's SELECT rights on MOR's tables") from None

    def run(self, params: Params, settings: Settings) -> Report:
        started = time.perf_counter()
        with self._connect() as conn:
            user = acting_user(conn, params.u, settings)
            currency, rate = exchange_rate(conn, params.a_currency)
            check_filters(conn, params, user)
            stmt = report_select(params, user, settings)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("report SQL:\n%s", stmt.compile(dialect=self.engine.dialect))
            result = conn.execute(stmt)
            # Plain tuples: pandas probes each Row for namedtuple/dataclass attributes,
            # which costs SQLAlchemy a key-lookup failure per row and column.
            sums = pd.DataFrame([tuple(r) for r in result.fetchall()],
                                columns=list(result.keys()))
        log.debug("report ran in %.3f s, %d rows", time.perf_counter() - started, len(sums))
        return Report.from_sums(sums, key_columns=key_columns(params), rate=rate,
                                currency=currency, from_=params.from_, till=params.till,
                                profit_show=params.profit_show, money_visible=user.sees_money,
                                source=self.describe())

    def choices(self, username: str, settings: Settings) -> dict[str, list]:
        """What the sidebar offers, within the acting user's scope: (id, label) pairs."""
        with self._connect() as conn:
            return _choices(conn, acting_user(conn, username, settings))

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
            n, newest = conn.execute(select(func.count(), func.max(calls.c.calldate))).one()
        return f"{self.name}: {n:,} call records, newest {newest or '—'}"


def _choices(conn: Connection, user: ActingUser) -> dict[str, list]:
    def pairs(stmt):
        return [(int(r[0]), str(r[1])) for r in conn.execute(stmt)]

    full_name = func.trim(func.coalesce(users.c.first_name, "") + " " + func.coalesce(users.c.last_name, ""))
    originators = select(users.c.id, func.coalesce(func.nullif(full_name, ""), users.c.username)
                         ).where(users.c.id > 0).order_by(users.c.id)
    device_owner = select(users.c.id).where(users.c.owner_id == user.id).scalar_subquery()
    device_label = func.coalesce(func.nullif(devices.c.description, ""),
                                 devices.c.device_type + "/" + devices.c.name)
    devices_stmt = select(devices.c.id, device_label).order_by(devices.c.id)
    if user.is_reseller:
        originators = originators.where(users.c.owner_id == user.id)
        devices_stmt = devices_stmt.where(devices.c.user_id.in_(device_owner))
    return {
        "originators": pairs(originators),
        "terminators": pairs(select(terminators.c.id, terminators.c.name).order_by(terminators.c.name)),
        "devices": pairs(devices_stmt),
        "providers": pairs(select(providers.c.id, providers.c.name).order_by(providers.c.name)),
        "currencies": [r[0].upper() for r in conn.execute(
            select(currencies.c.name).where(currencies.c.active != 0).order_by(currencies.c.id))],
    }


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
