"""The app in remote-API mode renders the same report as in database mode.

A real MOR-compatible server (core.server on waitress) answers on loopback over the same
SQLite database that database mode reads; the app is switched to it through the Data
source page, as a user would.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.app_driver import app_environment, clean, healthy, open_app, use_source
from tests.test_mor_api import FROM, SECRET, TILL, build_db, mor_server

QUERY = {"from": str(FROM), "till": str(TILL), "profit_show": "1", "a_currency": "EUR"}


@pytest.fixture(scope="module")
def mor_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("remote") / "mor.sqlite"
    build_db(path)
    return path


@pytest.fixture(autouse=True)
def app_env(monkeypatch, mor_db):
    with app_environment(monkeypatch, mor_db):
        yield


def api_fields(base: str, secret: str = SECRET) -> dict:
    return {"MOR server": base, "API username": "admin", "API secret key": secret}


@pytest.mark.parametrize("grouping", [{}, {"group_by_day": "1", "group_by_provider": "1"},
                                      {"group_by_dst": "1", "a_dst": "370%"}])
def test_remote_mode_renders_the_same_table(mor_db, grouping):
    query = {**QUERY, **grouping}
    database_mode = clean(open_app(query))
    expected_rows = database_mode.dataframe[0].value
    expected_totals = database_mode.dataframe[1].value
    assert len(expected_rows) > 0  # the comparison means something

    with mor_server(f"sqlite:///{mor_db}") as base:
        remote = clean(use_source(clean(open_app(query)), "api", api_fields(base)))
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
        at = healthy(use_source(open_app(QUERY), "api", api_fields(base, "not-the-secret")))
        messages = " ".join(e.value for e in at.error)
        assert "Incorrect hash" in messages and "not-the-secret" not in messages
