"""The app on a DuckDB analytics copy: same report as on the MOR database, and its freshness."""
from __future__ import annotations

import pytest

from core.sources.config import ANALYTICS
from core.sync import sync
from tests.app_driver import app_environment, check_copy, choose_source, clean, click, healthy, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

QUERY = {"from": str(FROM), "till": str(TILL), "group_by_day": "1", "profit_show": "1"}


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("copy")
    mor = build_small_sqlite(folder / "mor.sqlite")
    copy = folder / "mor.duckdb"
    sync(f"sqlite:///{mor}", f"duckdb:///{copy}", show_progress=False)
    return mor, copy


@pytest.fixture(autouse=True)
def app_env(monkeypatch, databases):
    with app_environment(monkeypatch, databases[0]):
        monkeypatch.setenv("MOR_COPY_URL", f"duckdb:///{databases[1]}")  # as an operator configures it
        yield


def test_copy_gives_the_same_report_and_shows_its_freshness(databases):
    check_copy(clean(open_app(QUERY)), ANALYTICS, calls=32)   # every record of the fixture


def test_a_missing_copy_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MOR_COPY_URL", f"duckdb:///{tmp_path}/absent.duckdb")
    at = healthy(click(choose_source(open_app(), ANALYTICS), "Check freshness"))
    assert any("does not exist" in w.value and "sync" in w.value for w in at.warning)
