"""ClickHouse plumbing: databases in one chDB directory, the configured source, read-only
sessions and the calls table's skipping indexes."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, insert, select, text

from core import clickhouse
from core.errors import SourceUnavailable
from core.schema import calls, metadata, users
from core.server import read_only
from core.sources.config import CLICKHOUSE, SourceConfigError, configured_sources
from core.sources.db import DatabaseSource, open_engine
from tests.engines import chdb_directory

pytest.importorskip("chdb")


@pytest.fixture
def chdb_databases():
    """make(names of users) -> chdb:///DIR?database=NAME, a fresh database in the test
    process's chDB directory holding those users; every database dropped afterwards."""
    made = []

    def make(usernames):
        name = f"cfg_{uuid.uuid4().hex[:12]}"
        made.append(name)
        url = f"chdb:///{chdb_directory()}?database={name}"
        writer = clickhouse.create(url, create_database=True)
        try:
            with writer.begin() as conn:
                metadata.create_all(conn)
                for i, username in enumerate(usernames, start=1):
                    conn.execute(insert(users).values(id=i, username=username, usertype="user"))
        finally:
            writer.dispose()
        return url

    yield make
    admin = clickhouse.create(f"chdb:///{chdb_directory()}")
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} SYNC"))
    admin.dispose()


def _usernames(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(users.c.username).order_by(users.c.id)).scalars())


def test_each_database_of_one_chdb_directory_is_its_own(chdb_databases):
    first = chdb_databases(["ann", "bob"])
    second = chdb_databases(["cid"])
    assert _usernames(open_engine(first)) == ["ann", "bob"]
    assert _usernames(open_engine(second)) == ["cid"]


def test_a_chdb_database_name_is_checked(chdb_databases):
    url = chdb_databases([])
    bad = url.rsplit("=", 1)[0] + "=x%60%3B%20DROP"          # x`; DROP
    with pytest.raises(SourceUnavailable, match="is not a database name"):
        open_engine(bad)


def test_the_server_reads_chdb_read_only(chdb_databases):
    engine = read_only(open_engine(chdb_databases(["ann"])))
    assert _usernames(engine) == ["ann"]
    with pytest.raises(Exception, match="readonly"), engine.begin() as conn:
        conn.execute(insert(users).values(id=9, username="eve", usertype="user"))
    assert _usernames(engine) == ["ann"]


def test_the_calls_table_is_created_with_its_four_skipping_indexes(chdb_databases):
    url = chdb_databases([])
    engine = clickhouse.create(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, type FROM system.data_skipping_indices "
                                 "WHERE database = currentDatabase() AND table = 'calls' "
                                 "ORDER BY name")).all()
        assert conn.execute(select(func.count()).select_from(calls)).scalar() == 0
    engine.dispose()
    assert [tuple(r) for r in rows] == [("calls_calldate", "minmax"), ("calls_provider_id", "minmax"),
                                        ("calls_uniqueid", "bloom_filter"), ("calls_user_id", "minmax")]


def test_a_clickhouse_copy_is_a_configured_source(chdb_databases, tmp_path):
    url = chdb_databases(["ann"])
    found = configured_sources({"connections": {"clickhouse": {"url": url}}}, environ={},
                               demo_path=tmp_path / "demo.sqlite", copy_path=tmp_path / "none.duckdb")
    assert found[CLICKHOUSE].title == "ClickHouse copy ([connections.clickhouse])"
    assert found[CLICKHOUSE].url == url
    assert DatabaseSource(found[CLICKHOUSE].url).engine.dialect.name == "chdb"
    env = configured_sources({}, environ={"MOR_CLICKHOUSE_URL": url},
                             demo_path=tmp_path / "demo.sqlite", copy_path=tmp_path / "none.duckdb")
    assert env[CLICKHOUSE].title == "ClickHouse copy ($MOR_CLICKHOUSE_URL)"
    assert CLICKHOUSE not in configured_sources({}, environ={}, demo_path=tmp_path / "demo.sqlite",
                                                copy_path=tmp_path / "none.duckdb")


def test_a_clickhouse_section_with_another_engine_is_refused(tmp_path):
    with pytest.raises(SourceConfigError, match=r"\[connections.clickhouse\].*not a ClickHouse one"):
        configured_sources({"connections": {"clickhouse": {"url": f"sqlite:///{tmp_path}/x.sqlite"}}},
                           environ={}, demo_path=tmp_path / "demo.sqlite")


def test_a_chdb_path_is_relative_to_the_working_directory_as_for_sqlite():
    from pathlib import Path
    parsed, database = clickhouse.chdb_parts("chdb:///data/mor.chdb?database=mor")
    assert (parsed.database, database) == (str(Path.cwd() / "data" / "mor.chdb"), "mor")
    assert clickhouse.chdb_parts("chdb:////srv/mor.chdb")[0].database == "/srv/mor.chdb"


def test_a_missing_chdb_database_is_one_clear_error(chdb_databases):
    url = chdb_databases([]).rsplit("=", 1)[0] + "=no_such_database"
    with pytest.raises(SourceUnavailable, match="has no database no_such_database"):
        with open_engine(url).connect():
            pass
