"""`sync --to` ClickHouse: the copy in chDB (`chdb:///PATH`) and on a server
(`clickhousedb://`, the tests' clickhouse kind: $MOR_TEST_CLICKHOUSE_URL or the chDB
stand-in), resumed after an interrupt without duplicates, rebuilt with --full, and
reporting as its source does."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, make_url, select
from sqlalchemy.pool import NullPool

from core import clickhouse
from core.params import ParamError
from core.schema import calls, users
from core.sync import copy_state, sync
from tests.engines import populate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOURCE = {
    "users": [{"id": 1, "username": "ann", "usertype": "user"},
              {"id": 2, "username": "admin", "usertype": "admin"}],
    "currencies": [{"id": 1, "name": "USD", "exchange_rate": 1}],
    "calls": [{"id": i, "calldate": f"2024-0{1 + i % 3}-10 12:00:00", "user_id": 1, "billsec": 10 * i}
              for i in (3, 5, 8)],
}


class Copy:
    """Where a test's copy goes: `url` for --to, `engine()` to read it, `databases()` on
    its directory or server (to see that --full leaves nothing beside it)."""

    def __init__(self, kind: str, tmp_path, server_url: str | None):
        self.kind = kind
        if kind == "chdb":
            self.url = f"chdb:///{tmp_path / 'copy.chdb'}"
            self.aside = "default_rebuilding"
            self._admin = f"chdb:///{tmp_path / 'copy.chdb'}"
        else:
            name = f"copy_{uuid.uuid4().hex[:12]}"
            self.url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
            self.aside = f"{name}_rebuilding"
            self._admin = server_url

    def engine(self, url: str | None = None):
        return clickhouse.create(url or self.url, poolclass=NullPool)

    def databases(self) -> set[str]:
        engine = self.engine(self._admin)
        try:
            with engine.connect() as conn:
                return {r[0] for r in conn.exec_driver_sql("SELECT name FROM system.databases")}
        finally:
            engine.dispose()

    def read(self):
        """(call ids, sum of billsec, users, sync_state) of the copy."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                ids = [r[0] for r in conn.execute(select(calls.c.id).order_by(calls.c.id))]
                billsec = conn.execute(select(func.sum(calls.c.billsec))).scalar()
                n_users = conn.execute(select(func.count()).select_from(users)).scalar()
                return ids, int(billsec or 0), n_users, copy_state(conn)
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.kind == "clickhouse":
            engine = self.engine(self._admin)
            try:
                with engine.connect() as conn:
                    for name in (make_url(self.url).database, self.aside):
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
            finally:
                engine.dispose()


@pytest.fixture(params=["chdb", "clickhouse"])
def copy_target(request, tmp_path):
    server = request.getfixturevalue("clickhouse_url") if request.param == "clickhouse" else None
    target = Copy(request.param, tmp_path, server)
    yield target
    target.drop()


@pytest.fixture
def source(tmp_path):
    """The small MOR database (SQLite) the copy is made from: (engine, url)."""
    url = f"sqlite:///{tmp_path / 'mor.sqlite'}"
    engine = create_engine(url, poolclass=NullPool)
    populate(engine, SOURCE)
    yield engine, url
    engine.dispose()


def _stop(copied, last_id):
    raise KeyboardInterrupt


def test_an_interrupted_sync_resumes_where_it_stopped(source, copy_target):
    _engine, url = source
    with pytest.raises(KeyboardInterrupt):
        sync(url, copy_target.url, batch_rows=1, show_progress=False, on_batch=_stop)
    ids, _, _, state = copy_target.read()
    assert ids == [3] and state["last_id"] == 3 and state["complete"] is False

    result = sync(url, copy_target.url, batch_rows=1, show_progress=False)
    assert result.copied == 2
    ids, billsec, n_users, state = copy_target.read()
    assert ids == [3, 5, 8]                  # no call twice, none missing
    assert billsec == 30 + 50 + 80
    assert n_users == 2 and state["complete"] is True and state["last_id"] == 8


CALL_9 = {"id": 9, "calldate": datetime(2024, 1, 11, 12), "user_id": 1, "billsec": 90}


def _the_next_call_is_copied(engine, url, copy_target, billsec_before: int) -> None:
    """MOR gets call 9: the next run copies it, once, and nothing else."""
    with engine.begin() as conn:
        conn.execute(calls.insert().values(**CALL_9))
    assert sync(url, copy_target.url, show_progress=False).copied == 1
    ids, billsec, _, state = copy_target.read()
    assert ids == [3, 5, 8, 9] and billsec == billsec_before + 90 and state["last_id"] == 9


def test_rows_of_a_batch_whose_bookkeeping_never_landed_are_removed(source, copy_target):
    """A kill between a batch's rows and its bookkeeping (ClickHouse has no transaction over
    both) leaves calls above the recorded last id: the next run removes them, copies on."""
    from core import arrow
    engine, url = source
    sync(url, copy_target.url, show_progress=False)
    stray = copy_target.engine()
    try:
        with stray.begin() as conn:     # as if a killed run had written id 9 twice, no bookkeeping
            row = tuple(CALL_9.get(c.name) for c in calls.columns)
            clickhouse.insert_arrow(conn.connection.driver_connection, calls,
                                    arrow.from_rows(calls, [row, row]))
    finally:
        stray.dispose()
    assert copy_target.read()[0] == [3, 5, 8, 9, 9]
    _the_next_call_is_copied(engine, url, copy_target, 30 + 50 + 80)


def test_a_full_rebuild_replaces_the_copy_and_leaves_nothing_beside_it(source, copy_target):
    engine, url = source
    sync(url, copy_target.url, show_progress=False)
    with engine.begin() as conn:        # MOR re-rates a call: only --full sees it
        conn.execute(calls.update().where(calls.c.id == 5).values(billsec=7))
    assert sync(url, copy_target.url, show_progress=False).copied == 0
    assert copy_target.read()[1] == 30 + 50 + 80

    result = sync(url, copy_target.url, full=True, show_progress=False)
    assert result.rebuilt and result.copied == 3
    ids, billsec, n_users, state = copy_target.read()
    assert ids == [3, 5, 8] and billsec == 30 + 7 + 80 and n_users == 2
    assert state["complete"] is True and state["last_id"] == 8
    assert copy_target.aside not in copy_target.databases()

    _the_next_call_is_copied(engine, url, copy_target, 30 + 7 + 80)   # incremental again


def test_an_interrupted_full_rebuild_keeps_the_old_copy(source, copy_target):
    engine, url = source
    sync(url, copy_target.url, show_progress=False)
    with engine.begin() as conn:
        conn.execute(calls.update().values(billsec=1))
    with pytest.raises(KeyboardInterrupt):
        sync(url, copy_target.url, full=True, batch_rows=1, show_progress=False, on_batch=_stop)
    ids, billsec, _, state = copy_target.read()
    assert ids == [3, 5, 8] and billsec == 30 + 50 + 80 and state["complete"] is True
    assert copy_target.aside not in copy_target.databases()


def test_reports_on_the_copy_equal_reports_on_the_source(tmp_path, copy_target):
    """The sync tests' source (the hand fixture and 150 calls with failovers, filters and
    NULLs): every report variant, as admin and as a Reseller PRO, is the same on the copy."""
    from tests.test_sync import _source_tables, assert_same_reports
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    source = create_engine(url, poolclass=NullPool)
    populate(source, _source_tables())
    sync(url, copy_target.url, batch_rows=40, show_progress=False)
    copy_engine = copy_target.engine()
    try:
        assert_same_reports(source, copy_engine)
    finally:
        copy_engine.dispose()
        source.dispose()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def test_the_command_line_syncs_into_clickhouse_and_reports_on_the_copy(source, copy_target):
    """As an operator runs it: `sync --to`, then `report --db` on the copy, the same CSV as
    on the source; the copy's password (none here) would come from $MOR_COPY_PASSWORD."""
    _, url = source
    env = dict(os.environ, MOR_COPY_PASSWORD="")
    done = _cli("sync", "--from", url, "--to", copy_target.url, "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert "3 new call records" in done.stdout and "the copy holds 3" in done.stdout
    window = ("from=1704067200", "till=1711929599")       # 2024-01-01 .. 2024-03-31
    on_copy = _cli("report", "--db", copy_target.url, "--format", "csv", *window)
    on_source = _cli("report", "--db", url, "--format", "csv", *window)
    assert on_source.returncode == 0 and on_copy.returncode == 0, on_copy.stderr
    assert on_copy.stdout == on_source.stdout and on_copy.stdout.count("\n") >= 2


@pytest.mark.parametrize("to, says", [
    ("clickhousedb://default:secret@127.0.0.1:8123/mor", "MOR_COPY_PASSWORD"),
    ("clickhousedb://default@127.0.0.1:8123/mor-copy", "not a database name"),
    ("clickhousedb://default@127.0.0.1:8123/mor?local_file=/etc/passwd", "local_file"),
    ("clickhousedb://default@127.0.0.1:8123", "names its host and database"),
    ("postgresql://u@h/db", "clickhousedb://user@host:8123/database"),
])
def test_a_bad_clickhouse_copy_url_is_refused_before_anything_runs(to, says):
    with pytest.raises(ParamError) as caught:
        sync("sqlite:////nonexistent/mor.sqlite", to, show_progress=False)
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_server_that_does_not_answer_is_one_clear_error(source):
    from core.errors import SourceUnavailable
    _, url = source
    with pytest.raises(SourceUnavailable) as caught:
        sync(url, "clickhousedb://default@127.0.0.1:9/mor?connect_timeout=2", show_progress=False)
    text = caught.value.full()
    assert "cannot open the ClickHouse copy" in text and "MOR_COPY_PASSWORD" in text


def test_killed_between_two_swaps_of_a_full_rebuild_the_copy_is_flagged_and_a_run_mends_it(
        source, copy_target, monkeypatch):
    from core import sync as sync_mod
    from core.sync import copy_warning
    engine, url = source
    sync(url, copy_target.url, show_progress=False)
    with engine.begin() as conn:
        conn.execute(calls.update().where(calls.c.id == 5).values(billsec=7))
    real = sync_mod._swap_table

    def killed_at_calls(conn, aside, name):
        if name == "calls":
            raise KeyboardInterrupt
        real(conn, aside, name)

    monkeypatch.setattr(sync_mod, "_swap_table", killed_at_calls)
    with pytest.raises(KeyboardInterrupt):
        sync(url, copy_target.url, full=True, show_progress=False)
    monkeypatch.setattr(sync_mod, "_swap_table", real)
    reader = copy_target.engine()
    try:
        with reader.connect() as conn:
            warning = copy_warning(conn)
    finally:
        reader.dispose()
    assert warning and "incomplete" in warning
    # the command it gives is the copy's own: its database, and no password
    assert f"--to {copy_target.url}`" in warning
    assert sync(url, copy_target.url, show_progress=False).copied == 0
    assert copy_target.read()[3]["complete"] is True


def test_the_copy_may_not_be_its_own_source(copy_target):
    with pytest.raises(ParamError, match="source database itself"):
        sync(copy_target.url, copy_target.url, show_progress=False)


@pytest.mark.parametrize("to, says", [
    ("clickhousedb://default@127.0.0.1:8123/mor_rebuilding", "ends in _rebuilding"),
    ("clickhousedb://default@127.0.0.1:8123/" + "m" * 60, "too long"),
    ("chdb:////tmp/copy.chdb?database=" + "m" * 60, "too long"),
    ("chdb:////tmp/copy.chdb?database=x_rebuilding", "ends in _rebuilding"),
])
def test_a_copy_database_leaves_room_for_its_rebuild(to, says):
    with pytest.raises(ParamError, match=says):
        sync("sqlite:////nonexistent/mor.sqlite", to, show_progress=False)
