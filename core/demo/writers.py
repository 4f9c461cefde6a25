"""Writing the demo into a database, and keeping the app's demo database current.

`build_demo` writes the catalogue and the simulated call records into an SQLite, DuckDB or
MySQL/MariaDB database: an SQLite file is built beside the target and renamed into place,
the others are written in one transaction. It never touches a database that looks like a
real MOR (a `calls` or `users` table with columns the demo does not create). Every build
leaves its mark, the `demo_build` table (calls, seed, days): `ensure_demo` rebuilds only a
database carrying it, with the same numbers, when it no longer reaches today.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateTable

from .. import arrow, clickhouse
from ..errors import SourceUnavailable
from ..params import ParamError
from ..progress import Progress
from ..schema import CALL_COLUMNS, metadata, users
from ..schema import calls as calls_t
from .catalogue import catalogue
from .simulator import datetime_strings, epoch_datetime, generate_calls, utc_naive, validate

DEFAULT_DEMO_PATH = Path("data/demo.sqlite")
DEFAULT_CALLS, DEFAULT_DAYS, DEFAULT_SEED = 200_000, 30, 7
BACKENDS = ("sqlite", "duckdb", "mysql", "mariadb", "chdb", "clickhousedb")
URL_FORMS = ("sqlite:///path, duckdb:///path, chdb:///path, clickhousedb://user@host:8123/database "
             "or mysql+pymysql://user@host/database")

# The index only our own demo database gets (not part of core.schema, so create_all
# elsewhere never creates it): led by calldate, it covers the period filter and the
# commonest grouping keys.
EXTRA_INDEXES = (
    ("demo_calls_calldate_user_provider", ("calldate", "user_id", "provider_id")),
)

OUR_TABLES = tuple(metadata.sorted_tables)
_LOOKUP_TABLES = tuple(t for t in OUR_TABLES if t is not calls_t)

# Our mark on a database we built, with what it was built from.
demo_build = sa.Table(
    "demo_build", sa.MetaData(),
    sa.Column("calls", sa.BigInteger),
    sa.Column("seed", sa.BigInteger),
    sa.Column("days", sa.Integer),     # 0 in marks written before seed and days were kept
)


class DemoExists(ParamError):
    """The target database already holds call records (or is not ours to replace)."""

    def __init__(self, message: str):
        super().__init__("--db", message)


@dataclass(frozen=True)
class DemoSummary:
    url: str
    calls: int
    first_calldate: datetime | None
    last_calldate: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    seed: int = DEFAULT_SEED
    days: int = DEFAULT_DAYS
    now: datetime | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        per = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return (f"demo database {self.url}: {self.calls:,} call records from "
                f"{self.first_calldate} to {self.last_calldate} ({per}); "
                f"built in {self.seconds:.1f} s")


def _target_url(url: str) -> sa.engine.URL:
    """The URL, or a ParamError naming the forms the demo accepts."""
    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ParamError("--db", f"'{url}' is not a database URL; use {URL_FORMS}") from None
    if u.get_backend_name() not in BACKENDS:
        raise ParamError("--db", f"the demo is not built in {u.get_backend_name()} databases "
                                 f"('{u.render_as_string()}'); use {URL_FORMS}")
    return u


def build_demo(url: str, *, calls: int = DEFAULT_CALLS, days: int = DEFAULT_DAYS,
               seed: int = DEFAULT_SEED, now: datetime | None = None,
               progress: Callable[[str], None] | None = None,
               replace: bool = False) -> DemoSummary:
    """Create the MOR tables in the database at `url` and fill them with demo data.

    Bad numbers or URL: ParamError (exit code 2). DemoExists (a ParamError) when the
    database already has call records and `replace` is false, and always when its `calls`
    or `users` table has columns the demo does not create (a real MOR database is never
    dropped). A database that fails: SourceUnavailable (exit code 3).
    """
    validate(calls, days, seed)
    u = _target_url(url)
    name = u.render_as_string(hide_password=True)
    try:
        with arrow.interrupts():    # Ctrl-C inside DuckDB: a KeyboardInterrupt, not an error
            return _build(u, int(calls), int(days), int(seed), utc_naive(now),
                          progress or (lambda _msg: None), replace)
    except (sa.exc.ArgumentError, ImportError) as exc:     # e.g. mysql+nosuchdriver://
        raise ParamError("--db", f"no database driver for '{name}' ({_first_line(exc)}); "
                                 f"use {URL_FORMS}") from None
    except sa.exc.SQLAlchemyError as exc:
        raise SourceUnavailable(f"the demo database {name} failed: {_first_line(exc)}",
                                hint="check the URL, that the server runs and that the account "
                                     "may create tables") from None
    except (duckdb.Error, sqlite3.Error, OSError) as exc:
        raise SourceUnavailable(f"the demo database {name} could not be written: {_first_line(exc)}",
                                hint="check the path, its folder's permissions and free disk "
                                     "space") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _build(u, calls: int, days: int, seed: int, now: datetime, say, replace: bool) -> DemoSummary:
    t0 = time.perf_counter()
    backend = u.get_backend_name()
    file_db = backend in ("sqlite", "duckdb", "chdb") and u.database not in (None, "", ":memory:")
    if file_db:
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    # refuse before spending time generating (and again while writing, for a race)
    foreign = _precheck(u, backend, file_db, replace)

    say(f"generating {calls:,} call records over {days} days up to {now:%Y-%m-%d %H:%M:%S}")
    lookups = catalogue().lookup_rows()
    cols = generate_calls(calls, days, seed, now)
    say(f"generated in {time.perf_counter() - t0:.1f} s")
    mark = {"calls": calls, "seed": seed, "days": days}

    if backend == "sqlite" and file_db:
        _build_sqlite_file(u, lookups, cols, mark, foreign, say)
    else:
        engine = _engine(u)
        try:
            with engine.begin() as conn:     # DuckDB: one transaction, DDL included
                _check_existing(conn, replace)
                _write(conn, backend, lookups, cols, mark, say)
        finally:
            engine.dispose()

    counts = {t.name: (calls if t is calls_t else len(lookups[t.name])) for t in OUR_TABLES}
    secs = time.perf_counter() - t0
    say(f"demo database ready in {secs:.1f} s")
    return DemoSummary(url=u.render_as_string(hide_password=True), calls=calls,
                       first_calldate=epoch_datetime(cols["calldate"].min()),
                       last_calldate=epoch_datetime(cols["calldate"].max()), counts=counts,
                       seed=seed, days=days, now=now, seconds=secs)


def _precheck(u, backend: str, file_db: bool, replace: bool) -> bool:
    """Raise DemoExists if the target must not be (over)written; say whether an SQLite
    target holds tables that are not ours (to be kept)."""
    if backend == "sqlite":
        target = Path(u.database).expanduser() if file_db else None
        if target is None or not target.exists() or target.stat().st_size == 0:
            return False
    engine = _engine(u)
    try:
        with engine.connect() as conn:
            _check_existing(conn, replace)
            names = set(sa.inspect(conn).get_table_names())
            return bool(names - {t.name for t in OUR_TABLES} - {demo_build.name})
    except sa.exc.DatabaseError as exc:
        if backend != "sqlite":
            raise
        raise DemoExists(f"'{u.database}' exists and is not an SQLite database "
                         f"({exc.orig}); refusing to overwrite it") from None
    finally:
        engine.dispose()


def _engine(u) -> sa.engine.Engine:
    """An engine writing the demo; on ClickHouse with its session settings (core/clickhouse.py),
    on MySQL/MariaDB never sending the server a local file (core.sources.db)."""
    from ..sources.db import refuse_local_files
    return refuse_local_files(clickhouse.create(u, create_database=True, poolclass=NullPool))


def _check_existing(conn, replace: bool) -> None:
    insp = sa.inspect(conn)
    for name, ours in (("calls", set(CALL_COLUMNS)),
                       ("users", {c.name for c in users.columns})):
        if insp.has_table(name):
            # not Inspector.get_columns: duckdb-engine's fails on SQLAlchemy 2.1
            present = conn.execute(sa.select(sa.literal_column("*"))
                                   .select_from(sa.table(name)).limit(0)).keys()
            extra = set(present) - ours
            if extra:
                raise DemoExists(
                    f"the database already has a '{name}' table with columns the demo "
                    f"does not create ({', '.join(sorted(extra)[:5])}...): it looks like a "
                    "real MOR database, which the demo never drops; use another database")
    if insp.has_table("calls"):
        has_rows = conn.execute(sa.select(calls_t.c.id).limit(1)).first() is not None
        if has_rows and not replace:
            raise DemoExists("the database already holds call records; refusing to mix "
                             "demo data into them (--replace, or replace=True, drops and "
                             "rebuilds the demo tables)")


def _write(conn, backend: str, lookups, cols, mark: dict, say) -> None:
    """Drop our old tables, create and fill them, on an open transaction (the checks of
    _check_existing have passed)."""
    existing = set(sa.inspect(conn).get_table_names())
    doomed = [t for t in reversed(OUR_TABLES) if t.name in existing]
    if doomed:
        say("dropping the old demo tables")
        for t in doomed:
            t.drop(conn)
    metadata.create_all(conn, tables=list(_LOOKUP_TABLES))
    conn.execute(CreateTable(calls_t))            # indexes after the bulk load: faster
    demo_build.drop(conn, checkfirst=True)
    demo_build.create(conn)
    conn.execute(demo_build.insert(), mark)
    say("writing lookup tables")
    for t in _LOOKUP_TABLES:
        rows = lookups[t.name]
        if rows:
            conn.execute(t.insert(), rows)
    n = len(cols["id"])
    say(f"writing {n:,} call records ({backend})")
    t0 = time.perf_counter()
    raw = conn.connection.driver_connection
    if backend == "duckdb":
        raw.execute("SET enable_progress_bar = false")
        epoch = {"calldate": cols["calldate"].astype("datetime64[s]")}
        arrow.insert(raw, calls_t, arrow.from_columns(calls_t, {**cols, **epoch}))
    elif backend in clickhouse.DIALECTS:       # one Arrow stream, no Python loop per row
        epoch = {"calldate": cols["calldate"].astype("datetime64[s]")}
        clickhouse.insert_arrow(raw, calls_t, arrow.from_columns(calls_t, {**cols, **epoch}))
    else:
        _insert_dbapi(raw, backend, cols, say)
    say(f"wrote call records in {time.perf_counter() - t0:.1f} s; creating indexes")
    t0 = time.perf_counter()
    for idx in sorted(calls_t.indexes, key=lambda i: i.name):
        idx.create(conn)
    for name, columns in EXTRA_INDEXES if backend not in clickhouse.DIALECTS else ():
        conn.exec_driver_sql(f"CREATE INDEX {name} ON calls ({', '.join(columns)})")
    if backend == "sqlite":       # planner statistics from a sample: a full scan is slow
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    if backend in ("sqlite", "duckdb"):
        conn.exec_driver_sql("ANALYZE")
    say(f"indexes in {time.perf_counter() - t0:.1f} s")


def _insert_dbapi(raw, backend: str, cols, say) -> None:
    """executemany with tuples of plain Python values, a slice of rows at a time (the
    tuples of a million rows at once would take ~2 GB)."""
    names = list(CALL_COLUMNS)
    mark = "?" if backend == "sqlite" else "%s"
    sql = (f"INSERT INTO calls ({', '.join(names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    arrays = [datetime_strings(cols[c]) if c == "calldate" else cols[c] for c in names]
    n = len(cols["id"])
    chunk = 100_000 if backend == "sqlite" else 5_000
    progress = Progress(n, "call records", say=say)
    cur = raw.cursor()
    try:
        for lo in range(0, n, chunk):
            rows = zip(*[a[lo:lo + chunk].tolist() for a in arrays], strict=True)
            cur.executemany(sql, rows if backend == "sqlite" else list(rows))
            progress.update(min(lo + chunk, n))
    finally:
        cur.close()
    progress.update(n, force=True)


def _build_sqlite_file(u, lookups, cols, mark: dict, foreign: bool, say) -> None:
    """Build into a temporary file beside the target and rename it into place, so an
    interrupted build never leaves a half-written database behind. With `foreign`, the
    target's other tables are kept: the build starts from a copy of it."""
    target = Path(u.database).expanduser()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".building",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:      # mkstemp makes it 0600; give it the mode a plain new file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, (target.stat().st_mode & 0o777) if target.exists()
                 else 0o666 & ~umask)
    except OSError:
        pass
    try:
        if foreign:      # keep the tables that are not ours: start from a copy
            say(f"copying the other tables of {target}")
            src = sqlite3.connect(target.resolve().as_uri() + "?mode=ro", uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        engine = sa.create_engine(u.set(database=str(tmp)), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
                conn.commit()
                with conn.begin():
                    _write(conn, "sqlite", lookups, cols, mark, say)
        finally:
            engine.dispose()
        for suffix in ("-journal", "-wal", "-shm"):   # an old database's, never ours
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_only(path: Path) -> sa.engine.Engine:
    uri = path.as_uri() + "?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True),
                            poolclass=NullPool)


def _demo_state(path: Path) -> tuple[str | None, bool, dict]:
    """(newest calldate as text, whether we built it, its demo_build mark) of an SQLite
    file; (None, False, {}) when it holds no calls table yet."""
    engine = _read_only(path)
    try:
        with engine.connect() as conn:
            # MAX(calldate) reads the calldate index; kept as the text SQLite stores
            newest = conn.execute(sa.select(sa.type_coerce(sa.func.max(calls_t.c.calldate),
                                                           sa.String))).scalar()
            if not sa.inspect(conn).has_table(demo_build.name):
                return newest, False, {}
            row = conn.execute(sa.select(demo_build)).first()
            return newest, True, dict(row._mapping) if row is not None else {}
    except sa.exc.SQLAlchemyError:
        return None, False, {}  # not a demo database yet: build_demo decides (and refuses if foreign)
    finally:
        engine.dispose()


def _lacks_passwords(path: Path) -> bool:
    """Whether a demo of ours predates sign-in: a users row with no password to sign in with
    (or no password column at all)."""
    engine = _read_only(path)
    try:
        with engine.connect() as conn:
            if "password" not in {c["name"] for c in sa.inspect(conn).get_columns(users.name)}:
                return True
            return conn.execute(sa.select(users.c.id).where(
                sa.func.coalesce(users.c.password, "") == "").limit(1)).first() is not None
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def ensure_demo(path: str | os.PathLike = DEFAULT_DEMO_PATH,
                progress: Callable[[str], None] | None = None) -> str:
    """The SQLite URL of the demo database at `path`, built when missing or empty.

    The demo promises that today's report is never empty, so a demo whose newest call is
    from before today (UTC) is rebuilt to end now, with the calls, seed and days it was
    built with; so is a demo built before sign-in, whose users have no password. It is our
    own database: build_demo refuses anything that looks like a real MOR database, and a
    database without our mark is used as it is, never rebuilt.
    """
    p = Path(path).expanduser().resolve()
    url = f"sqlite:///{p}"
    newest, ours, mark = (None, False, {})
    if p.exists() and p.stat().st_size > 0:
        newest, ours, mark = _demo_state(p)
    if newest is None:
        build_demo(url, progress=progress)
        return url
    if not ours:
        return url
    if _lacks_passwords(p):
        if progress:
            progress("The demo database predates sign-in (its users have no password); rebuilding it.")
    elif str(newest)[:10] >= datetime.now(timezone.utc).strftime("%Y-%m-%d"):
        return url
    elif progress:
        progress(f"The demo database ends {str(newest)[:10]}; rebuilding it to end now.")
    kept = {}
    if (mark.get("days") or 0) >= 1:     # older marks kept no seed and days: the defaults
        kept = {"seed": int(mark["seed"]), "days": int(mark["days"])}
    build_demo(url, calls=int(mark.get("calls") or DEFAULT_CALLS), progress=progress,
               replace=True, **kept)
    return url
