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


def test_copy_has_indexes(source, tmp_path):
    engine, url = source
    target = _target(tmp_path)
    sync(url, target, show_progress=False)
    con = duckdb.connect(str(tmp_path / "copy.duckdb"), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    finally:
        con.close()
    assert {"calls_calldate", "calls_user_id", "calls_provider_id", "calls_uniqueid"} <= names


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
