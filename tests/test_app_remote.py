"""The app in remote-API mode renders the same report as in database mode.

A real MOR-compatible server (core.server on waitress) answers on loopback over the same
SQLite database that database mode reads; the app is switched to it through the Data
source page, as a user would.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.test_api import FROM, SECRET, TILL, build_db, mor_server

APP = str(Path(__file__).resolve().parent.parent / "app.py")
QUERY = {"from": str(FROM), "till": str(TILL), "profit_show": "1", "a_currency": "EUR"}


@pytest.fixture(scope="module")
def mor_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("remote") / "mor.sqlite"
    build_db(path)
    return path


@pytest.fixture(autouse=True)
def app_env(monkeypatch, mor_db):
    monkeypatch.setenv("MOR_DEMO_PATH", str(mor_db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def healthy(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def open_app(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    return healthy(at.run())


def switch_to_api(at: AppTest, base: str) -> AppTest:
    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    at.radio(key="source_kind").set_value("api")
    healthy(at.run())
    fields = {t.label: t for t in at.text_input}
    fields["MOR server"].set_value(base)
    fields["API username"].set_value("admin")
    fields["API secret key"].set_value(SECRET)
    [use] = [b for b in at.button if b.label == "Use this source and these rules"]
    use.click()
    healthy(at.run())
    at.switch_page("app_pages/aggregates.py")
    return healthy(at.run())


@pytest.mark.parametrize("grouping", [{}, {"group_by_day": "1", "group_by_provider": "1"},
                                      {"group_by_dst": "1", "a_dst": "370%"}])
def test_remote_mode_renders_the_same_table(mor_db, grouping):
    query = {**QUERY, **grouping}
    database_mode = open_app(query)
    expected_rows = database_mode.dataframe[0].value
    expected_totals = database_mode.dataframe[1].value
    assert len(expected_rows) > 0  # the comparison means something

    with mor_server(f"sqlite:///{mor_db}") as base:
        remote = switch_to_api(open_app(query), base)
        assert remote.session_state["source_choice"].kind == "api"
        assert remote.query_params["profit_show"] == "1"  # the report survived the switch
        pd.testing.assert_frame_equal(remote.dataframe[0].value.reset_index(drop=True),
                                      expected_rows.reset_index(drop=True), check_exact=False)
        pd.testing.assert_frame_equal(remote.dataframe[1].value.reset_index(drop=True),
                                      expected_totals.reset_index(drop=True), check_exact=False)
        # Names cannot be listed over the API: the id filters ask for numbers instead.
        assert any(w.key == "w_s_originator_id" for w in remote.sidebar.number_input)


def test_remote_mode_wrong_secret_is_a_message(mor_db):
    with mor_server(f"sqlite:///{mor_db}") as base:
        at = open_app(QUERY)
        at.switch_page("app_pages/data_source.py")
        healthy(at.run())
        at.radio(key="source_kind").set_value("api")
        healthy(at.run())
        fields = {t.label: t for t in at.text_input}
        fields["MOR server"].set_value(base)
        fields["API username"].set_value("admin")
        fields["API secret key"].set_value("not-the-secret")
        [use] = [b for b in at.button if b.label == "Use this source and these rules"]
        use.click()
        at.run()
        at.switch_page("app_pages/aggregates.py")
        at.run()
        assert not at.exception
        messages = " ".join(e.value for e in at.error)
        assert "Incorrect hash" in messages and "not-the-secret" not in messages
