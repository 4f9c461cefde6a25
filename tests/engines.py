"""Small MOR databases on each engine, for tests.

The pytest fixtures in conftest.py wrap `DatabaseFactory`:

    def test_something(make_db):          # runs once per engine: sqlite, mariadb, duckdb
        engine = make_db({"users": [{"id": 1, "username": "u", "usertype": "user"}],
                          "calls": [{"id": 1, "calldate": "2024-01-01 10:00:00", "user_id": 1}]})

Each call builds a FRESH database with core.schema.metadata.create_all, inserts the rows
(missing columns take the schema defaults; DATETIME values may be `datetime` or
'YYYY-MM-DD HH:MM:SS' text) with a writer account, and returns an Engine for the code under
test. On MariaDB that engine uses a SELECT-only account, as against a real MOR server.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping

from sqlalchemy import Date, DateTime, Engine, Table, create_engine
from sqlalchemy.pool import NullPool

from core.schema import metadata

ENGINE_KINDS = ("sqlite", "mariadb", "duckdb")
ENGINES_ENV = "MOR_TEST_ENGINES"

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
            conn.execute(table.insert(), group)


def populate(engine: Engine, tables: Mapping[str, Rows]) -> None:
    """create_all on a FRESH database, then insert the rows."""
    metadata.create_all(engine, checkfirst=False)
    with engine.begin() as conn:
        insert_rows(conn, tables)


class DatabaseFactory:
    """Builds fresh databases of one kind; `close()` disposes them (and drops MariaDB ones)."""

    def __init__(self, kind: str, tmp_dir: Path, mariadb=None) -> None:
        if kind not in ENGINE_KINDS:
            raise ValueError(f"unknown engine kind {kind!r}")
        if kind == "mariadb" and mariadb is None:
            raise ValueError("the mariadb kind needs a running MariaDBServer")
        self.kind = kind
        self.tmp_dir = Path(tmp_dir)
        self.mariadb = mariadb
        self._engines: list[Engine] = []
        self._databases: list[str] = []
        self._count = 0

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
        name = self.mariadb.create_database()
        self._databases.append(name)
        return (self.mariadb.writer_url(name), self.mariadb.reader_url(name),
                dict(self.mariadb.CONNECT_ARGS), {})

    def build(self, tables: Mapping[str, Rows] | None = None) -> tuple[Engine, str]:
        tables = prepare_rows(tables)  # fail on a typo before creating anything
        writer_url, url, connect_args, kwargs = self._new_database()
        writer = create_engine(writer_url, poolclass=NullPool, connect_args=connect_args)
        try:
            populate(writer, tables)
        finally:
            writer.dispose()
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        self._engines.append(engine)
        return engine, url

    def __call__(self, tables: Mapping[str, Rows] | None = None) -> Engine:
        return self.build(tables)[0]

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        self._engines.clear()
        for name in self._databases:
            try:
                self.mariadb.drop_database(name)
            except Exception:  # the whole server is thrown away at session end anyway
                pass
        self._databases.clear()
