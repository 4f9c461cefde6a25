"""The analytics copy: MOR's report tables copied into a DuckDB file, kept up to date.

    python -m core sync --from mysql+pymysql://reader@mor-host/mor --to duckdb:///data/mor.duckdb

A month of 10 million calls takes tens of seconds to aggregate in MySQL/MariaDB and well
under a second in DuckDB; reports run on the copy exactly as on MOR (same declared schema,
same SQL). What a run does:

- `calls` is copied incrementally by `id`: only rows with an id above the largest id
  already copied, in ascending id order, in batches of `batch_rows` rows. Each batch is
  read as a short keyset query (`id > last ORDER BY id LIMIT n`, streamed in chunks of
  `fetch_rows`), so no long transaction is held open on MOR's server and memory stays
  bounded by one chunk. Each batch is written in ONE DuckDB transaction together with the
  bookkeeping row in `sync_state`, so a copy never shows a half-copied batch: an interrupted
  run (Ctrl-C, kill, power loss) leaves the copy at the end of its last committed batch and
  the next run resumes from there.
- The small lookup tables (users, devices, terminators, providers, destination groups,
  directions, destinations, currencies, conflines) are replaced in full on each run, in
  one transaction.
- The source is only ever read. Its password is never taken from the command line: give a
  URL without one and set MOR_DB_PASSWORD. The copy records the source URL with the
  password masked.

Limits: MOR may re-rate or delete calls already copied; an incremental run does not see
that. `--full` rebuilds the calls of the copy from scratch.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, String, Table,
                        create_engine, func, inspect, select)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from .errors import SourceUnavailable
from .params import ParamError
from .schema import (calls, conflines, currencies, destinationgroups, destinations, devices,
                     directions, metadata, providers, terminators, users)

BATCH_ROWS = 200_000   # rows per DuckDB transaction (and per source query)
FETCH_ROWS = 20_000    # rows held in Python at once

LOOKUP_TABLES = (users, devices, terminators, providers, destinationgroups, directions,
                 destinations, currencies, conflines)

# Our own bookkeeping table, in the copy only (never in MOR's database).
state_metadata = MetaData()
sync_state = Table(
    "sync_state", state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("source", String(1000), nullable=False),   # source URL, password masked
    Column("last_id", BigInteger, nullable=False),    # largest calls.id copied
    Column("calls_copied", BigInteger, nullable=False, default=0),
    Column("last_sync", DateTime, nullable=False),    # UTC, end of the last committed batch
    Column("lookups_synced", DateTime),               # UTC, last full refresh of the lookups
)


@dataclass
class SyncResult:
    source: str
    target: str
    copied: int = 0
    last_id: int = 0
    total_calls: int = 0
    lookup_rows: dict = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        rate = f", {self.copied / self.seconds:,.0f} rows/s" if self.seconds > 0 and self.copied else ""
        return (f"synced {self.source} -> {self.target}: {self.copied:,} new call records "
                f"in {self.seconds:.1f} s{rate}; the copy holds {self.total_calls:,} "
                f"(last id {self.last_id}); lookups: "
                + ", ".join(f"{k} {v:,}" for k, v in self.lookup_rows.items()))


# --- helpers ---------------------------------------------------------------------------

def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _duckdb_path(target_url: str) -> str:
    try:
        url = make_url(target_url)
    except ArgumentError:
        raise ParamError("--to", f"'{target_url}' is not a database URL; "
                                 "use duckdb:///path/to/copy.duckdb") from None
    if url.get_backend_name() != "duckdb" or not url.database or url.database == ":memory:":
        raise ParamError("--to", f"'{target_url}' is not a DuckDB file URL; "
                                 "use duckdb:///path/to/copy.duckdb")
    parent = Path(url.database).expanduser().resolve().parent
    if not parent.is_dir():
        raise ParamError("--to", f"the folder {parent} does not exist")
    return str(Path(url.database).expanduser())


def _arrow_type(column):
    import pyarrow as pa
    from sqlalchemy import Numeric
    t = column.type
    if isinstance(t, DateTime):
        return pa.timestamp("us")
    if isinstance(t, (Integer, BigInteger)):
        return pa.int64()
    if isinstance(t, Numeric):
        return pa.float64()
    return pa.string()


def _arrow_table(table: Table, rows: list):
    """Rows (tuples in declared column order) as an Arrow table with explicit types, so a
    column of NULLs or of mixed Python types still lands in DuckDB as what it is."""
    import pyarrow as pa
    columns = list(zip(*rows)) if rows else [()] * len(table.columns)
    arrays = [_arrow_array(column, values) for column, values in zip(table.columns, columns)]
    return pa.Table.from_arrays(arrays, names=[c.name for c in table.columns])


def _arrow_array(column, values):
    import pyarrow as pa
    kind = _arrow_type(column)
    try:  # the fast path: SQLAlchemy already gave int / float / str / datetime / None
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    if kind == pa.string():
        values = [None if v is None else str(v) for v in values]
    elif kind == pa.float64():
        values = [None if v is None else float(v) for v in values]
    elif kind == pa.int64():
        values = [None if v is None else int(v) for v in values]
    elif kind == pa.timestamp("us"):
        values = [None if v is None else (datetime.fromisoformat(v) if isinstance(v, str) else v)
                  for v in values]
    return pa.array(values, type=kind)


def _insert_arrow(con, table: Table, data) -> None:
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    con.register("_sync_batch", data)
    try:
        con.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM _sync_batch')
    finally:
        con.unregister("_sync_batch")


def create_copy_schema(target_url: str) -> None:
    """MOR's declared tables (with our indexes) and sync_state, in the copy, if missing."""
    engine = create_engine(target_url, poolclass=NullPool)
    try:
        metadata.create_all(engine)        # tables + the schema's indexes (core.schema)
        state_metadata.create_all(engine)
    finally:
        engine.dispose()


def _open_duckdb(path: str):
    import duckdb
    try:
        return duckdb.connect(path)
    except duckdb.IOException as exc:
        raise SourceUnavailable(f"cannot open the DuckDB copy {path}: {str(exc).splitlines()[0]}",
                                hint="another process (the app, another sync) may hold it open; "
                                     "stop it or wait, then run the sync again") from None


def _state(con) -> tuple | None:
    return con.execute("SELECT source, last_id, calls_copied FROM sync_state WHERE id = 1").fetchone()


def _save_state(con, source: str, last_id: int, copied: int, lookups: bool = False) -> None:
    now = _utcnow()
    if _state(con) is None:
        con.execute("INSERT INTO sync_state (id, source, last_id, calls_copied, last_sync, "
                    "lookups_synced) VALUES (1, ?, ?, ?, ?, ?)",
                    [source, last_id, copied, now, now if lookups else None])
    elif lookups:
        con.execute("UPDATE sync_state SET source = ?, last_sync = ?, lookups_synced = ? "
                    "WHERE id = 1", [source, now, now])
    else:
        con.execute("UPDATE sync_state SET source = ?, last_id = ?, calls_copied = ?, "
                    "last_sync = ? WHERE id = 1", [source, last_id, copied, now])


class Progress:
    """A one-line text progress bar on stderr (a line per update when not a terminal)."""

    def __init__(self, total: int, stream=None, label: str = "calls"):
        self.total = max(int(total), 0)
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.started = time.monotonic()
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last_line = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_line < (0.2 if self.tty else 5.0):
            return
        self.last_line = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        if self.total:
            share = min(done / self.total, 1.0)
            width = 30
            bar = "#" * int(share * width) + "-" * (width - int(share * width))
            eta = (self.total - done) / rate if rate > 0 else 0
            text = (f"{self.label} [{bar}] {done:,}/{self.total:,} {share:5.1%} "
                    f"{rate:,.0f}/s ETA {eta:4.0f}s")
        else:
            text = f"{self.label}: {done:,} {rate:,.0f}/s"
        if self.tty:
            self.stream.write("\r" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --- the sync ----------------------------------------------------------------------------

def refresh_lookups(source: Engine, con, source_name: str, fetch_rows: int = FETCH_ROWS) -> dict:
    """Replace every lookup table of the copy by the source's, in one transaction."""
    counts = {}
    con.execute("BEGIN TRANSACTION")
    try:
        with source.connect() as src:
            for table in LOOKUP_TABLES:
                con.execute(f'DELETE FROM "{table.name}"')
                result = src.execution_options(stream_results=True).execute(
                    select(*table.columns).order_by(*table.primary_key.columns))
                n = 0
                for chunk in result.partitions(fetch_rows):
                    _insert_arrow(con, table, _arrow_table(table, chunk))
                    n += len(chunk)
                counts[table.name] = n
        _save_state(con, source_name, 0, 0, lookups=True)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def copy_calls(source: Engine, con, source_name: str, *, batch_rows: int = BATCH_ROWS,
               fetch_rows: int = FETCH_ROWS, progress: Progress | None = None,
               on_batch: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Copy calls with an id above the copy's last id, up to the source's max id at start.

    Returns (rows copied, last id). `on_batch(copied, last_id)` runs after each commit.
    """
    state = _state(con)
    last_id = int(state[1]) if state else 0
    copied_total = int(state[2]) if state else 0
    with source.connect() as src:
        top = src.execute(select(func.max(calls.c.id))).scalar()
    if top is None or top <= last_id:
        return 0, last_id
    top = int(top)
    if progress is not None:
        progress.total = top - last_id
    start_id, copied = last_id, 0
    columns = list(calls.columns)
    while last_id < top:
        stmt = (select(*columns).where(calls.c.id > last_id, calls.c.id <= top)
                .order_by(calls.c.id).limit(batch_rows))
        con.execute("BEGIN TRANSACTION")
        try:
            n, batch_last = 0, last_id
            with source.connect() as src:
                result = src.execution_options(stream_results=True,
                                               max_row_buffer=fetch_rows).execute(stmt)
                for chunk in result.partitions(fetch_rows):
                    _insert_arrow(con, calls, _arrow_table(calls, chunk))
                    n += len(chunk)
                    batch_last = int(chunk[-1][0])
                    if progress is not None:
                        progress.update(batch_last - start_id)
            if n == 0:
                con.execute("ROLLBACK")
                break
            _save_state(con, source_name, batch_last, copied_total + copied + n)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        last_id = batch_last
        copied += n
        if on_batch is not None:
            on_batch(copied, last_id)
    if progress is not None:
        progress.update(last_id - start_id, force=True)
    return copied, last_id


def sync(source_url: str | Engine, target_url: str, *, full: bool = False,
         batch_rows: int = BATCH_ROWS, fetch_rows: int = FETCH_ROWS,
         progress_stream=None, show_progress: bool = True,
         on_batch: Callable[[int, int], None] | None = None) -> SyncResult:
    """Bring the DuckDB copy at `target_url` up to date with the MOR database `source_url`."""
    from .sources.db import open_engine, safe_url

    if batch_rows < 1 or fetch_rows < 1:
        raise ParamError("--batch", "must be a positive number of rows")
    path = _duckdb_path(target_url)
    source = open_engine(source_url) if isinstance(source_url, str) else source_url
    source_name = safe_url(source.url)
    started = time.monotonic()
    try:
        _check_source(source, source_name)
        con = _open_duckdb(path)      # first: a clear message when the file is locked
        con.close()
        try:
            create_copy_schema(f"duckdb:///{path}")
        except SQLAlchemyError as exc:
            raise SourceUnavailable(f"cannot prepare the DuckDB copy {path}: "
                                    f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None
        con = _open_duckdb(path)
        try:
            state = _state(con)
            if state is not None and state[0] != source_name and not full:
                raise SourceUnavailable(
                    f"the copy {path} was made from {state[0]}, not {source_name}",
                    hint="run with --full to rebuild its calls from this source, "
                         "or give another --to")
            if full:
                con.execute("BEGIN TRANSACTION")
                con.execute("DELETE FROM calls")
                con.execute("DELETE FROM sync_state")
                con.execute("COMMIT")
            result = SyncResult(source=source_name, target=safe_url(f"duckdb:///{path}"))
            result.lookup_rows = refresh_lookups(source, con, source_name, fetch_rows)
            bar = Progress(0, stream=progress_stream) if show_progress else None
            try:
                result.copied, result.last_id = copy_calls(
                    source, con, source_name, batch_rows=batch_rows, fetch_rows=fetch_rows,
                    progress=bar, on_batch=on_batch)
            finally:
                if bar is not None:
                    bar.close()
            result.total_calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
            if result.copied:
                con.execute("CHECKPOINT")
        finally:
            con.close()
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", exc)
        text = str(orig).strip().splitlines()
        raise SourceUnavailable(f"reading {source_name} failed: {text[0] if text else orig!r}",
                                hint="check the URL, that the server runs, and the account's "
                                     "SELECT rights on MOR's tables") from None
    finally:
        if isinstance(source_url, str):
            source.dispose()
    result.seconds = time.monotonic() - started
    return result


def _check_source(source: Engine, source_name: str) -> None:
    """Every table the copy needs exists in the source, or one clear error naming them."""
    have = set(inspect(source).get_table_names())
    missing = [t.name for t in (calls, *LOOKUP_TABLES) if t.name not in have]
    if missing:
        raise SourceUnavailable(f"{source_name} has no table(s) {', '.join(missing)}",
                                hint="is this a MOR database? check the database name in the URL")


def freshness(engine: Engine) -> dict:
    """How fresh a report database is, for the Data source page.

    {"calls": count of call records, "newest_call": newest calldate (or None),
     "last_sync": UTC time of the last committed sync batch (None unless an analytics copy),
     "lookups_synced": UTC time of the last lookup refresh, "last_id", "source"}.
    """
    out = {"calls": 0, "newest_call": None, "last_sync": None, "lookups_synced": None,
           "last_id": None, "source": None}
    with engine.connect() as conn:
        count, newest = conn.execute(select(func.count(), func.max(calls.c.calldate))
                                     .select_from(calls)).one()
        out["calls"], out["newest_call"] = int(count or 0), newest
        if inspect(conn).has_table("sync_state"):
            row = conn.execute(select(sync_state).where(sync_state.c.id == 1)).first()
            if row is not None:
                out.update(last_sync=row.last_sync, lookups_synced=row.lookups_synced,
                           last_id=row.last_id, source=row.source)
    return out

