"""The app on a ClickHouse server holding a copy (`sync --to clickhousedb://`): the same
report as on the MOR database, its freshness, and signing in against it. The server is the
tests' clickhouse kind: $MOR_TEST_CLICKHOUSE_URL, else the chDB stand-in."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import make_url

from core.sources.config import CLICKHOUSE
from core.sync import sync
from tests.app_driver import app_environment, check_copy, clean, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

QUERY = {"from": str(FROM), "till": str(TILL), "group_by_day": "1", "profit_show": "1"}


@pytest.fixture(scope="module")
def databases(tmp_path_factory, clickhouse_url):
    from core import clickhouse
    mor = build_small_sqlite(tmp_path_factory.mktemp("ch_app") / "mor.sqlite")
    copy = make_url(clickhouse_url).set(database=f"app_{uuid.uuid4().hex[:12]}")
    copy = copy.render_as_string(hide_password=False)
    sync(f"sqlite:///{mor}", copy, show_progress=False)
    yield mor, copy
    admin = clickhouse.create(clickhouse_url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{make_url(copy).database}`")
    finally:
        admin.dispose()


@pytest.fixture(autouse=True)
def app_env(monkeypatch, databases):
    with app_environment(monkeypatch, databases[0]):
        monkeypatch.setenv("MOR_CLICKHOUSE_URL", databases[1])   # as an operator configures it
        yield


def test_a_clickhouse_server_copy_gives_the_same_report_and_shows_its_freshness():
    check_copy(clean(open_app(QUERY)), CLICKHOUSE, calls=32)   # every record of the fixture


def test_people_sign_in_against_the_clickhouse_copy(monkeypatch):
    monkeypatch.setenv("MOR_SOURCE", CLICKHOUSE)
    at = clean(open_app(QUERY))
    assert at.session_state["source_name"] == CLICKHOUSE
    assert len(at.dataframe[0].value) >= 1
    refused = open_app(QUERY, password="wrong")
    assert "signed_in" not in refused.session_state
