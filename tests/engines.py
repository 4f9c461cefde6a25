"""Small MOR databases on each engine, for tests.

The pytest fixtures in conftest.py wrap `DatabaseFactory`:

    def test_something(make_db):          # once per engine: sqlite, mariadb, duckdb, chdb(, clickhouse)
        engine = make_db({"users": [{"id": 1, "username": "u", "usertype": "user"}],
                          "calls": [{"id": 1, "calldate": "2024-01-01 10:00:00", "user_id": 1}]})

Each call builds a FRESH database with core.schema.metadata.create_all, inserts the rows
(missing columns take the schema defaults; DATETIME values may be `datetime` or
'YYYY-MM-DD HH:MM:SS' text) with a writer account, and returns an Engine for the code under
test. On MariaDB that engine uses a SELECT-only account, as against a real MOR server.
On chDB each database is a fresh ClickHouse database (`chdb:///DIR?database=NAME`) in one
data directory per test process (a fresh directory costs about a second, a database a few
milliseconds), dropped after the test; chDB runs one directory per process, so every engine
here holds no connection between uses (NullPool) and a subprocess (CLI tests) can open it.
The "clickhouse" kind runs on a ClickHouse server through a clickhousedb:// URL (a fresh
database on it per call): the one named by $MOR_TEST_CLICKHOUSE_URL, else the chDB stand-in
(tests/clickhouse_http.py: ClickHouse's HTTP interface served by chDB in a process of its
own, started once per test session). The stand-in exercises our clickhousedb:// path
(clickhouse-connect's HTTP client and SQLAlchemy dialect, per-query settings, Arrow inserts)
on the real ClickHouse engine, not a real server's own HTTP layer.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping

from sqlalchemy import Date, DateTime, Engine, Table, create_engine
from sqlalchemy.pool import NullPool

from core import clickhouse
from core.schema import metadata

ENGINE_KINDS = ("sqlite", "mariadb", "duckdb", "chdb", "clickhouse")
ENGINES_ENV = "MOR_TEST_ENGINES"
CLICKHOUSE_ENV = "MOR_TEST_CLICKHOUSE_URL"

Rows = Iterable[Mapping[str, object]]


def selected_engine_kinds(value: str | None = None) -> tuple[str, ...]:
    """The engine kinds to test: `value` (e.g. from --engines), else $MOR_TEST_ENGINES, else all."""
    if value is None:
        value = os.environ.get(ENGINES_ENV, "")
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not names:
        return ENGINE_KINDS
    unknown = [n for n in names if n not in ENGINE_KINDS]
    if unknown:
        raise ValueError(f"{ENGINES_ENV}/--engines: unknown engine kind(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(ENGINE_KINDS)}")
    return tuple(k for k in ENGINE_KINDS if k in names)


def mariadb_required() -> bool:
    """In CI (or when asked) a missing MariaDB is a failure, not a skip."""
    return (os.environ.get("CI", "").lower() in ("1", "true", "yes")
            or os.environ.get("MOR_REQUIRE_MARIADB", "") == "1")


def _coerce(table: Table, row: Mapping[str, object]) -> dict:
    unknown = [k for k in row if k not in table.c]
    if unknown:
        raise ValueError(f"table {table.name!r} has no column(s) {', '.join(map(repr, unknown))}")
    out = dict(row)
    for key, value in out.items():
        if isinstance(value, str):
            col_type = table.c[key].type
            if isinstance(col_type, DateTime):
                out[key] = datetime.fromisoformat(value)
            elif isinstance(col_type, Date):
                out[key] = date.fromisoformat(value)
    return out


def prepare_rows(tables: Mapping[str, Rows] | None) -> dict[str, list[dict]]:
    """Check table and column names (a clear ValueError) and parse DATETIME text."""
    tables = tables or {}
    unknown = [name for name in tables if name not in metadata.tables]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(map(repr, unknown))}; "
                         f"core.schema declares {', '.join(sorted(metadata.tables))}")
    return {name: [_coerce(metadata.tables[name], r) for r in rows or ()]
            for name, rows in tables.items()}


def insert_rows(conn, tables: Mapping[str, Rows]) -> None:
    """Insert table name -> rows. Rows are grouped by their key set, because an executemany
    compiles one INSERT from the first row's keys (a later row's extra keys would be lost)."""
    prepared = prepare_rows(tables)
    for table in metadata.sorted_tables:
        groups: dict[tuple[str, ...], list[dict]] = {}
        for r in prepared.get(table.name, ()):
            groups.setdefault(tuple(sorted(r)), []).append(r)
        for group in groups.values():
            if clickhouse.is_clickhouse(conn):      # one INSERT of all rows, not one per row
                conn.execute(table.insert().values(group))
            else:
                conn.execute(table.insert(), group)


def populate(engine: Engine, tables: Mapping[str, Rows]) -> None:
    """create_all on a FRESH database, then insert the rows (one connection: on chDB each
    new connection restarts its embedded server)."""
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=False)
        insert_rows(conn, tables)


_chdb_dir: str | None = None


def chdb_directory() -> str:
    """This test process's one chDB data directory (removed when the process ends)."""
    global _chdb_dir
    if _chdb_dir is None:
        _chdb_dir = tempfile.mkdtemp(prefix="mor_test_chdb_")
        atexit.register(shutil.rmtree, _chdb_dir, True)
    return _chdb_dir


class DatabaseFactory:
    """Builds fresh databases of one kind; `close()` disposes them (and drops MariaDB ones)."""

    def __init__(self, kind: str, tmp_dir: Path, mariadb=None, clickhouse_url: str | None = None) -> None:
        if kind not in ENGINE_KINDS:
            raise ValueError(f"unknown engine kind {kind!r}")
        if kind == "mariadb" and mariadb is None:
            raise ValueError("the mariadb kind needs a running MariaDBServer")
        clickhouse_url = clickhouse_url or os.environ.get(CLICKHOUSE_ENV)
        if kind == "clickhouse" and not clickhouse_url:
            raise ValueError(f"the clickhouse kind needs a server URL (${CLICKHOUSE_ENV} or the stand-in's)")
        self.kind = kind
        self.clickhouse_url = clickhouse_url
        self.tmp_dir = Path(tmp_dir)
        self.mariadb = mariadb
        self._engines: list[Engine] = []
        self._databases: list[str] = []
        self._count = 0
        self._keep = None           # chDB: the held connection (see `_hold`)
        self._url_given = False

    def _new_database(self) -> tuple[str, str, dict, dict]:
        """(writer URL, URL for the code under test, connect_args, extra create_engine kwargs
        for the code's engine)."""
        self._count += 1
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp_dir / f'mor_{self._count}.sqlite'}"
            return url, url, {}, {}
        if self.kind == "duckdb":
            url = f"duckdb:///{self.tmp_dir / f'mor_{self._count}.duckdb'}"
            # NullPool: no connection keeps the file open between uses, so a subprocess (CLI
            # tests) or an engine the code builds itself from the URL can open it too.
            return url, url, {}, {"poolclass": NullPool}
        if self.kind == "chdb":
            name = f"mor_{self._count}_{uuid.uuid4().hex[:12]}"
            self._databases.append(name)
            url = f"chdb:///{chdb_directory()}?database={name}"
            return url, url, {}, {"poolclass": NullPool}
        if self.kind == "clickhouse":
            url = self._clickhouse_database()
            return url, url, clickhouse.connect_args("clickhousedb"), {}
        name = self.mariadb.create_database()
        self._databases.append(name)
        return (self.mariadb.writer_url(name), self.mariadb.reader_url(name),
                dict(self.mariadb.CONNECT_ARGS), {})

    def _clickhouse_database(self) -> str:
        """A fresh database on the ClickHouse server; its URL."""
        from sqlalchemy import make_url, text
        base = make_url(self.clickhouse_url)
        name = f"mor_test_{os.getpid()}_{self._count}"
        admin = create_engine(base, poolclass=NullPool, connect_args=clickhouse.connect_args("clickhousedb"))
        try:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {name}"))
        finally:
            admin.dispose()
        self._databases.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def _hold(self, held: bool) -> None:
        """On chDB, keep (or stop keeping) one connection open on the process's directory.

        chDB starts its embedded server on a process's first open connection and stops it
        on the last close: without a held connection every connection of a test pays that
        start (~0.1 s). A held connection also keeps the directory from another process, so
        it is held only while the test has handed out no URL (`build_for_url`), and never
        past the test."""
        if self.kind != "chdb":
            return
        if held and self._keep is None:
            import chdb.dbapi
            self._keep = chdb.dbapi.connect(path=chdb_directory())
        elif not held and self._keep is not None:
            self._keep.close()
            self._keep = None

    def build_for_url(self, tables: Mapping[str, Rows] | None = None) -> tuple[Engine, str]:
        """`build`, for a test that gives the URL to another process (a CLI test)."""
        self._url_given = True
        self._hold(False)
        return self.build(tables)

    def build(self, tables: Mapping[str, Rows] | None = None) -> tuple[Engine, str]:
        tables = prepare_rows(tables)  # fail on a typo before creating anything
        if not self._url_given:
            self._hold(True)
        writer_url, url, connect_args, kwargs = self._new_database()
        writer = clickhouse.create(writer_url, create_database=True, poolclass=NullPool,
                                   connect_args=connect_args)
        try:
            populate(writer, tables)
        finally:
            writer.dispose()
        engine = clickhouse.create(url, connect_args=connect_args, **kwargs)
        self._engines.append(engine)
        return engine, url

    def __call__(self, tables: Mapping[str, Rows] | None = None) -> Engine:
        return self.build(tables)[0]

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        self._engines.clear()
        try:
            self._drop_databases()
        finally:
            self._hold(False)

    def _drop_databases(self) -> None:
        for name in self._databases:
            try:
                if self.kind == "clickhouse":
                    self._drop_clickhouse(name)
                elif self.kind == "chdb":
                    self._drop_chdb(name)
                else:
                    self.mariadb.drop_database(name)
            except Exception:  # the whole server is thrown away at session end anyway
                pass
        self._databases.clear()

    def _drop_chdb(self, name: str) -> None:
        from sqlalchemy import text
        admin = clickhouse.create(f"chdb:///{chdb_directory()}", poolclass=NullPool)
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} SYNC"))
        finally:
            admin.dispose()

    def _drop_clickhouse(self, name: str) -> None:
        from sqlalchemy import make_url, text
        admin = create_engine(make_url(self.clickhouse_url), poolclass=NullPool,
                              connect_args=clickhouse.connect_args("clickhousedb"))
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        finally:
            admin.dispose()
