"""DatabaseSource and open_engine on real components: a rogue MySQL server on loopback asking
for a local file, SQLite and DuckDB files opened read-only (never created, never mistaken for
each other), a DuckDB copy locked by a sync, and a Reseller PRO's providers and terminators."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from core.errors import NotFound, SourceUnavailable
from core.params import Params
from core.settings import Settings
from core.sources.db import DatabaseSource, open_engine
from tests import fixture_small
from tests.engines import populate
from tests.fake_mysql import CLIENT_LOCAL_FILES, FakeMySQL
from tests.fixture_small import FROM, TILL, build_small_sqlite

CANARY = b"CANARY-local-file-of-the-client\n"


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_bytes(CANARY)
    return str(path)


# --- a rogue MySQL server asking for a local file ----------------------------------------------

def test_a_rogue_server_never_gets_a_local_file(canary):
    with FakeMySQL(request_file=canary) as server:
        with pytest.raises(SourceUnavailable) as failure:
            DatabaseSource(server.url()).test_connection()
        assert server.connections >= 1 and server.sessions[0].infile_requests >= 1
        assert server.file_bytes == b""
        assert all(not s.client_flags & CLIENT_LOCAL_FILES for s in server.sessions)
    assert "LOCAL INFILE" in str(failure.value)
    assert "pw" not in str(failure.value)


@pytest.mark.parametrize("query", ["local_infile=1", "local_infile=true&charset=utf8mb4",
                                   "read_default_file={canary}", "read_default_group=client",
                                   "init_command=SELECT+1", "client_flag=128",
                                   "auth_plugin_map=x", "defer_connect=1"])
def test_driver_options_reading_files_or_running_code_are_refused(canary, query):
    with FakeMySQL(request_file=canary) as server:
        url = server.url(query=query.format(canary=canary))
        name = query.split("=")[0]
        with pytest.raises(SourceUnavailable, match=f"option {name} is not accepted"):
            DatabaseSource(url).test_connection()
        assert server.connections == 0 and server.file_bytes == b""


def test_harmless_options_and_a_url_without_a_driver_still_connect_safely(canary):
    with FakeMySQL(request_file=canary) as server:
        url = server.url(query="charset=utf8mb4&connect_timeout=5").replace("mysql+pymysql", "mysql")
        with pytest.raises(SourceUnavailable, match="LOCAL INFILE"):
            DatabaseSource(url).test_connection()
        assert server.connections >= 1 and server.file_bytes == b""


def test_the_sync_reads_its_source_safely_too(canary, tmp_path):
    from core.sync import sync
    with FakeMySQL(request_file=canary) as server:
        with pytest.raises(SourceUnavailable):
            sync(server.url(), f"duckdb:///{tmp_path / 'copy.duckdb'}", show_progress=False)
        assert server.connections >= 1 and server.file_bytes == b""
        with pytest.raises(SourceUnavailable, match="local_infile"):
            sync(server.url(query="local_infile=1"), f"duckdb:///{tmp_path / 'copy.duckdb'}",
                 show_progress=False)
        assert server.file_bytes == b""


def test_the_demo_writer_never_sends_a_local_file(canary):
    from core.demo import build_demo
    with FakeMySQL(request_file=canary) as server:
        with pytest.raises(SourceUnavailable, match="LOCAL INFILE"):
            build_demo(server.url(query="local_infile=1"), calls=100, days=1)
        assert server.connections >= 1 and server.file_bytes == b""


def test_other_drivers_and_databases_are_refused():
    with pytest.raises(SourceUnavailable, match="mysql\\+mysqldb driver is not supported"):
        open_engine("mysql+mysqldb://u@127.0.0.1/mor")
    with pytest.raises(SourceUnavailable, match="postgresql databases are not supported"):
        open_engine("postgresql://u@127.0.0.1/mor")


# --- SQLite and DuckDB files: read-only, never created, never mistaken -------------------------

@pytest.fixture
def small_sqlite(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    return build_small_sqlite(folder / "mor.sqlite")


@pytest.fixture
def small_duckdb(tmp_path):
    path = tmp_path / "copy.duckdb"
    engine = create_engine(f"duckdb:///{path}", poolclass=NullPool)
    populate(engine, fixture_small.TABLES)
    engine.dispose()
    return path


# 32 call records in tests/fixture_small.py; the newest is call 17 at 2024-03-16 00:00:00.
@pytest.mark.parametrize("form", ["sqlite:///file:{path}?mode=ro&uri=true",
                                  "sqlite:///{path}?mode=ro&uri=true",
                                  "sqlite:///file://{path}?mode=ro&uri=true",
                                  "sqlite:///{path}?mode=ro"])
def test_read_only_sqlite_urls_open_and_leave_no_stray_file(small_sqlite, form):
    before = sorted(small_sqlite.parent.iterdir())
    source = DatabaseSource(form.format(path=small_sqlite))
    assert source.test_connection().endswith("32 call records, newest 2024-03-16 00:00:00")
    assert sorted(small_sqlite.parent.iterdir()) == before
    # the same form naming a missing file: a clear message, and still no new file
    with pytest.raises(SourceUnavailable, match="missing.sqlite does not exist"):
        DatabaseSource(form.format(path=small_sqlite.parent / "missing.sqlite")).test_connection()
    assert sorted(small_sqlite.parent.iterdir()) == before


def test_sqlite_and_duckdb_sources_cannot_write(small_sqlite, small_duckdb):
    for url in (f"sqlite:///{small_sqlite}", f"duckdb:///{small_duckdb}"):
        engine = DatabaseSource(url).engine
        with engine.connect() as conn, pytest.raises(DBAPIError, match="(?i)read-?only"):
            conn.execute(text("CREATE TABLE stray (a INTEGER)"))
        engine.dispose()


def test_sqlite_mode_other_than_read_only_is_refused(small_sqlite):
    with pytest.raises(SourceUnavailable, match="mode=rwc is not accepted"):
        open_engine(f"sqlite:///file:{small_sqlite}?mode=rwc&uri=true")


def test_duckdb_url_on_a_sqlite_file_is_refused_clearly(small_sqlite):
    with pytest.raises(SourceUnavailable, match="is a SQLite database, not a DuckDB file") as failure:
        DatabaseSource(f"duckdb:///{small_sqlite}").test_connection()
    assert failure.value.hint == f"use sqlite:///{small_sqlite}"


def test_sqlite_url_on_a_duckdb_file_is_refused_clearly(small_duckdb):
    with pytest.raises(SourceUnavailable, match="is a DuckDB file, not a SQLite database") as failure:
        DatabaseSource(f"sqlite:///{small_duckdb}").test_connection()
    assert failure.value.hint == f"use duckdb:///{small_duckdb}"
    assert DatabaseSource(f"duckdb:///{small_duckdb}").test_connection().endswith(
        "32 call records, newest 2024-03-16 00:00:00")


def test_a_file_of_neither_kind_is_refused(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a database at all\n")
    for url, label in ((f"sqlite:///{other}", "SQLite"), (f"duckdb:///{other}", "DuckDB")):
        with pytest.raises(SourceUnavailable, match=f"is not a {label} database"):
            DatabaseSource(url).test_connection()


# --- a DuckDB copy locked by a sync -------------------------------------------------------------

def _hold_write_lock(path, seconds: float) -> subprocess.Popen:
    """Another process holding the copy open for writing, as `python -m core sync` does."""
    script = textwrap.dedent(f"""
        import sys, time, duckdb
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_report_during_a_sync_says_the_copy_is_being_updated(small_duckdb):
    proc = _hold_write_lock(small_duckdb, 30)
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="the analytics copy is being updated by a sync; "
                                                    "try again in a moment"):
            DatabaseSource(f"duckdb:///{small_duckdb}").run(
                Params(u="admin", from_=FROM, till=TILL), Settings())
        assert 2 <= time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()


def test_a_report_waits_for_a_short_sync(small_duckdb):
    proc = _hold_write_lock(small_duckdb, 1)
    try:
        report = DatabaseSource(f"duckdb:///{small_duckdb}").run(
            Params(u="admin", from_=FROM, till=TILL), Settings())
        assert report.totals["total_calls"] == 27   # tests/fixture_small.py: 27 counted records
    finally:
        proc.wait()


# --- a Reseller PRO's providers and terminators ---------------------------------------------------

@pytest.fixture
def small_source(make_db):
    return DatabaseSource(make_db(fixture_small.TABLES))


def _by_sql(source, statement: str) -> set[tuple[int, str]]:
    with source.engine.connect() as conn:
        return {(int(r[0]), r[1]) for r in conn.execute(text(statement))}


def test_a_reseller_pro_lists_only_his_providers_and_terminators(small_source):
    # By hand from tests/fixture_small.py: respro (id 5) owns ResProv (5) and Reseller Term
    # (3); the admin shares ProvB (3, common use) of Carrier B (2).
    his = small_source.choices("respro", Settings())
    assert set(his["providers"]) == {(3, "ProvB"), (5, "ResProv")}
    assert set(his["terminators"]) == {(2, "Carrier B"), (3, "Reseller Term")}
    # The same sets by plain SQL on the fixture; and the admin sees every row.
    assert set(his["providers"]) == _by_sql(
        small_source, "SELECT id, name FROM providers WHERE user_id = 5 OR (user_id = 0 AND common_use = 1)")
    admin = small_source.choices("admin", Settings())
    assert set(admin["providers"]) == _by_sql(small_source, "SELECT id, name FROM providers")
    assert len(admin["providers"]) == 6 and len(admin["terminators"]) == 3


def _refusal(source, **filters) -> tuple[type, str, str]:
    with pytest.raises(NotFound) as failure:
        source.run(Params(u="respro", from_=FROM, till=TILL, **filters), Settings())
    return type(failure.value), str(failure.value), failure.value.hint


@pytest.mark.parametrize("name,foreign,unknown,message", [
    ("s_provider", 1, 4242, "Provider was not found"),            # ProvA1: the admin's, not shared
    ("s_provider", 6, 4242, "Provider was not found"),            # GhostTerm: the admin's
    ("s_terminator_id", 1, 4242, "Terminator was not found"),     # Carrier A: no usable provider
])
def test_a_foreign_id_reads_exactly_as_an_unknown_one(small_source, name, foreign, unknown, message):
    seen = _refusal(small_source, **{name: foreign})
    assert seen[1] == message
    assert seen[:2] == _refusal(small_source, **{name: unknown})[:2]
    assert str(foreign) in seen[2] and str(unknown) not in seen[2]
    # His own and the shared ones still filter: calls 25 and 28 run through ResProv (5) of
    # Reseller Term (3), calls 26 and 27 through ProvB (3) of Carrier B (2).
    for own in (3, 5) if name == "s_provider" else (2, 3):
        report = small_source.run(Params(u="respro", from_=FROM, till=TILL, **{name: own}), Settings())
        assert report.totals["total_calls"] == 2


def test_over_the_api_a_foreign_provider_reads_as_an_unknown_one(tmp_path):
    from core.server import create_app
    from core.sources.mor_api import MorApiSource
    from tests.test_mor_api import serving
    url = f"sqlite:///{tmp_path / 'mor.sqlite'}"
    engine = create_engine(url, poolclass=NullPool)
    populate(engine, {**fixture_small.TABLES, "conflines": [
        *fixture_small.CONFLINES, dict(id=2, name="Allow_API", value="1", owner_id=0)]})
    engine.dispose()
    with serving(create_app(DatabaseSource(url), Settings(), "/billing")) as root:
        with MorApiSource(root + "/billing", secret="secret") as api:
            def refusal(provider):
                with pytest.raises(NotFound) as failure:
                    api.run(Params(u="respro", from_=FROM, till=TILL, s_provider=provider), Settings())
                return str(failure.value)
            assert refusal(1) == refusal(4242) == "Provider was not found"


@pytest.mark.parametrize("url", [
    "clickhousedb://reports@ch.example.com:8443/mor?secure=true&verify=false",
    "clickhousedb://reports@ch.example.com:8443/mor?verify=true&verify=0",
    "mysql+pymysql://reports@mor-db/mor?ssl_ca=/etc/ca.pem&ssl_verify_cert=false",
    "mysql+pymysql://reports@mor-db/mor?ssl_ca=/etc/ca.pem&ssl_verify_identity=no",
    "clickhousedb://reports@ch.example.com:8443/mor?secure=true&verify=f",
    "mysql+pymysql://reports@mor-db/mor?ssl_verify_cert=none",
    # given at all, pymysql would rebuild its TLS settings without the CA and the host check
    "mysql+pymysql://reports@mor-db/mor?ssl_ca=/etc/ca.pem&ssl_verify_identity=true",
])
def test_a_url_that_turns_tls_verification_off_is_refused(url):
    from core.sources.db import check_url
    with pytest.raises(SourceUnavailable) as caught:
        check_url(url)
    assert "always verified" in caught.value.full()


def test_a_clickhouse_url_may_name_its_ca_file():
    from core.sources.db import check_url
    url = check_url("clickhousedb://r@ch:8443/mor?secure=true&ca_cert=/etc/ca.pem")
    assert url.query["ca_cert"] == "/etc/ca.pem"
