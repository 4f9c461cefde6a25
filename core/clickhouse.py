"""ClickHouse as a report engine: a server (`clickhousedb://`) or chDB in-process (`chdb:///PATH`).

What differs from the other engines lives here and in core/dialects.py; the report statement
is the same object on every engine.

- Every session joins with NULLs (`join_use_nulls`): the report's outer joins test for a
  missing row (`originators.id IS NULL`), which ClickHouse would otherwise fill with 0 and ''.
- Every session reads and writes the naive DATETIME calldate as UTC wall-clock text, so no
  daylight-saving gap of the machine's zone can move a call (MOR's calldate has no zone).
- Our own tables (the demo, the analytics copy, tests) are MergeTree tables: `calls`
  partitioned by month and ordered by calldate (what every report filters on first), with
  data-skipping indexes on the other filtered columns; the lookups ordered by their key.
- chDB runs one data directory per process: the engine for a `chdb:///PATH` URL is made once
  per process and shared (`shared_engine`); a second, different directory is refused.
  One directory holds several ClickHouse databases: `chdb:///PATH?database=NAME` reads and
  writes the database NAME in it (`USE` on every connection), `default` otherwise. The tests
  use one directory per test process and a fresh database per test, which costs a few
  milliseconds where a fresh directory costs a second.
- Arrow tables are written in one stream (`insert_arrow`), with no Python loop per row.
"""
from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, Numeric, String, Table, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex, CreateTable

DIALECTS = ("chdb", "clickhousedb")
BACKENDS = DIALECTS

# Applied to every session (chDB: on connect; a server: with each query through the client).
SESSION_SETTINGS = {"join_use_nulls": 1, "session_timezone": "UTC", "mutations_sync": 2}

# calls: one partition a month, sorted by calldate then id.
CALLS_ENGINE = "ENGINE = MergeTree\nPARTITION BY toYYYYMM(calldate)\nORDER BY (calldate, id)"
# Skipping indexes for the report's other filters (granules of 8192 rows each).
SKIP_INDEX_TYPES = {"calls_user_id": "minmax", "calls_provider_id": "minmax",
                    "calls_uniqueid": "bloom_filter", "calls_calldate": "minmax"}


def is_clickhouse(dialect_or_conn) -> bool:
    dialect = getattr(dialect_or_conn, "dialect", dialect_or_conn)
    return getattr(dialect, "name", None) in DIALECTS


def column_type(column) -> str:
    """The ClickHouse type of a declared column (Nullable unless declared NOT NULL)."""
    kind = column.type
    if isinstance(kind, Boolean):
        text = "Bool"
    elif isinstance(kind, BigInteger):
        text = "Int64"
    elif isinstance(kind, Integer):
        text = "Int32"
    elif isinstance(kind, Numeric):
        text = f"Decimal({kind.precision or 30}, {kind.scale or 15})"
    elif isinstance(kind, DateTime):
        text = "DateTime"
    elif isinstance(kind, String):
        text = "String"
    else:
        raise TypeError(f"no ClickHouse type for {column.table.name}.{column.name} ({kind!r})")
    return f"Nullable({text})" if column.nullable and not column.primary_key else text


def table_engine(table: Table) -> str:
    if table.name == "calls":
        return CALLS_ENGINE
    keys = ", ".join(c.name for c in table.primary_key.columns) or "tuple()"
    if table.name == "sync_state":      # the sync's bookkeeping is UPDATEd in place
        return (f"ENGINE = MergeTree\nORDER BY ({keys})\n"
                "SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1")
    return f"ENGINE = MergeTree\nORDER BY ({keys})"


def _skip_index(index, preparer) -> str:
    """A declared index as a ClickHouse data-skipping index (granules of 4 x 8192 rows)."""
    kind = SKIP_INDEX_TYPES.get(index.name, "minmax")
    exprs = ", ".join(preparer.quote(c.name) for c in index.columns)
    return f"INDEX {preparer.quote(index.name)} ({exprs}) TYPE {kind} GRANULARITY 4"


@compiles(CreateTable, "chdb")
@compiles(CreateTable, "clickhousedb")
def _create_table(element, compiler, **kw):
    """The table with its skipping indexes inline: an ALTER per index after the CREATE is a
    mutation each, which made a small database cost a third more to create."""
    table = element.element
    items = [f"{compiler.preparer.quote(c.name)} {column_type(c)}" for c in table.columns]
    items += [_skip_index(i, compiler.preparer) for i in sorted(table.indexes, key=lambda i: i.name)]
    name = compiler.preparer.format_table(table)
    return f"\nCREATE TABLE {name} (\n\t" + ",\n\t".join(items) + f"\n)\n{table_engine(table)}\n\n"


@compiles(CreateIndex, "chdb")
@compiles(CreateIndex, "clickhousedb")
def _create_index(element, compiler, **kw):
    """An index on its own (never emitted by create_all, see `_outside_clickhouse`)."""
    index = element.element
    return (f"ALTER TABLE {compiler.preparer.format_table(index.table)} ADD "
            + _skip_index(index, compiler.preparer).replace("INDEX", "INDEX IF NOT EXISTS", 1))


def _outside_clickhouse(ddl, target, bind, dialect=None, **kw) -> bool:
    return getattr(dialect, "name", None) not in DIALECTS


def _indexes_inline() -> None:
    """create_all emits no CREATE INDEX on ClickHouse: CREATE TABLE already holds them."""
    from .schema import metadata
    for table in metadata.tables.values():
        for index in table.indexes:
            if index._ddl_if is None:
                index.ddl_if(callable_=_outside_clickhouse)


_indexes_inline()


# --- engines ---------------------------------------------------------------------------

DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class BadChdbUrl(ValueError):
    """A chdb:/// URL whose database option is not a plain ClickHouse database name."""


def check_database_name(name) -> str:
    """`name` when it is a plain ClickHouse database name (it goes into SQL backquoted as it
    is), else BadChdbUrl saying what a name may hold."""
    if not isinstance(name, str) or not DATABASE_NAME.fullmatch(name):
        raise BadChdbUrl(f"{name!r} is not a database name: letters, digits and '_' (64 at most), "
                         "not starting with a digit")
    return name


def chdb_parts(url: str | URL) -> tuple[URL, str | None]:
    """(the URL chdb-sqlalchemy takes, the database) of `chdb:///PATH[?database=NAME]`, PATH
    made absolute.

    chdb-sqlalchemy knows no database option; ours is taken off the URL and chosen on each
    connection instead. The name is checked here, since it goes into `USE` as it is."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        # chdb:///data/mor.chdb is relative to the working directory, as for sqlite:/// and
        # duckdb:///; chdb-sqlalchemy alone would read it as /data/mor.chdb.
        parsed = parsed.set(database=str(Path(parsed.database).expanduser().resolve()))
    database = parsed.query.get("database")
    if database is None:
        return parsed, None
    return parsed.difference_update_query(["database"]), check_database_name(database)


def _session(database: str | None, create_database: bool):
    def set_session(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            for name, value in SESSION_SETTINGS.items():
                literal = value if isinstance(value, int) else "'" + value + "'"
                cursor.execute(f"SET {name} = {literal}")
            if database is not None:
                if create_database:
                    cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
                cursor.execute(f"SELECT count() FROM system.databases WHERE name = '{database}'")
                if not int(cursor.fetchone()[0]):
                    from .errors import SourceUnavailable
                    raise SourceUnavailable(f"the chDB directory has no database {database}",
                                            hint="give the database its copy or demo was built in "
                                                 "(chdb:///PATH?database=NAME), or none for 'default'")
                cursor.execute(f"USE `{database}`")
        finally:
            cursor.close()
    return set_session


def configure(engine: Engine, database: str | None = None, create_database: bool = False) -> Engine:
    """The session settings (and the database of a chdb:///PATH?database=NAME URL) on every
    connection of a chDB engine (a server takes them through `connect_args`)."""
    if engine.dialect.name == "chdb":
        event.listen(engine, "connect", _session(database, create_database))
    return engine


def create(url: str | URL, *, create_database: bool = False, **kwargs) -> Engine:
    """`create_engine` for any of our URLs, configured for ClickHouse when it is one;
    `create_database` makes a chDB URL's database when missing (a copy, a demo, a test)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "chdb":
        parsed, database = chdb_parts(parsed)
        return configure(create_engine(parsed, **kwargs), database, create_database)
    if parsed.get_backend_name() == "clickhousedb":
        kwargs.setdefault("connect_args", connect_args("clickhousedb"))
    return configure(create_engine(parsed, **kwargs))


def connect_args(backend: str) -> dict:
    """What a ClickHouse server's client takes at connection: the session settings, each as
    an argument of its own (clickhouse-connect sends every argument it does not know as a
    setting with each query; a `settings` dict would clash with its own)."""
    return dict(SESSION_SETTINGS) if backend == "clickhousedb" else {}


_shared: dict[str, Engine] = {}
_shared_lock = threading.Lock()


class ChdbDirectoryInUse(RuntimeError):
    """A second chDB data directory in one process (chDB runs one per process)."""


def shared_engine(path: str, make) -> Engine:
    """The process's one engine on the chDB URL `path` (a directory, and the database in
    it), made by `make()` (a configured engine, see `create`) on first use.

    chDB embeds one ClickHouse server per process, bound to one data directory: every
    connection of the process must name that directory. The engine holds no connection
    between uses (NullPool), so another process (a sync) can open the directory between
    reports; while this process has a connection open, the directory is its own."""
    with _shared_lock:
        engine = _shared.get(path)
        if engine is None:
            engine = _shared[path] = make()
        return engine


def forget_shared(path: str) -> None:
    """Drop the shared engine of `path` (tests and a rebuilt copy)."""
    with _shared_lock:
        engine = _shared.pop(path, None)
    if engine is not None:
        engine.dispose()


# --- bulk writes -----------------------------------------------------------------------

def _chdb_connection(dbapi_connection):
    """chDB's own connection (it streams an insert) under the DB-API wrappers."""
    conn = dbapi_connection
    for _ in range(3):      # chdb_sqlalchemy's wrapper -> chdb.dbapi -> chDB's connection
        if hasattr(conn, "send_insert"):
            return conn
        conn = getattr(conn, "_conn", None)
    raise TypeError(f"not a chDB connection: {type(dbapi_connection).__name__}")


def insert_arrow(dbapi_connection, table: Table, data: pa.Table) -> int:
    """INSERT an Arrow table's rows into `table` in one stream; the number of rows.

    On chDB the rows go as one Arrow IPC stream (no Python loop per row); on a server
    through clickhouse-connect's Arrow insert."""
    if data.num_rows == 0:
        return 0
    client = getattr(dbapi_connection, "client", None)
    if client is not None:                                     # clickhouse-connect
        client.insert_arrow(table.name, data)
        return data.num_rows
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    names = ", ".join(data.column_names)
    with _chdb_connection(dbapi_connection).send_insert(
            f"INSERT INTO {table.name} ({names}) SETTINGS session_timezone = 'UTC'",
            "ArrowStream") as inserter:
        inserter.append(sink.getvalue())
        inserter.finish()
    return data.num_rows
