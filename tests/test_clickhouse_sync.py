"""`sync --to chdb:///PATH`: the copy in chDB, resumed after an interrupt without duplicates."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from core import clickhouse
from core.schema import calls, users
from core.sync import copy_state, sync

SOURCE = {
    "users": [{"id": 1, "username": "ann", "usertype": "user"}],
    "calls": [{"id": i, "calldate": f"2024-0{1 + i % 3}-10 12:00:00", "user_id": 1, "billsec": 10 * i}
              for i in (3, 5, 8)],
}


def _read(path):
    engine = clickhouse.configure(create_engine(f"chdb:///{path}", poolclass=NullPool))
    try:
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(calls.c.id).order_by(calls.c.id))]
            billsec = conn.execute(select(func.sum(calls.c.billsec))).scalar()
            return ids, int(billsec or 0), conn.execute(select(func.count()).select_from(users)).scalar(), \
                copy_state(conn)
    finally:
        engine.dispose()


def test_sync_into_chdb_resumes_after_an_interrupt(db_url_factory, engine_kind, tmp_path):
    if engine_kind not in ("sqlite", "duckdb"):
        pytest.skip("one source engine kind is enough here; chDB holds the copy")
    _engine, url = db_url_factory(SOURCE)
    target = tmp_path / "copy.chdb"

    def stop_after_first(copied, last_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, f"chdb:///{target}", batch_rows=1, show_progress=False, on_batch=stop_after_first)
    ids, _, _, state = _read(target)
    assert ids == [3] and state["last_id"] == 3 and state["complete"] is False

    result = sync(url, f"chdb:///{target}", batch_rows=1, show_progress=False)
    assert result.copied == 2
    ids, billsec, n_users, state = _read(target)
    assert ids == [3, 5, 8]                  # no call twice, none missing
    assert billsec == 30 + 50 + 80
    assert n_users == 1 and state["complete"] is True and state["last_id"] == 8


def _databases(path) -> set[str]:
    engine = clickhouse.configure(create_engine(f"chdb:///{path}", poolclass=NullPool))
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.exec_driver_sql("SELECT name FROM system.databases")}
    finally:
        engine.dispose()


def _source(db_url_factory, engine_kind):
    if engine_kind not in ("sqlite",):
        pytest.skip("one source engine kind is enough here; chDB holds the copy")
    return db_url_factory(SOURCE)


def test_full_rebuild_in_chdb_replaces_the_copy_and_leaves_nothing_beside_it(db_url_factory, engine_kind,
                                                                           tmp_path):
    engine, url = _source(db_url_factory, engine_kind)
    target = tmp_path / "copy.chdb"
    sync(url, f"chdb:///{target}", show_progress=False)
    with engine.begin() as conn:        # MOR re-rates a call: only --full sees it
        conn.execute(calls.update().where(calls.c.id == 5).values(billsec=7))
    assert sync(url, f"chdb:///{target}", show_progress=False).copied == 0
    assert _read(target)[1] == 30 + 50 + 80

    result = sync(url, f"chdb:///{target}", full=True, show_progress=False)
    assert result.rebuilt and result.copied == 3
    ids, billsec, n_users, state = _read(target)
    assert ids == [3, 5, 8] and billsec == 30 + 7 + 80 and n_users == 1
    assert state["complete"] is True and state["last_id"] == 8
    assert "default_rebuilding" not in _databases(target)

    with engine.begin() as conn:        # and the rebuilt copy goes on incrementally
        conn.execute(calls.insert().values(id=9, calldate=datetime(2024, 1, 11, 12), user_id=1, billsec=90))
    assert sync(url, f"chdb:///{target}", show_progress=False).copied == 1
    ids, billsec, _, state = _read(target)
    assert ids == [3, 5, 8, 9] and billsec == 30 + 7 + 80 + 90 and state["last_id"] == 9


def test_an_interrupted_full_rebuild_in_chdb_keeps_the_old_copy(db_url_factory, engine_kind, tmp_path):
    engine, url = _source(db_url_factory, engine_kind)
    target = tmp_path / "copy.chdb"
    sync(url, f"chdb:///{target}", show_progress=False)
    with engine.begin() as conn:
        conn.execute(calls.update().values(billsec=1))

    def stop(copied, last_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, f"chdb:///{target}", full=True, batch_rows=1, show_progress=False, on_batch=stop)
    ids, billsec, _, state = _read(target)
    assert ids == [3, 5, 8] and billsec == 30 + 50 + 80 and state["complete"] is True
    assert "default_rebuilding" not in _databases(target)


@pytest.mark.parametrize("to, says", [
    ("clickhousedb://default:secret@127.0.0.1:8123/mor", "MOR_COPY_PASSWORD"),
    ("clickhousedb://default@127.0.0.1:8123/mor-copy", "not a database name"),
    ("clickhousedb://default@127.0.0.1:8123/mor?local_file=/etc/passwd", "local_file"),
    ("clickhousedb://default@127.0.0.1:8123", "names its host and database"),
    ("postgresql://u@h/db", "clickhousedb://user@host:8123/database"),
])
def test_a_bad_clickhouse_copy_url_is_refused_before_anything_runs(to, says):
    from core.params import ParamError
    with pytest.raises(ParamError) as caught:
        sync("sqlite:////nonexistent/mor.sqlite", to, show_progress=False)
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


def test_reports_on_a_chdb_copy_equal_reports_on_the_source(tmp_path):
    """The sync tests' source (the hand fixture and 150 calls with failovers, filters and
    NULLs), copied into chDB: every report variant, as admin and as a Reseller PRO, is the
    same on the copy as on the source."""
    from tests.engines import populate
    from tests.test_sync import _source_tables, assert_same_reports
    url = f"sqlite:///{tmp_path / 'mor.sqlite'}"
    source = create_engine(url, poolclass=NullPool)
    populate(source, _source_tables())
    target = f"chdb:///{tmp_path / 'copy.chdb'}"
    sync(url, target, batch_rows=40, show_progress=False)
    copy_engine = clickhouse.create(target, poolclass=NullPool)
    try:
        assert_same_reports(source, copy_engine)
    finally:
        copy_engine.dispose()
        source.dispose()
