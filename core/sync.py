"""The analytics copy: MOR's report tables copied into DuckDB or ClickHouse, kept up to date.

    python -m core sync --from mysql+pymysql://reader@mor-host/mor --to duckdb:///data/mor.duckdb

The copy (`--to`) is a DuckDB file, a chDB data directory (chdb:///PATH[?database=NAME]) or
a database on a ClickHouse server (clickhousedb://user@host:8123/db, its password from
$MOR_COPY_PASSWORD). ClickHouse has no transaction over a batch and its bookkeeping: there a
batch's rows go in first and its bookkeeping after, and rows above the recorded last id
(a batch whose bookkeeping never landed) are removed when the next run starts.

A month of 10 million calls takes tens of seconds to aggregate in MySQL/MariaDB and well
under a second in DuckDB; reports run on the copy exactly as on MOR (same declared schema,
same SQL). What a run does, on the copy opened once:

- The small lookup tables (users, devices, terminators, providers, destination groups,
  directions, destinations, currencies, conflines) are replaced in full, in one
  transaction, which also records in `sync_state` the source's largest call id at the
  start of the run (`target_id`) and that the run has not finished (`complete` false).
- `calls` is copied incrementally by `id`: only rows with an id above the largest id
  already copied, up to `target_id`, in ascending id order, in batches of `batch_rows`
  rows. Each batch is read as a short keyset query (`id > last ORDER BY id LIMIT n`,
  streamed in chunks of `fetch_rows`), so no long transaction is held open on MOR's server
  and memory stays bounded by one chunk. Each batch is written in ONE DuckDB transaction
  together with its bookkeeping, so a copy never shows a half-copied batch; the batch that
  reaches `target_id` sets `complete`.

An interrupted run (Ctrl-C, kill, power loss, a failing source) leaves the copy at the
end of its last committed batch, marked incomplete: `copy_warning` says so on every report
over it, and the next run resumes there. `--full` builds a whole new copy beside the old
one (a DuckDB file beside it; in ClickHouse, a database NAME_rebuilding beside NAME) and
swaps it in only when complete; until then the old copy stays as it was.

The source is only ever read, and may not be the copy's own file. No password is taken from
the command line: give URLs without one and set MOR_DB_PASSWORD (the source) and
MOR_COPY_PASSWORD (a ClickHouse server holding the copy). The copy records the source URL
with the password masked.

Limits: MOR may re-rate or delete calls already copied; an incremental run does not see
that. `--full` rebuilds the copy from scratch.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pyarrow as pa
from sqlalchemy import MetaData, Table, func, insert, inspect, literal_column, select, update
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import DropIndex
from sqlalchemy.sql import table as table_clause

from . import arrow, bulk, clickhouse
from .errors import SourceUnavailable
from .params import ParamError
from .progress import Progress
from .schema import (
    calls,
    conflines,
    copy_metadata,
    currencies,
    destinationgroups,
    destinations,
    devices,
    directions,
    metadata,
    providers,
    sync_state,
    terminators,
    users,
)

BATCH_ROWS = 200_000   # rows per DuckDB transaction (and per source query)
FETCH_ROWS = 20_000    # rows held in Python at once
# The bulk read (core/bulk.py) takes `fetch_rows` per Arrow batch too: at 1M calls from
# MariaDB, batches of 100,000 were slower into both DuckDB and chDB than 20,000 (one run
# each, load ~3: 19.2 s and 20.8 s against 14.8 s and 7.0 s).

LOOKUP_TABLES = (users, devices, terminators, providers, destinationgroups, directions,
                 destinations, currencies, conflines)

SYNC_COMMAND = "python -m core sync --from {source} --to {target}"


@dataclass
class SyncResult:
    source: str
    target: str
    copied: int = 0
    last_id: int = 0
    total_calls: int = 0
    lookup_rows: dict = field(default_factory=dict)
    seconds: float = 0.0
    rebuilt: bool = False

    def describe(self) -> str:
        rate = f", {self.copied / self.seconds:,.0f} rows/s" if self.seconds > 0 and self.copied else ""
        how = "rebuilt" if self.rebuilt else "synced"
        return (f"{how} {self.source} -> {self.target}: {self.copied:,} new call records "
                f"in {self.seconds:.1f} s{rate}; the copy holds {self.total_calls:,} "
                f"(last id {self.last_id}); lookups: "
                + ", ".join(f"{k} {v:,}" for k, v in self.lookup_rows.items()))


# --- what a copy says about itself ------------------------------------------------------

def copy_state(conn: Connection) -> dict | None:
    """The copy's sync_state row as a dict (every declared column; those a copy made by an
    older sync lacks are None), {} when no run has recorded one yet, None when the
    database is not an analytics copy (no sync_state table)."""
    if not inspect(conn).has_table(sync_state.name):
        return None
    present = _column_names(conn, sync_state.name)
    columns = [c for c in sync_state.columns if c.name in present]
    row = conn.execute(select(*columns).where(sync_state.c.id == 1)).first()
    if row is None:
        return {}
    return {c.name: row._mapping.get(c.name) for c in sync_state.columns}


def _column_names(conn: Connection, name: str) -> set[str]:
    """The columns a table has (not Inspector.get_columns: duckdb-engine's fails on
    SQLAlchemy 2.1)."""
    return set(conn.execute(select(literal_column("*")).select_from(table_clause(name)).limit(0)).keys())


def copy_warning(conn: Connection) -> str | None:
    """What a report on this database must say when it is an analytics copy whose last sync
    did not finish (so the report misses calls); None for a complete copy, a copy made
    before runs were recorded, or a database that is not a copy."""
    if conn.dialect.name not in ("duckdb", *clickhouse.DIALECTS):   # a copy: DuckDB or ClickHouse
        return None
    state = copy_state(conn)
    if state is None or (state and state.get("complete") is not False):
        return None
    target = _target_in_messages(conn)
    if not state:
        return (f"This analytics copy holds no calls yet: its first sync stopped before copying "
                f"any. Run `{SYNC_COMMAND.format(source='<MOR database URL>', target=target)}` "
                "to fill it.")
    return (f"This analytics copy is incomplete: its last sync stopped at call id "
            f"{state['last_id']:,} of {state['target_id'] or 0:,} ({state['calls_copied']:,} call "
            f"records copied), so reports on it miss calls. Run "
            f"`{SYNC_COMMAND.format(source=state['source'], target=target)}` to finish it.")


def _target_in_messages(conn: Connection) -> str:
    """The copy's URL as `--to` takes it: no password (it comes from $MOR_COPY_PASSWORD),
    and a chDB copy's database, which its engine's URL no longer carries."""
    url = conn.engine.url.set(password=None)
    if url.get_backend_name() == "chdb":
        database = conn.exec_driver_sql("SELECT currentDatabase()").scalar()
        if database and database != "default":
            url = url.update_query_dict({"database": database})
    return url.render_as_string(hide_password=False)


# --- checks before a run ---------------------------------------------------------------

def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


COPY_PASSWORD_ENV = "MOR_COPY_PASSWORD"
TO_HINT = ("use duckdb:///path/to/copy.duckdb, chdb:///path/to/copy.chdb or "
           "clickhousedb://user@host:8123/database")


@dataclass(frozen=True)
class Copy:
    """Where a sync writes: a DuckDB file, a chDB data directory (`database`: the ClickHouse
    database in it, None for 'default') or a database on a ClickHouse server (`path` None)."""
    kind: str                   # "duckdb" | "chdb" | "clickhousedb"
    url: URL = field(repr=False)  # without a password; `engine_url` adds it
    path: Path | None = None
    database: str | None = None

    @property
    def name(self) -> str:
        """How messages name the copy: its file or directory, or its server URL."""
        return str(self.path) if self.path is not None else self.url.render_as_string(hide_password=True)

    @property
    def in_clickhouse(self) -> bool:
        return self.kind in clickhouse.DIALECTS

    def engine_url(self) -> URL:
        """The URL to open, built from its parts (a path holding '?' or '#' stays a path); a
        server's password from $MOR_COPY_PASSWORD."""
        if self.kind != "clickhousedb":
            query = {"database": self.database} if self.database else {}
            return URL.create(self.kind, database=str(self.path), query=query)
        if self.url.username and os.environ.get(COPY_PASSWORD_ENV):
            return self.url.set(password=os.environ[COPY_PASSWORD_ENV])
        return self.url

    def safe_url(self) -> str:
        return self.engine_url().render_as_string(hide_password=True)

    def beside(self) -> Copy:
        """Where `--full` builds the new copy: a hidden file beside a DuckDB file, a database
        NAME_rebuilding beside NAME in ClickHouse."""
        if self.kind == "duckdb":
            return replace(self, path=self.path.with_name(f".{self.path.name}.rebuilding"))
        aside = f"{self.database or 'default'}{REBUILDING}"
        if self.kind == "chdb":
            return replace(self, database=aside)
        return replace(self, url=self.url.set(database=aside), database=aside)


def _copy_target(target_url: str) -> Copy:
    """The copy a --to URL names, or a ParamError saying what --to takes."""
    try:
        url = make_url(target_url)
    except ArgumentError:
        raise ParamError("--to", f"'{target_url}' is not a database URL; {TO_HINT}") from None
    kind = url.get_backend_name()
    if kind == "clickhousedb":
        return _server_copy(url)
    if kind not in ("duckdb", "chdb") or not url.database or url.database == ":memory:":
        raise ParamError("--to", f"'{target_url}' is not a DuckDB file, chDB directory or ClickHouse "
                                 f"server URL; {TO_HINT}")
    path = Path(url.database).expanduser()
    if not path.resolve().parent.is_dir():
        raise ParamError("--to", f"the folder {path.resolve().parent} does not exist")
    database = None
    if kind == "chdb":
        try:
            database = clickhouse.chdb_parts(url)[1]
        except clickhouse.BadChdbUrl as exc:
            raise ParamError("--to", str(exc)) from None
        _leaves_room_to_rebuild(database or "default")
    return Copy(kind, url, path, database)


REBUILDING = "_rebuilding"


def _leaves_room_to_rebuild(name: str) -> None:
    """A ClickHouse copy's database leaves room beside it for NAME_rebuilding (--full), and
    is not itself such a name (a --full of NAME drops NAME_rebuilding)."""
    if name.endswith(REBUILDING):
        raise ParamError("--to", f"the database {name} ends in {REBUILDING}, which --full uses for "
                                 "the copy it builds beside another; give another name")
    if len(name) + len(REBUILDING) > 64:
        raise ParamError("--to", f"the database name {name} is too long: at most "
                                 f"{64 - len(REBUILDING)} characters (--full builds beside it in "
                                 f"NAME{REBUILDING})")


def _server_copy(url: URL) -> Copy:
    """A database on a ClickHouse server, checked like any URL we open (harmless options)."""
    from .sources.db import check_url
    if url.password is not None:
        raise ParamError("--to", "the URL carries a password, which other users of this machine "
                                 f"could read in the process list; leave it out and set {COPY_PASSWORD_ENV}")
    if not url.host or not url.database:
        raise ParamError("--to", f"a ClickHouse server URL names its host and database: {TO_HINT}")
    try:
        _leaves_room_to_rebuild(clickhouse.check_database_name(url.database))
        check_url(url)
    except clickhouse.BadChdbUrl as exc:
        raise ParamError("--to", str(exc)) from None
    except SourceUnavailable as exc:
        raise ParamError("--to", exc.full()) from None
    return Copy("clickhousedb", url, None, url.database)


def _database_file(url) -> Path | None:
    """The file an SQLite or DuckDB URL reads (also `sqlite:///file:path?uri=true`), else None."""
    try:
        url = make_url(str(url)) if not hasattr(url, "get_backend_name") else url
    except ArgumentError:
        return None
    name = url.database
    if url.get_backend_name() not in ("sqlite", "duckdb") or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        name = name[len("file:"):].split("?", 1)[0]
    return Path(name).expanduser()


def _same_file(a: Path, b: Path) -> bool:
    """The same file: one path, a symlink to it, or a hard link (same device and inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:          # one of them does not exist (yet): compare where they lead
        return a.resolve() == b.resolve()


def _refuse_same_copy(source_url, copy: Copy) -> None:
    """The source may not be the copy itself: the run would empty the lookups it reads."""
    _refuse_same_file(source_url, copy.path)
    try:
        source = make_url(str(source_url))
    except ArgumentError:
        return
    if source.get_backend_name() != copy.kind or copy.kind not in clickhouse.DIALECTS:
        return
    if copy.kind == "chdb":
        path, database = Path(source.database or "").expanduser(), source.query.get("database")
        same = _same_file(path, copy.path) and (database or "default") == (copy.database or "default")
    else:
        same = ((source.host, source.port or 8123, source.database)
                == (copy.url.host, copy.url.port or 8123, copy.database))
    if same:
        raise ParamError("--to", f"{copy.name} is the source database itself (--from); the copy "
                                 "must be another database")


def _refuse_same_file(source_url, path: Path | None) -> None:
    source_file = _database_file(source_url)
    if source_file is not None and path is not None and _same_file(source_file, path):
        raise ParamError("--to", f"{path} is the source database itself (--from); the copy "
                                 "must be another file, e.g. duckdb:///data/mor.duckdb")


def _check_source(source: Engine, source_name: str) -> int:
    """The source's largest call id (0 with no calls), after checking it has every table
    the copy needs (or one clear error naming those it lacks)."""
    with _reading(source_name):
        have = set(inspect(source).get_table_names())
        missing = [t.name for t in (calls, *LOOKUP_TABLES) if t.name not in have]
        if missing:
            raise SourceUnavailable(f"{source_name} has no table(s) {', '.join(missing)}",
                                    hint="is this a MOR database? check the database name in the URL")
        with source.connect() as src:
            return int(src.execute(select(func.max(calls.c.id))).scalar() or 0)


# --- reading the source, writing the copy ----------------------------------------------

@contextlib.contextmanager
def _reading(source_name: str):
    """A failing source comes out as one SourceUnavailable naming it."""
    try:
        yield
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip().splitlines()
        raise SourceUnavailable(f"reading {source_name} failed: {text[0] if text else orig!r}",
                                hint="check the URL, that the server runs, and the account's "
                                     "SELECT rights on MOR's tables") from None


def _chunks(source: Engine, source_name: str, stmt, fetch_rows: int) -> Iterator[list]:
    """The statement's rows from the source, streamed `fetch_rows` at a time."""
    with _reading(source_name), source.connect() as src:
        result = src.execution_options(stream_results=True, max_row_buffer=fetch_rows).execute(stmt)
        yield from result.partitions(fetch_rows)


def _call_chunks(source: Engine, source_name: str, stmt, fetch_rows: int) -> Iterator:
    """The calls `stmt` selects: Arrow tables read in bulk from MySQL/MariaDB (core/bulk.py),
    else rows streamed through the driver."""
    if not bulk.available(source):
        yield from _chunks(source, source_name, stmt, fetch_rows)
        return
    try:
        yield from bulk.arrow_batches(source, stmt, fetch_rows, calls)
    except bulk.BulkReadError as exc:
        raise SourceUnavailable(f"reading {source_name} failed: {exc}",
                                hint="check the URL, that the server runs, and the account's "
                                     "SELECT rights on MOR's tables") from None


def _insert_arrow(con, target: Table, rows) -> None:
    """Rows read from the source (tuples, or an Arrow table), into the copy's table."""
    data = rows if isinstance(rows, pa.Table) else arrow.from_rows(target, rows)
    if hasattr(con, "register"):            # DuckDB's connection (or duckdb-engine's wrapper)
        arrow.insert(con, target, data)
    else:
        clickhouse.insert_arrow(con, target, data)


def _last_id(chunk) -> int:
    return int(chunk.column(0)[-1].as_py() if isinstance(chunk, pa.Table) else chunk[-1][0])


def _copy_rows(con, target, chunks: Iterator[list], on_chunk=None) -> int:
    """Every chunk into the copy's table; the number of rows."""
    n = 0
    with contextlib.closing(chunks):
        for chunk in chunks:
            _insert_arrow(con, target, chunk)
            n += chunk.num_rows if isinstance(chunk, pa.Table) else len(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    return n


OPEN_HINTS = {
    "duckdb": "another process (the app, another sync) may hold it open: stop it or wait, then "
              "run the sync again; or it is not a DuckDB file",
    "chdb": "another process (the app, another sync) may hold the directory open: stop it or "
            "wait, then run the sync again; or it is not a chDB data directory",
    "clickhousedb": f"check the URL, that the server runs, the user's rights and ${COPY_PASSWORD_ENV}",
}
WRITE_HINTS = {
    "duckdb": "check the free disk space and the file's permissions, then run the sync again",
    "chdb": "check the free disk space and the directory's permissions, then run the sync again",
    "clickhousedb": "check the server and the user's rights on the copy's database (CREATE and "
                    "DROP TABLE, INSERT, ALTER DELETE and UPDATE, TRUNCATE; with --full also "
                    "CREATE and DROP DATABASE of NAME_rebuilding), then run the sync again",
}
TITLES = {"duckdb": "DuckDB copy", "chdb": "chDB copy", "clickhousedb": "ClickHouse copy"}


@contextlib.contextmanager
def _open_copy(copy: Copy) -> Iterator[Connection]:
    """The copy, opened once for the whole run; its failures come out as SourceUnavailable,
    and DuckDB's 'Query interrupted' (how it reports Ctrl-C) as the KeyboardInterrupt it is."""
    if copy.kind == "clickhousedb":
        _create_server_database(copy)
    engine = clickhouse.create(copy.engine_url(), create_database=True, poolclass=NullPool)
    title = TITLES[copy.kind]
    try:
        try:
            conn = engine.connect()
        except Exception as exc:
            if not _database_error(exc):
                raise
            raise SourceUnavailable(f"cannot open the {title} {copy.name}: {_first_line(exc)}",
                                    hint=OPEN_HINTS[copy.kind]) from None
        with conn:
            try:
                yield conn
            except Exception as exc:
                if arrow.interrupted(exc):
                    raise KeyboardInterrupt from None
                if _database_error(exc):
                    raise SourceUnavailable(f"writing the {title} {copy.name} failed: {_first_line(exc)}",
                                            hint=WRITE_HINTS[copy.kind]) from None
                raise
    finally:
        engine.dispose()


def _database_error(exc: BaseException) -> bool:
    """An error of the copy's database or its driver (not a bug of ours)."""
    if isinstance(exc, (SQLAlchemyError, duckdb.Error)):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("clickhouse_connect", "chdb"))


def _create_server_database(copy: Copy) -> None:
    """The copy's database on a ClickHouse server, made when missing (through the server's
    `default` database, which every server has): a user who may not create databases can
    still sync into one made for him."""
    admin = clickhouse.create(copy.engine_url().set(database="default"), poolclass=NullPool)
    try:
        with admin.connect() as conn:
            found = conn.execute(select(func.count()).select_from(table_clause("databases", schema="system"))
                                 .where(literal_column("name") == copy.database)).scalar()
            if not found:
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{copy.database}`")
    except Exception as exc:
        if not _database_error(exc):
            raise
        raise SourceUnavailable(f"cannot open the ClickHouse copy {copy.name}: {_first_line(exc)}",
                                hint=OPEN_HINTS["clickhousedb"]) from None
    finally:
        admin.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _prepare(conn: Connection, copy: Copy) -> None:
    """MOR's declared tables and sync_state, when missing; sync_state columns a copy made by
    an older sync lacks, added. Refuses a database that is not a copy: the sync never writes
    into someone else's tables.

    A new DuckDB copy keeps no secondary index on calls: DuckDB answers the reports from its
    zone maps (it scans an ART index only for a few thousand rows at most), and keeping the
    four indexes made the first copy of 1M calls take a third longer (docs/benchmarks.md).
    A copy made with them keeps them."""
    with conn.begin():
        names = set(inspect(conn).get_table_names())
        if names and sync_state.name not in names:
            engine = "DuckDB" if copy.kind == "duckdb" else "ClickHouse"
            raise ParamError("--to", f"{copy.name} is a {engine} database but not an analytics "
                                     "copy (it has no sync_state table); give another --to")
        metadata.create_all(conn)
        if copy.kind == "duckdb" and calls.name not in names:
            for index in calls.indexes:
                conn.execute(DropIndex(index, if_exists=True))
        copy_metadata.create_all(conn)
        present = _column_names(conn, sync_state.name)
        for column in sync_state.columns:
            if column.name not in present:   # DDL plumbing: SQLAlchemy Core has no ADD COLUMN
                conn.exec_driver_sql(f'ALTER TABLE {sync_state.name} ADD COLUMN "{column.name}" '
                                     f"{column.type.compile(conn.dialect)}")


def _save_state(conn: Connection, **values) -> None:
    """Update the copy's one sync_state row (inserting it on the first run), on the
    caller's transaction."""
    values.setdefault("last_sync", _utcnow())
    if conn.execute(select(sync_state.c.id).where(sync_state.c.id == 1)).first() is None:
        conn.execute(insert(sync_state).values(**{"id": 1, "last_id": 0, "calls_copied": 0,
                                                  **values}))
    else:
        conn.execute(update(sync_state).where(sync_state.c.id == 1).values(**values))


# --- a run ------------------------------------------------------------------------------

@dataclass
class _Options:
    batch_rows: int = BATCH_ROWS
    fetch_rows: int = FETCH_ROWS
    progress: Progress | None = None
    on_batch: Callable[[int, int], None] | None = None


def refresh_lookups(source: Engine, conn: Connection, source_name: str, top: int,
                    fetch_rows: int = FETCH_ROWS) -> dict:
    """Replace every lookup table of the copy by the source's, in one transaction that also
    records the run's target (the source's largest call id) and whether the copy already
    reaches it."""
    counts = {}
    with conn.begin():
        raw = conn.connection.driver_connection
        for lookup in LOOKUP_TABLES:
            stmt = select(*lookup.columns).order_by(*lookup.primary_key.columns)
            rows = _chunks(source, source_name, stmt, fetch_rows)
            if clickhouse.is_clickhouse(conn):    # loaded beside it: never seen empty
                counts[lookup.name] = _replace_table(
                    conn, lookup.name, f"`{lookup.name}`",
                    lambda new, lookup=lookup, rows=rows: _copy_rows(
                        raw, lookup.to_metadata(MetaData(), name=new), rows))
            else:
                conn.execute(lookup.delete())
                counts[lookup.name] = _copy_rows(raw, lookup, rows)
        state = copy_state(conn) or {}
        last_id = int(state.get("last_id") or 0)
        now = _utcnow()
        _save_state(conn, source=source_name, lookups_synced=now, last_sync=now,
                    target_id=max(top, last_id), complete=last_id >= top)
    return counts


def _replace_table(conn: Connection, name: str, like: str, fill: Callable[[str], int | None]):
    """ClickHouse has no transaction: the table `name` is replaced by a new one, made beside
    it like `like` and filled by `fill(new name)`, in one EXCHANGE, so readers (reports,
    sign-in) see the old rows or the new, never none; what `fill` returns. A table left
    beside it by a killed run is dropped first."""
    new = f"{name}__new"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS `{new}` SYNC")
    conn.exec_driver_sql(f"CREATE TABLE `{new}` AS {like}")
    filled = fill(new)
    conn.exec_driver_sql(f"EXCHANGE TABLES `{name}` AND `{new}`")
    conn.exec_driver_sql(f"DROP TABLE `{new}` SYNC")
    return filled


def copy_calls(source: Engine, conn: Connection, source_name: str, top: int, *,
               batch_rows: int = BATCH_ROWS, fetch_rows: int = FETCH_ROWS,
               progress: Progress | None = None,
               on_batch: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Copy calls with an id above the copy's last id, up to `top` (the source's largest
    id at the start of the run), a committed batch at a time.

    Returns (rows copied, last id). `on_batch(copied, last_id)` runs after each commit.
    """
    with conn.begin():
        state = copy_state(conn) or {}
    last_id = int(state.get("last_id") or 0)
    copied_before = int(state.get("calls_copied") or 0)
    if progress is not None:
        progress.total = max(top - last_id, 0)
    start_id, copied = last_id, 0
    if clickhouse.is_clickhouse(conn):
        # ClickHouse has no transaction over a batch and its bookkeeping: rows of a batch
        # whose bookkeeping was never written (a kill between the two) are removed here.
        with conn.begin():
            stray = select(func.count()).select_from(calls).where(calls.c.id > last_id)
            if conn.execute(stray).scalar():      # a DELETE is a mutation: only when needed
                conn.execute(calls.delete().where(calls.c.id > last_id))
    raw = conn.connection.driver_connection
    while last_id < top:
        stmt = (select(*calls.columns).where(calls.c.id > last_id, calls.c.id <= top)
                .order_by(calls.c.id).limit(batch_rows))
        seen = {"last": last_id}

        def advance(chunk, seen=seen):
            seen["last"] = _last_id(chunk)
            if progress is not None:
                progress.update(seen["last"] - start_id)

        with conn.begin():
            n = _copy_rows(raw, calls, _call_chunks(source, source_name, stmt, fetch_rows), advance)
            if n == 0:      # the source no longer has the ids up to `top`: nothing is missing
                _save_state(conn, complete=True)
                break
            _save_state(conn, last_id=seen["last"], calls_copied=copied_before + copied + n,
                        complete=seen["last"] >= top)
        last_id = seen["last"]
        copied += n
        if on_batch is not None:
            on_batch(copied, last_id)
    if progress is not None:
        progress.update(last_id - start_id, force=True)
    return copied, last_id


def _run(source: Engine, source_name: str, conn: Connection, top: int, target: str,
         options: _Options) -> SyncResult:
    """Lookups, then the calls up to `top`, into the opened and prepared copy."""
    result = SyncResult(source=source_name, target=target)
    result.lookup_rows = refresh_lookups(source, conn, source_name, top, options.fetch_rows)
    try:
        result.copied, result.last_id = copy_calls(
            source, conn, source_name, top, batch_rows=options.batch_rows,
            fetch_rows=options.fetch_rows, progress=options.progress, on_batch=options.on_batch)
    finally:
        if options.progress is not None:
            options.progress.close()
    with conn.begin():
        result.total_calls = int(conn.execute(select(func.count()).select_from(calls)).scalar())
    if result.copied and not clickhouse.is_clickhouse(conn):
        conn.exec_driver_sql("CHECKPOINT")
    return result


def _update(source: Engine, source_name: str, copy: Copy, top: int, options: _Options) -> SyncResult:
    """The incremental run: into the copy itself, resumable batch by batch."""
    with _open_copy(copy) as conn:
        _prepare(conn, copy)
        with conn.begin():
            state = copy_state(conn) or {}
        if state and state.get("source") != source_name:
            raise SourceUnavailable(
                f"the copy {copy.name} was made from {state.get('source')}, not {source_name}",
                hint="run with --full to rebuild it from this source, or give another --to")
        return _run(source, source_name, conn, top, copy.safe_url(), options)


def _database_files(path: Path) -> tuple[Path, Path]:
    return path, path.with_name(path.name + ".wal")


def _rebuild(source: Engine, source_name: str, copy: Copy, top: int, options: _Options) -> SyncResult:
    """--full: a whole new copy built beside the old one and swapped in only when complete.
    Until the swap the old copy stays as it was, and reports may keep reading it."""
    if copy.in_clickhouse:
        return _rebuild_in_clickhouse(source, source_name, copy, top, options)
    path = copy.path
    if path.exists():            # only a copy is ever replaced, and not while in use
        with _open_copy(copy) as conn:
            _prepare(conn, copy)
    aside = copy.beside()
    for leftover in _database_files(aside.path):      # of a rebuild that was killed
        leftover.unlink(missing_ok=True)
    try:
        with _open_copy(aside) as conn:
            _prepare(conn, aside)
            result = _run(source, source_name, conn, top, copy.safe_url(), options)
            conn.exec_driver_sql("CHECKPOINT")
        _swap(aside.path, copy)
    except BaseException:
        for part in _database_files(aside.path):
            part.unlink(missing_ok=True)
        raise
    result.rebuilt = True
    return result


def _rebuild_in_clickhouse(source: Engine, source_name: str, copy: Copy, top: int,
                           options: _Options) -> SyncResult:
    """--full in ClickHouse: the new copy is built in the database NAME_rebuilding; then each
    of its tables is swapped in (`_swap_table`; sync_state last, so a report between two
    swaps sees at worst the old bookkeeping), and that database is dropped."""
    aside = copy.beside()
    with _open_copy(copy) as conn:      # only a copy is ever replaced
        _prepare(conn, copy)
        _drop_database(conn, aside.database)     # of a rebuild that was killed
    try:
        with _open_copy(aside) as conn:
            _prepare(conn, aside)
            result = _run(source, source_name, conn, top, copy.safe_url(), options)
        with _open_copy(copy) as conn:
            # Killed between two swaps, the copy mixes old and new tables: flagged incomplete
            # until the new sync_state (complete) comes in last, and a plain run mends it.
            _save_state(conn, complete=False)
            for table in (*LOOKUP_TABLES, calls, sync_state):
                _swap_table(conn, aside.database, table.name)
            _drop_database(conn, aside.database)     # now holding the old tables
    except BaseException:
        with contextlib.suppress(SourceUnavailable), _open_copy(copy) as conn:
            _drop_database(conn, aside.database)
        raise
    result.rebuilt = True
    return result


def _swap_table(conn: Connection, aside: str, name: str) -> None:
    """The table `name` of the database `aside` in place of the connection's own
    (`_replace_table`: EXCHANGE works only within one database engine, and chDB's `default`
    is not Atomic): the calls by attaching their data parts (hard links, no copy), the small
    tables by copying their rows (the bookkeeping's UPDATEs leave patch parts, which ATTACH
    refuses)."""
    rebuilt = f"`{aside}`.`{name}`"

    def fill(new: str) -> None:
        if name == calls.name:
            conn.exec_driver_sql(f"ALTER TABLE `{new}` ATTACH PARTITION ALL FROM {rebuilt}")
        else:
            conn.exec_driver_sql(f"INSERT INTO `{new}` SELECT * FROM {rebuilt}")

    _replace_table(conn, name, rebuilt, fill)


def _drop_database(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}` SYNC")


def _swap(aside: Path, copy: Copy) -> None:
    """Put the finished copy in place of the old one, in one rename. The old copy is
    opened first, which waits for no one but fails while another process holds it, and
    its log is merged on close, so no stale log can be replayed into the new file."""
    if _database_files(aside)[1].exists():      # closed after a CHECKPOINT: never expected
        raise SourceUnavailable(f"the rebuilt copy {aside} was not completely written; the old "
                                "copy was kept", hint="run the sync again")
    path = copy.path
    if path.exists():
        with _open_copy(copy) as conn:
            conn.exec_driver_sql("CHECKPOINT")
        if _database_files(path)[1].exists():
            raise SourceUnavailable(f"the copy {path} is in use by another process; the rebuilt "
                                    "copy was not swapped in",
                                    hint="stop the other process, then run the sync again")
    os.replace(aside, path)


def sync(source_url: str | Engine, target_url: str, *, full: bool = False,
         batch_rows: int = BATCH_ROWS, fetch_rows: int = FETCH_ROWS,
         progress_stream=None, show_progress: bool = True,
         on_batch: Callable[[int, int], None] | None = None) -> SyncResult:
    """Bring the copy at `target_url` (DuckDB, chDB or a ClickHouse server) up to date with
    the MOR database `source_url` (with `full`, rebuild it aside and swap it in when complete).

    Bad input: ParamError. The source or the copy failing: SourceUnavailable. Ctrl-C:
    KeyboardInterrupt, with the copy at its last committed batch (or, with `full`, as it was).
    """
    from .sources.db import open_engine, safe_url

    if batch_rows < 1 or fetch_rows < 1:
        raise ParamError("--batch", "must be a positive number of rows")
    copy = _copy_target(target_url)
    _refuse_same_copy(source_url if isinstance(source_url, str) else source_url.url, copy)
    source = open_engine(source_url) if isinstance(source_url, str) else source_url
    source_name = safe_url(source.url)
    options = _Options(batch_rows=batch_rows, fetch_rows=fetch_rows, on_batch=on_batch,
                       progress=Progress(0, stream=progress_stream) if show_progress else None)
    started = time.monotonic()
    try:
        top = _check_source(source, source_name)
        result = (_rebuild if full else _update)(source, source_name, copy, top, options)
    finally:
        if isinstance(source_url, str):
            source.dispose()
    result.seconds = time.monotonic() - started
    return result

