"""The benchmark databases: demo data of each size on each engine, cached where possible."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from bench.reports import DAYS, NOW

CACHE = Path(__file__).resolve().parent / "cache"
SEED = 7

# The index recommended to MOR operators (docs/indexes.md): led by calldate, covering
# every column the default report reads, so a day-range report reads the index alone.
COVERING_INDEX = "calls_calldate_report"
COVERING_COLUMNS = ("calldate", "user_id", "card_id", "provider_id", "prefix", "disposition",
                    "billsec", "user_billsec", "provider_billsec", "user_price",
                    "provider_price", "pdd")
DEMO_EXTRA_INDEX = "demo_calls_calldate_user_provider"


def parse_size(text_: str) -> int:
    t = text_.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    return int(float(t) * mult)


def size_name(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _build(url: str, calls: int) -> None:
    from core.demo import build_demo
    build_demo(url, calls=calls, days=DAYS, seed=SEED, now=NOW, replace=True,
               progress=lambda m: say(f"  {m}"))


def file_database(kind: str, calls: int) -> str:
    """A cached SQLite or DuckDB demo database of `calls` records; built when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo_{size_name(calls)}_{NOW:%Y%m%d}_s{SEED}.{kind}"
    url = f"{kind}:///{path}"
    if not path.exists() or _count(url) != calls:
        say(f"building {path.name}")
        path.unlink(missing_ok=True)
        tmp = path.with_name(path.name + ".building")
        tmp.unlink(missing_ok=True)
        if kind == "sqlite" and calls > 1_000_000:
            # The demo builder holds every row as Python objects for SQLite's executemany
            # (tens of GB at 10M); stream the same rows from the DuckDB build instead.
            duck = file_database("duckdb", calls).split(":///", 1)[1]
            sqlite_from_duckdb(duck, tmp)
        else:
            _build(f"{kind}:///{tmp}", calls)
        os.replace(tmp, path)
    return url


def sqlite_from_duckdb(duck_path: str, sqlite_path: Path, chunk: int = 100_000) -> None:
    """Copy a DuckDB demo database into a new SQLite file, streaming, with the same
    schema and indexes (core.schema) created after the load."""
    import sqlite3

    import duckdb

    from core.schema import metadata
    engine = create_engine(f"sqlite:///{sqlite_path}", poolclass=NullPool)
    tables = list(metadata.sorted_tables)
    indexes = [ix for t in tables for ix in t.indexes]
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            for ix in indexes:
                ix.drop(conn)
    finally:
        engine.dispose()
    src = duckdb.connect(duck_path, read_only=True)
    dst = sqlite3.connect(sqlite_path)
    dst.execute("PRAGMA journal_mode=OFF")
    dst.execute("PRAGMA synchronous=OFF")
    try:
        for table in tables:
            from sqlalchemy import Numeric
            names = [c.name for c in table.columns]

            def expr(c):
                if c.name == "calldate":
                    return "strftime(calldate, '%Y-%m-%d %H:%M:%S')"
                if isinstance(c.type, Numeric):
                    return f'CAST("{c.name}" AS DOUBLE)'
                return f'"{c.name}"'
            cols = ", ".join(expr(c) for c in table.columns)
            cur = src.execute(f'SELECT {cols} FROM "{table.name}" ORDER BY id')
            sql = f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'
            done = 0
            while True:
                rows = cur.fetchmany(chunk)
                if not rows:
                    break
                dst.executemany(sql, rows)
                done += len(rows)
                if table.name == "calls" and done % 1_000_000 < chunk:
                    say(f"  sqlite: {done:,} calls")
            dst.commit()
        say("  sqlite: creating indexes")
        for ix in indexes:
            cols = ", ".join(c.name for c in ix.columns)
            dst.execute(f"CREATE {'UNIQUE ' if ix.unique else ''}INDEX {ix.name} ON {ix.table.name} ({cols})")
        dst.execute("ANALYZE")
        dst.commit()
    finally:
        src.close()
        dst.close()


def _count(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM calls")).scalar_one()
    except Exception:
        return -1
    finally:
        engine.dispose()


class MariaDB:
    """The tests' private MariaDB server (tests/mariadb_server.py), with a buffer pool big
    enough for the data, as a MOR server would have."""

    def __init__(self, buffer_pool_mb: int = 4096):
        from tests.mariadb_server import MariaDBServer
        self.server = MariaDBServer()
        self.buffer_pool_mb = buffer_pool_mb
        self.databases: dict[int, str] = {}

    def start(self) -> "MariaDB":
        self.server.start()
        conn = self.server._admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {self.buffer_pool_mb * 1024 * 1024}")
        finally:
            conn.close()
        return self

    def version(self) -> str:
        engine = create_engine(self.server.writer_url(), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT VERSION()")).scalar_one()
        finally:
            engine.dispose()

    def database(self, calls: int) -> str:
        if calls not in self.databases:
            name = self.server.create_database()
            say(f"loading {calls:,} calls into MariaDB {name}")
            t0 = time.perf_counter()
            _build(self.server.writer_url(name), calls)
            say(f"MariaDB load of {size_name(calls)} took {time.perf_counter() - t0:.0f} s")
            self.databases[calls] = name
        return self.server.reader_url(self.databases[calls])

    def writer(self, calls: int) -> str:
        return self.server.writer_url(self.databases[calls])

    def stop(self) -> None:
        self.server.stop()


def set_indexes(url: str, mode: str) -> None:
    """mode 'schema': only core.schema's indexes (MOR's own); 'recommended': plus the covering
    index of docs/indexes.md. The demo's extra (calldate, user_id, provider_id) index, a
    prefix of the covering one, is dropped in both."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            names = {ix["name"] for ix in inspect(conn).get_indexes("calls")}
            if DEMO_EXTRA_INDEX in names:
                conn.exec_driver_sql(f"DROP INDEX {DEMO_EXTRA_INDEX}"
                                     + (" ON calls" if engine.dialect.name in ("mysql", "mariadb") else ""))
            if mode == "recommended" and COVERING_INDEX not in names:
                t0 = time.perf_counter()
                conn.exec_driver_sql(f"CREATE INDEX {COVERING_INDEX} ON calls "
                                     f"({', '.join(COVERING_COLUMNS)})")
                say(f"  created {COVERING_INDEX} in {time.perf_counter() - t0:.1f} s")
            if mode == "schema" and COVERING_INDEX in names:
                conn.exec_driver_sql(f"DROP INDEX {COVERING_INDEX}"
                                     + (" ON calls" if engine.dialect.name in ("mysql", "mariadb") else ""))
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("ANALYZE")
            elif engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("ANALYZE TABLE calls")
    finally:
        engine.dispose()
