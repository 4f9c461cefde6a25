"""core.sync: the DuckDB analytics copy — equal reports, incremental, interruptible."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.pool import NullPool

from core import sync as sync_mod
from core.errors import ReportError, SourceUnavailable
from core.params import ParamError, Params
from core.schema import users
from core.settings import Settings
from core.sources.db import DatabaseSource
from core.sync import sync
from tests.engines import insert_rows, populate
from tests.fixture_small import FROM, TABLES, TILL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _extra_calls(start_id: int, n: int) -> list[dict]:
    """More calls on the fixture's day: failovers, filters and NULLs included."""
    out = []
    base = datetime(2024, 3, 15, 0, 0, 0)
    for i in range(n):
        cid = start_id + i
        out.append(dict(
            id=cid, calldate=base + timedelta(seconds=(cid * 977) % 86400),
            user_id=(2, 3, 4, 7, 8, 99)[cid % 6], src_device_id=(1, 2, 3, 4, 5)[cid % 5],
            provider_id=(1, 2, 3, 4, 5, 6)[cid % 6], prefix=("3706", "3705", "447", "4470", "999")[cid % 5],
            disposition="ANSWERED" if cid % 3 else "NO ANSWER", hangupcause=16 if cid % 3 else 19,
            billsec=cid % 300, real_billsec=(cid % 300) - 0.25, user_billsec=cid % 300,
            provider_billsec=cid % 290, user_price=(cid % 50) / 10, provider_price=(cid % 40) / 10,
            reseller_price=(cid % 45) / 10, user_rate=1.5, provider_rate=0.75,
            uniqueid=None if cid % 11 == 0 else f"x-{cid // 2}", card_id=0,
            pdd=(cid % 7) / 2, src=f"3706{cid:07d}", dst=f"3706_{cid % 13}", clid=f"c{cid}%"))
    return out


def _source_tables(n_extra: int = 150) -> dict:
    tables = copy.deepcopy(TABLES)
    tables["calls"] = list(tables["calls"]) + _extra_calls(1000, n_extra)
    return tables


VARIANTS = [
    dict(),
    dict(group_by_day=1, group_by_hour=1),
    dict(group_by_dst=1, group_by_provider=1, profit_show=1, a_currency="EUR"),
    dict(from_user_perspective=1),
    dict(from_user_perspective=1, group_by_device=1, a_dst="3706%"),
    dict(a_dst="3706_%", clid="%"),
    dict(group_by_user_rate=1, group_by_provider_rate=1, use_real_billsec=1, answered_calls=2),
    dict(dst_group="lithuania%", s_terminator_id=1),
]


def _report_or_refusal(source, params):
    """The report, or its refusal's message (e.g. a filter naming a terminator the reseller
    may not use)."""
    try:
        return source.run(params, Settings())
    except ReportError as exc:
        return exc.full()


def assert_same_reports(engine_a, engine_b, users_=("admin", "respro")):
    a, b = DatabaseSource(engine_a), DatabaseSource(engine_b)
    for variant in VARIANTS:
        for u in users_:
            params = Params(u=u, from_=FROM, till=TILL, **variant)
            ra, rb = _report_or_refusal(a, params), _report_or_refusal(b, params)
            if isinstance(ra, str) or isinstance(rb, str):
                assert ra == rb, (u, variant)  # the same refusal on the copy
                continue
            assert u != "admin" or not ra.empty
            pd.testing.assert_frame_equal(ra.rows, rb.rows, check_exact=False, rtol=1e-9,
                                          obj=f"{u} {variant}")
            assert ra.totals.keys() == rb.totals.keys()
            for k, v in ra.totals.items():
                assert rb.totals[k] == pytest.approx(v, rel=1e-9), (u, variant, k)


@pytest.fixture
def source(tmp_path):
    url = f"sqlite:///{tmp_path / 'mor.sqlite'}"
    engine = create_engine(url, poolclass=NullPool)
    populate(engine, _source_tables())
    yield engine, url
    engine.dispose()


def _target(tmp_path):
    return f"duckdb:///{tmp_path / 'copy.duckdb'}"


def _copy_engine(url):
    return create_engine(url, poolclass=NullPool)


def freshness(engine):
    return DatabaseSource(engine).freshness()


def _count(target_url):
    con = duckdb.connect(target_url.split("///", 1)[1], read_only=True)
    try:
        return (con.execute("SELECT count(*), count(DISTINCT id), max(id) FROM calls").fetchone(),
                con.execute("SELECT last_id, calls_copied FROM sync_state").fetchone())
    finally:
        con.close()


def test_copy_reports_equal_source(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    result = sync(url, target, batch_rows=50, fetch_rows=16, show_progress=False)
    n_calls = len(TABLES["calls"]) + 150
    assert result.copied == result.total_calls == n_calls
    assert result.lookup_rows["users"] == len(TABLES["users"])
    assert_same_reports(engine, _copy_engine(target))


def test_incremental_sync_and_lookup_refresh(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, show_progress=False)
    # New calls arrive, a user is renamed: the next run copies only the new calls and the
    # whole users table again.
    with engine.begin() as conn:
        insert_rows(conn, {"calls": _extra_calls(5000, 40)})
        conn.execute(update(users).where(users.c.id == 2).values(first_name="Johnny"))
    again = sync(url, target, batch_rows=15, show_progress=False)
    assert again.copied == 40
    (n, distinct, top), (last_id, copied) = _count(target)
    assert n == distinct == len(TABLES["calls"]) + 190
    assert top == last_id == 5039 and copied == n
    assert_same_reports(engine, _copy_engine(target))
    rows = DatabaseSource(_copy_engine(target)).run(
        Params(u="admin", from_=FROM, till=TILL, group_by_user=1), Settings()).rows
    assert "Johnny Smith" in set(rows["originator"])
    # Nothing new: nothing copied, nothing duplicated.
    assert sync(url, target, show_progress=False).copied == 0
    assert _count(target)[0][0] == n


def test_interrupted_between_batches_resumes(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)

    def stop_after_two(copied, last_id):
        if copied >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, target, batch_rows=20, fetch_rows=7, show_progress=False,
             on_batch=stop_after_two)
    (n, distinct, top), (last_id, copied) = _count(target)
    assert n == distinct == copied == 40 and top == last_id
    result = sync(url, target, batch_rows=20, show_progress=False)
    assert result.copied == len(TABLES["calls"]) + 150 - 40
    assert_same_reports(engine, _copy_engine(target))


def test_interrupted_inside_a_batch_leaves_no_half_batch(source, tmp_path, monkeypatch):
    engine, url = source
    target = _target(tmp_path)
    real_insert = sync_mod._insert_arrow
    seen = {"calls_chunks": 0}

    def failing_insert(con, table, data):
        if table.name == "calls":
            seen["calls_chunks"] += 1
            if seen["calls_chunks"] == 5:  # the 2nd chunk of the 3rd batch (2 chunks/batch)
                raise KeyboardInterrupt
        real_insert(con, table, data)

    monkeypatch.setattr(sync_mod, "_insert_arrow", failing_insert)
    with pytest.raises(KeyboardInterrupt):
        sync(url, target, batch_rows=20, fetch_rows=10, show_progress=False)
    (n, distinct, top), (last_id, copied) = _count(target)
    assert n == distinct == copied == 40 and top == last_id  # batches 1 and 2 only
    monkeypatch.setattr(sync_mod, "_insert_arrow", real_insert)
    sync(url, target, show_progress=False)
    assert _count(target)[0][0] == len(TABLES["calls"]) + 150
    assert_same_reports(engine, _copy_engine(target))


def test_another_source_is_refused_unless_full(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, show_progress=False)
    other_url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    other = create_engine(other_url, poolclass=NullPool)
    populate(other, {**copy.deepcopy(TABLES), "calls": _extra_calls(1, 30)})
    with pytest.raises(SourceUnavailable, match="was made from"):
        sync(other_url, target, show_progress=False)
    result = sync(other_url, target, full=True, show_progress=False)
    assert result.copied == result.total_calls == 30
    assert freshness(_copy_engine(target))["source"] == other_url


def test_freshness(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    before = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(seconds=1)
    sync(url, target, show_progress=False)
    fresh = freshness(_copy_engine(target))
    expected_newest = max(pd.Timestamp(c["calldate"]) for c in _source_tables()["calls"])
    assert fresh["calls"] == len(TABLES["calls"]) + 150
    assert fresh["newest_call"] == expected_newest.to_pydatetime()
    assert fresh["last_sync"] >= before and fresh["lookups_synced"] >= before
    assert fresh["last_id"] == 1149 and fresh["source"] == url
    # On a database that is not a copy (MOR itself, the demo): no sync information.
    plain = freshness(engine)
    assert plain["calls"] == fresh["calls"] and plain["last_sync"] is None


def _index_names(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    finally:
        con.close()


MOR_CALL_INDEXES = {"calls_calldate", "calls_user_id", "calls_provider_id", "calls_uniqueid"}


def test_a_new_copy_has_no_secondary_index_on_calls_and_an_old_one_keeps_its_own(source, tmp_path):
    """DuckDB reads the copy through its zone maps; the ART indexes only slowed the sync. A
    copy made when the sync still created them keeps them through later runs."""
    _, url = source
    sync(url, _target(tmp_path), show_progress=False)
    assert _index_names(tmp_path / "copy.duckdb") & MOR_CALL_INDEXES == set()

    old = tmp_path / "old"
    old.mkdir()
    sync(url, f"duckdb:///{old / 'copy.duckdb'}", show_progress=False)
    con = duckdb.connect(str(old / "copy.duckdb"))
    con.execute("CREATE INDEX calls_user_id ON calls(user_id)")
    con.close()
    result = sync(url, f"duckdb:///{old / 'copy.duckdb'}", show_progress=False)
    assert result.copied == 0
    assert _index_names(old / "copy.duckdb") & MOR_CALL_INDEXES == {"calls_user_id"}


def test_target_must_be_a_duckdb_file(source, tmp_path):
    _, url = source
    with pytest.raises(ParamError, match="--to"):
        sync(url, f"sqlite:///{tmp_path / 'x.sqlite'}", show_progress=False)
    with pytest.raises(ParamError, match="does not exist"):
        sync(url, f"duckdb:///{tmp_path / 'nope' / 'x.duckdb'}", show_progress=False)


def test_source_without_mor_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    create_engine(url).connect().close()
    with pytest.raises(SourceUnavailable, match="no table"):
        sync(url, _target(tmp_path), show_progress=False)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


def test_cli(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    out = _cli("sync", "--from", url, "--to", target)
    assert out.returncode == 0, out.stderr
    assert "new call records" in out.stdout and "calls [" in out.stderr
    assert_same_reports(engine, _copy_engine(target), users_=("admin",))
    # again: nothing new
    out = _cli("sync", "--from", url, "--to", target, "--quiet")
    assert out.returncode == 0 and " 0 new call records" in out.stdout and out.stderr == ""


def test_cli_errors(source, tmp_path):
    _, url = source
    out = _cli("sync", "--from", "mysql+pymysql://u:secret@127.0.0.1:1/mor", "--to", _target(tmp_path))
    assert out.returncode == 2 and "MOR_DB_PASSWORD" in out.stderr and "secret" not in out.stderr
    out = _cli("sync", "--from", url, "--to", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert out.returncode == 2 and "--to" in out.stderr
    out = _cli("sync", "--from", f"sqlite:///{tmp_path / 'missing.sqlite'}", "--to", _target(tmp_path))
    assert out.returncode == 3 and "does not exist" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_sync_from_mariadb_with_password_from_env(db_url_factory, engine_kind, tmp_path,
                                                  monkeypatch):
    engine, url = db_url_factory(_source_tables())
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    monkeypatch.setenv("MOR_DB_PASSWORD", parsed.password)
    bare = parsed.set(password=None).render_as_string(hide_password=False)
    target = _target(tmp_path)
    result = sync(bare, target, batch_rows=64, fetch_rows=10, show_progress=False)
    assert result.copied == len(TABLES["calls"]) + 150
    assert parsed.password not in freshness(_copy_engine(target))["source"]
    assert_same_reports(engine, _copy_engine(target))


# --- a copy that cannot silently report wrong numbers -------------------------------------

def _source_ids() -> list[int]:
    return sorted(c["id"] for c in _source_tables()["calls"])


def _report(url_or_engine):
    return DatabaseSource(url_or_engine).run(Params(u="admin", from_=FROM, till=TILL), Settings())


def _copy_files(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if "copy" in p.name)


def test_an_interrupted_first_sync_is_flagged_and_its_reports_warn(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)

    def stop_after_two(copied, last_id):
        if copied >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, target, batch_rows=20, show_progress=False, on_batch=stop_after_two)
    ids = _source_ids()
    fresh = freshness(_copy_engine(target))
    assert (fresh["calls"], fresh["last_id"], fresh["complete"]) == (40, ids[39], False)
    notes = _report(_copy_engine(target)).notes
    assert len(notes) == 1
    assert "incomplete" in notes[0] and f"call id {ids[39]:,} of {ids[-1]:,}" in notes[0]
    assert "(40 call records copied)" in notes[0]
    assert f"python -m core sync --from {url} --to {target}" in notes[0]
    assert _report(engine).notes == []              # the source itself: no such note

    sync(url, target, show_progress=False)          # resumed and finished
    assert freshness(_copy_engine(target))["complete"] is True
    assert _report(_copy_engine(target)).notes == []


def test_a_first_sync_stopped_before_any_commit_says_the_copy_is_empty(source, tmp_path, monkeypatch):
    _, url = source
    target = _target(tmp_path)

    def stop(con, table, rows):
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_mod, "_insert_arrow", stop)     # during the lookups
    with pytest.raises(KeyboardInterrupt):
        sync(url, target, show_progress=False)
    with _copy_engine(target).connect() as conn:
        warning = sync_mod.copy_warning(conn)
    assert warning is not None and "holds no calls yet" in warning and "python -m core sync" in warning


def test_a_database_that_is_not_a_copy_gets_no_warning(source, tmp_path):
    engine, url = source
    with engine.connect() as conn:
        assert sync_mod.copy_warning(conn) is None
    plain = f"duckdb:///{tmp_path / 'plain.duckdb'}"
    populate(_copy_engine(plain), copy.deepcopy(TABLES))
    with _copy_engine(plain).connect() as conn:
        assert sync_mod.copy_warning(conn) is None


def test_duckdb_reporting_ctrl_c_as_an_error_is_still_an_interrupt(source, tmp_path, monkeypatch):
    engine, url = source
    target = _target(tmp_path)
    real_insert = sync_mod._insert_arrow
    seen = {"calls_chunks": 0}

    def interrupted_in_duckdb(con, table, rows):
        if table.name == "calls":
            seen["calls_chunks"] += 1
            if seen["calls_chunks"] == 3:
                raise RuntimeError("Query interrupted")   # what DuckDB raises on SIGINT
        real_insert(con, table, rows)

    monkeypatch.setattr(sync_mod, "_insert_arrow", interrupted_in_duckdb)
    with pytest.raises(KeyboardInterrupt):
        sync(url, target, batch_rows=20, fetch_rows=20, show_progress=False)
    (n, distinct, top), (last_id, copied) = _count(target)
    assert n == distinct == copied == 40 and top == last_id == _source_ids()[39]


def _failing_after(engine, calls_reads: int):
    """Make the source fail (as a disk or network error would) on its n-th read of calls."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    seen = {"reads": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def fail(conn, cursor, statement, parameters, context, executemany):
        if "FROM calls" in statement and "max(" not in statement.lower():
            seen["reads"] += 1
            if seen["reads"] >= calls_reads:
                raise OperationalError(statement, parameters, Exception("disk I/O error"))

    return fail


def _snapshot(target_url) -> tuple:
    con = duckdb.connect(target_url.split("///", 1)[1], read_only=True)
    try:
        return (con.execute("SELECT count(*), sum(id), max(id) FROM calls").fetchone(),
                con.execute("SELECT first_name FROM users WHERE id = 2").fetchone(),
                con.execute("SELECT source, last_id, calls_copied, last_sync, lookups_synced, "
                            "target_id, complete FROM sync_state").fetchone())
    finally:
        con.close()


def test_full_rebuild_with_a_failing_source_keeps_the_old_copy(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, show_progress=False)
    before = _snapshot(target)
    assert before[0] == (len(_source_ids()), sum(_source_ids()), max(_source_ids()))
    with engine.begin() as conn:        # what the rebuild would bring, had it finished
        insert_rows(conn, {"calls": _extra_calls(5000, 40)})
        conn.execute(update(users).where(users.c.id == 2).values(first_name="Johnny"))
    from sqlalchemy import event
    listener = _failing_after(engine, 3)
    with pytest.raises(SourceUnavailable, match="disk I/O error"):
        sync(engine, target, full=True, batch_rows=30, show_progress=False)
    event.remove(engine, "before_cursor_execute", listener)
    assert _snapshot(target) == before                  # calls, lookups and bookkeeping
    assert before[1] == ("John",) and before[2][-1] is True
    assert _copy_files(tmp_path) == ["copy.duckdb"]     # nothing left beside it
    result = sync(engine, target, full=True, show_progress=False)
    assert result.total_calls == len(_source_ids()) + 40
    assert _snapshot(target)[1] == ("Johnny",)


def test_an_interrupted_full_rebuild_keeps_the_old_copy(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, batch_rows=50, show_progress=False)
    before = _snapshot(target)

    def stop(copied, last_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, target, full=True, batch_rows=20, show_progress=False, on_batch=stop)
    assert _snapshot(target) == before
    assert _copy_files(tmp_path) == ["copy.duckdb"]
    assert_same_reports(engine, _copy_engine(target))


def _fingerprint(path) -> tuple:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_the_source_may_not_be_the_copy_itself(source, tmp_path, monkeypatch):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, show_progress=False)
    copy_file = tmp_path / "copy.duckdb"
    (tmp_path / "link.duckdb").symlink_to(copy_file)
    os.link(copy_file, tmp_path / "hard.duckdb")
    monkeypatch.chdir(tmp_path)
    before = _fingerprint(copy_file)
    same = [target, f"sqlite:///{copy_file}", "duckdb:///copy.duckdb", "duckdb:///./sub/../copy.duckdb",
            f"duckdb:///{tmp_path / 'link.duckdb'}", f"duckdb:///{tmp_path / 'hard.duckdb'}",
            f"sqlite:///file:{copy_file}?mode=ro&uri=true"]
    (tmp_path / "sub").mkdir()
    for source_url in same:
        for full in (False, True):
            with pytest.raises(ParamError, match="source database itself") as caught:
                sync(source_url, target, full=full, show_progress=False)
            assert caught.value.param == "--to"
    assert _fingerprint(copy_file) == before
    # the SQLite source named as the target (a DuckDB URL of the same file)
    source_file = tmp_path / "mor.sqlite"
    source_before = _fingerprint(source_file)
    with pytest.raises(ParamError, match="source database itself"):
        sync(url, f"duckdb:///{source_file}", full=True, show_progress=False)
    assert _fingerprint(source_file) == source_before


def test_a_duckdb_database_that_is_not_a_copy_is_never_written(source, tmp_path):
    _, url = source
    other = tmp_path / "other.duckdb"
    populate(_copy_engine(f"duckdb:///{other}"), {**copy.deepcopy(TABLES), "calls": _extra_calls(1, 5)})
    before = _fingerprint(other)
    for full in (False, True):
        with pytest.raises(ParamError, match="not an analytics copy"):
            sync(url, f"duckdb:///{other}", full=full, show_progress=False)
    assert _fingerprint(other) == before


# --- real processes, really killed ---------------------------------------------------------

KILL_CALLS = 200_000
KILL_NOW = datetime(2026, 3, 10, 12, 0, 0)


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    """A demo MOR database of 200,000 calls (ids 1..200,000) and a complete copy of it."""
    from core.demo import build_demo
    folder = tmp_path_factory.mktemp("kill")
    path = folder / "mor.sqlite"
    build_demo(f"sqlite:///{path}", calls=KILL_CALLS, days=30, seed=11, now=KILL_NOW)
    complete = folder / "complete.duckdb"
    sync(f"sqlite:///{path}", f"duckdb:///{complete}", show_progress=False)
    return path, complete


def _start_sync(source_path, copy_path, *extra):
    import signal
    return subprocess.Popen(
        [sys.executable, "-m", "core", "sync", "--from", f"sqlite:///{source_path}",
         "--to", f"duckdb:///{copy_path}", "--quiet", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as from a terminal, even when the tests run with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _when_midway(proc, log_path, then) -> tuple:
    """Once the run has committed a few batches (its DuckDB log passed 3 MB, ~4 batches of
    2,000 calls), call `then()`; wait for the process to end."""
    import time
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if log_path.exists() and log_path.stat().st_size > 3_000_000:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the sync ended before it was interrupted: {proc.communicate()}"
    then()
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _facts(copy_path) -> dict:
    con = duckdb.connect(str(copy_path), read_only=True)
    try:
        n, distinct, low, top = con.execute(
            "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM calls").fetchone()
        state = con.execute("SELECT last_id, calls_copied, target_id, complete, last_sync, "
                            "lookups_synced FROM sync_state").fetchone()
        users_n = con.execute("SELECT count(*) FROM users").fetchone()[0]
    finally:
        con.close()
    return dict(n=n, distinct=distinct, low=low, top=top, last_id=state[0], copied=state[1],
                target_id=state[2], complete=state[3], last_sync=state[4], lookups=state[5],
                users=users_n)


def _cli_report(db_url):
    window = ("from=" + str(int((KILL_NOW - timedelta(days=31)).replace(tzinfo=timezone.utc).timestamp())),
              "till=" + str(int(KILL_NOW.replace(tzinfo=timezone.utc).timestamp())))
    return _cli("report", "--db", db_url, "--format", "csv", *window)


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_a_killed_sync_leaves_a_consistent_flagged_copy_that_the_next_run_completes(
        big_source, tmp_path, how):
    import signal
    source_path, _ = big_source
    copy_path = tmp_path / "copy.duckdb"
    proc = _start_sync(source_path, copy_path, "--batch", "2000")
    code, _, err = _when_midway(proc, tmp_path / "copy.duckdb.wal",
                                lambda: proc.send_signal(getattr(signal, how)))
    assert "Traceback" not in err
    if how == "SIGINT":
        assert code == 130 and len(err.strip().splitlines()) == 1, err
    else:
        assert code == -signal.SIGKILL

    facts = _facts(copy_path)          # what committed batches hold, and only that
    assert 0 < facts["n"] < KILL_CALLS and facts["n"] % 2000 == 0
    assert facts["n"] == facts["distinct"] == facts["copied"] == facts["last_id"] == facts["top"]
    assert facts["low"] == 1 and facts["target_id"] == KILL_CALLS and facts["complete"] is False
    assert facts["users"] > 0
    report = _cli_report(f"duckdb:///{copy_path}")
    assert report.returncode == 0, report.stderr
    assert "incomplete" in report.stderr and f"of {KILL_CALLS:,}" in report.stderr

    again = subprocess.run([sys.executable, "-m", "core", "sync", "--from", f"sqlite:///{source_path}",
                            "--to", f"duckdb:///{copy_path}", "--quiet"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{KILL_CALLS - facts['n']:,} new call records" in again.stdout
    facts = _facts(copy_path)
    assert facts["n"] == facts["distinct"] == facts["top"] == KILL_CALLS and facts["complete"] is True
    on_copy, on_source = _cli_report(f"duckdb:///{copy_path}"), _cli_report(f"sqlite:///{source_path}")
    assert "incomplete" not in on_copy.stderr
    import io
    copy_rows, source_rows = (pd.read_csv(io.StringIO(out.stdout)) for out in (on_copy, on_source))
    assert len(source_rows) > 3     # the same report, to the CSV's 6 decimals
    pd.testing.assert_frame_equal(copy_rows, source_rows, check_exact=False, rtol=1e-6, atol=2e-6)


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_a_killed_full_rebuild_leaves_the_old_copy_as_it_was(big_source, tmp_path, how):
    import shutil
    import signal
    source_path, complete = big_source
    copy_path = tmp_path / "copy.duckdb"
    shutil.copy(complete, copy_path)
    before = _facts(copy_path)
    proc = _start_sync(source_path, copy_path, "--full", "--batch", "2000")
    code, _, err = _when_midway(proc, tmp_path / ".copy.duckdb.rebuilding.wal",
                                lambda: proc.send_signal(getattr(signal, how)))
    assert code == (130 if how == "SIGINT" else -signal.SIGKILL), err
    assert _facts(copy_path) == before and before["complete"] is True
    if how == "SIGINT":                 # a rebuild that is stopped cleans up after itself
        assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.duckdb"]
    report = _cli_report(f"duckdb:///{copy_path}")
    assert report.returncode == 0 and "incomplete" not in report.stderr

    again = _start_sync(source_path, copy_path, "--full")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "rebuilt" in out and f"the copy holds {KILL_CALLS:,}" in out
    after = _facts(copy_path)
    assert after["n"] == KILL_CALLS and after["complete"] is True
    assert after["last_sync"] >= before["last_sync"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.duckdb"]


def test_a_source_failing_during_a_full_rebuild_leaves_the_old_copy(big_source, tmp_path):
    import shutil
    source_path, complete = big_source
    failing = tmp_path / "mor.sqlite"
    shutil.copy(source_path, failing)
    copy_path = tmp_path / "copy.duckdb"
    shutil.copy(complete, copy_path)
    before = _facts(copy_path)
    proc = _start_sync(failing, copy_path, "--full", "--batch", "2000")
    # the source's disk loses the rest of the file mid-run
    code, _, err = _when_midway(proc, tmp_path / ".copy.duckdb.rebuilding.wal",
                                lambda: os.truncate(failing, failing.stat().st_size // 4))
    assert code == 3 and "reading sqlite:///" in err and "Traceback" not in err, err
    assert _facts(copy_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.duckdb", "mor.sqlite"]


def test_the_same_file_for_from_and_to_is_refused_on_the_command_line(big_source, tmp_path):
    import shutil
    _, complete = big_source
    copy_path = tmp_path / "copy.duckdb"
    shutil.copy(complete, copy_path)
    before = _fingerprint(copy_path)
    for source_url in (f"duckdb:///{copy_path}", f"sqlite:///{copy_path}"):
        for extra in ((), ("--full",)):
            out = _cli("sync", "--from", source_url, "--to", f"duckdb:///{copy_path}", *extra)
            assert out.returncode == 2 and "source database itself" in out.stderr, out.stderr
            assert len(out.stderr.strip().splitlines()) == 1
    assert _fingerprint(copy_path) == before


def test_the_app_warns_on_an_incomplete_copy(tmp_path, monkeypatch):
    from core.sources.config import ANALYTICS
    from tests.app_driver import app_environment, choose_source, click, open_app, use_source
    from tests.fixture_small import build_small_sqlite

    mor = build_small_sqlite(tmp_path / "mor.sqlite")
    copy_path = tmp_path / "copy.duckdb"

    def stop(copied, last_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(f"sqlite:///{mor}", f"duckdb:///{copy_path}", batch_rows=10, show_progress=False,
             on_batch=stop)
    with app_environment(monkeypatch, mor):
        monkeypatch.setenv("MOR_COPY_URL", f"duckdb:///{copy_path}")
        at = click(choose_source(open_app(), ANALYTICS), "Check freshness")
        assert any("Incomplete" in w.value for w in at.warning)
        assert {m.label: m.value for m in at.metric}["Call records"] == "10"
        at = use_source(at, ANALYTICS)
        assert not at.exception and not at.error
        assert any("incomplete" in w.value and "python -m core sync" in w.value for w in at.warning)
