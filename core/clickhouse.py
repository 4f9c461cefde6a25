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
- Arrow tables are written in one stream (`insert_arrow`), with no Python loop per row.
"""
from __future__ import annotations

import io
import threading

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, Numeric, String, Table, event
from sqlalchemy.engine import Engine
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


@compiles(CreateTable, "chdb")
@compiles(CreateTable, "clickhousedb")
def _create_table(element, compiler, **kw):
    table = element.element
    columns = ",\n\t".join(f"{compiler.preparer.quote(c.name)} {column_type(c)}" for c in table.columns)
    name = compiler.preparer.format_table(table)
    return f"\nCREATE TABLE {name} (\n\t{columns}\n)\n{table_engine(table)}\n\n"


@compiles(CreateIndex, "chdb")
@compiles(CreateIndex, "clickhousedb")
def _create_index(element, compiler, **kw):
    index = element.element
    kind = SKIP_INDEX_TYPES.get(index.name, "minmax")
    exprs = ", ".join(compiler.preparer.quote(c.name) for c in index.columns)
    return (f"ALTER TABLE {compiler.preparer.format_table(index.table)} ADD INDEX IF NOT EXISTS "
            f"{compiler.preparer.quote(index.name)} ({exprs}) TYPE {kind} GRANULARITY 4")


# --- engines ---------------------------------------------------------------------------

def _set_session(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SESSION_SETTINGS.items():
            literal = value if isinstance(value, int) else "'" + value + "'"
            cursor.execute(f"SET {name} = {literal}")
    finally:
        cursor.close()


def configure(engine: Engine) -> Engine:
    """The session settings on every connection of a chDB engine (a server takes them
    through `connect_args`, see `connect_args`)."""
    if engine.dialect.name == "chdb":
        event.listen(engine, "connect", _set_session)
    return engine


def connect_args(backend: str) -> dict:
    """What a ClickHouse server's client takes at connection: the session settings."""
    return {"settings": dict(SESSION_SETTINGS)} if backend == "clickhousedb" else {}


_shared: dict[str, Engine] = {}
_shared_lock = threading.Lock()


class ChdbDirectoryInUse(RuntimeError):
    """A second chDB data directory in one process (chDB runs one per process)."""


def shared_engine(path: str, create) -> Engine:
    """The process's one engine on the chDB directory `path`, made by `create()` on first use.

    chDB embeds one ClickHouse server per process, bound to one data directory: every
    connection of the process must name that directory. The engine holds no connection
    between uses (NullPool), so another process (a sync) can open the directory between
    reports; while this process has a connection open, the directory is its own."""
    with _shared_lock:
        engine = _shared.get(path)
        if engine is None:
            engine = _shared[path] = configure(create())
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
