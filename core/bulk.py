"""Reading MOR's calls from MySQL/MariaDB in bulk, straight into Arrow (connectorx).

Through pymysql and SQLAlchemy every value of every call becomes a Python object, and a
first copy ran at about 20k rows/s, 44 s of 50 s per million spent in the client, while
MariaDB's own client dumps the same table at ~130k rows/s. connectorx reads the server's
rows in Rust into Arrow record batches, so no Python object per value is ever made; the
copy writes each batch into DuckDB or ClickHouse as it is.

Used for the calls of a MySQL/MariaDB source whose URL asks for no TLS or other driver
option (connectorx would not apply them: such a source keeps the pymysql path), and when
connectorx is installed. The password goes into connectorx's URL in this process only;
that URL is never shown, logged or put on a command line, and its errors are reported
with the source's safe name.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator
from urllib.parse import quote

import pyarrow as pa
from sqlalchemy import Table
from sqlalchemy.engine import Engine

from .arrow import arrow_type

# URL options the bulk path keeps (harmless ones); any other sends the copy through pymysql.
PLAIN_OPTIONS = {"charset"}


def available(source: Engine) -> bool:
    """Whether the calls of `source` can be read in bulk."""
    url = source.url
    if url.get_backend_name() not in ("mysql", "mariadb") or not url.host or not url.database:
        return False
    if set(url.query) - PLAIN_OPTIONS:
        return False
    try:
        import connectorx  # noqa: F401
    except ImportError:
        return False
    return True


def _connectorx_url(source: Engine) -> str:
    url = source.url
    auth = quote(url.username or "", safe="")
    if url.password:
        auth += ":" + quote(str(url.password), safe="")
    return f"mysql://{auth}@{url.host}:{url.port or 3306}/{quote(url.database, safe='')}"


def schema(table: Table) -> pa.Schema:
    """The Arrow schema a batch of `table` is cast to: the copy's own (core.arrow)."""
    return pa.schema([(c.name, arrow_type(c)) for c in table.columns])


class BulkReadError(RuntimeError):
    """connectorx failed; the message never holds the URL it was given."""


def _read(source: Engine, sql: str, batch_rows: int, target: pa.Schema | None) -> Iterator[pa.Table]:
    import connectorx as cx
    try:
        reader = cx.read_sql(_connectorx_url(source), sql, return_type="arrow_stream",
                             batch_size=batch_rows)
        for batch in reader:
            if batch.num_rows:
                data = pa.Table.from_batches([batch])
                yield data.cast(target) if target is not None else data
    except (RuntimeError, OSError, ValueError, pa.ArrowException) as exc:
        text = str(exc).replace(_connectorx_url(source), "<source>")
        if source.url.password:
            text = text.replace(str(source.url.password), "***")
        raise BulkReadError(text.strip().splitlines()[0] if text.strip() else type(exc).__name__) from None


_DONE = object()


def arrow_batches(source: Engine, stmt, batch_rows: int, table: Table | None = None,
                  ahead: int = 0) -> Iterator[pa.Table]:
    """The rows of `stmt` (a SELECT of `table`'s columns on `source`) as Arrow tables of at
    most `batch_rows` rows each, in the copy's types; memory held is about one batch.

    With `ahead` > 0 a thread reads up to that many batches ahead while the caller writes
    the last one (connectorx and the copy's insert both run outside the GIL), holding
    `ahead` + 2 batches. Off by default: on this 2-CPU shared machine, 1M calls alternately
    with and without it showed no gain (chDB 10.9/26.2 s without, 13.7/15.7 s with; DuckDB
    11.9/14.1 s without, 21.7/15.3 s with; load 2-6); a machine with idle cores may differ."""
    sql = str(stmt.compile(dialect=source.dialect, compile_kwargs={"literal_binds": True}))
    target = schema(table) if table is not None else None
    if ahead < 1:
        yield from _read(source, sql, batch_rows, target)
        return
    batches: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def produce():
        try:
            for data in _read(source, sql, batch_rows, target):
                while not stop.is_set():
                    try:
                        batches.put(data, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            batches.put(_DONE)
        except BaseException as exc:    # handed to the caller, raised there
            batches.put(exc)

    reader = threading.Thread(target=produce, name="bulk-read", daemon=True)
    reader.start()
    try:
        while True:
            item = batches.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():        # let a blocked put() see the stop
            try:
                batches.get_nowait()
            except queue.Empty:
                pass
            reader.join(timeout=0.1)
