"""The app on a DuckDB analytics copy: same report as on the MOR database, and its freshness."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.sync import sync
from tests.fixture_small import FROM, TILL
from tests.small_db import build_small_sqlite

APP = str(Path(__file__).resolve().parent.parent / "app.py")
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
    monkeypatch.setenv("MOR_DEMO_PATH", str(databases[0]))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def healthy(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_copy_gives_the_same_report_and_shows_its_freshness(databases):
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in QUERY.items():
        at.query_params[name] = value
    healthy(at.run())
    expected = at.dataframe[0].value.reset_index(drop=True)
    assert len(expected) >= 1

    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    at.radio(key="source_kind").set_value("copy")
    healthy(at.run())
    [path] = [t for t in at.text_input if t.label == "Analytics copy"]
    path.set_value(f"duckdb:///{databases[1]}")
    healthy(at.run())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Call records"] == "32"  # every record of the fixture was copied
    assert metrics["Newest call"].startswith("2024-03-")
    assert metrics["Last sync (UTC)"] != "never"

    [use] = [b for b in at.button if b.label == "Use this source and these rules"]
    use.click()
    healthy(at.run())
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert at.session_state["source_choice"].kind == "copy"
    pd.testing.assert_frame_equal(at.dataframe[0].value.reset_index(drop=True), expected,
                                  check_exact=False)


def test_a_missing_copy_says_how_to_make_one(tmp_path):
    at = AppTest.from_file(APP, default_timeout=60)
    healthy(at.run())
    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    at.radio(key="source_kind").set_value("copy")
    healthy(at.run())
    [path] = [t for t in at.text_input if t.label == "Analytics copy"]
    path.set_value(f"duckdb:///{tmp_path}/absent.duckdb")
    at.run()
    assert not at.exception
    assert any("does not exist" in w.value and "sync" in w.value for w in at.warning)
