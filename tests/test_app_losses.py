"""The Losses page in AppTest, on tests/fixture_small.py's 2024-03-15.

By hand: grouped by destination group × terminator, the one row whose profit is negative is
destination group 0 × terminator 0: call 18 (prefix 999, group 0; ProvLoose, no terminator)
billed 0.40 and cost 0.40, call 20 (prefix 12345, no destination; provider 88, missing) billed
0.00 and cost 0.10: profit -0.10 USD over 2 calls. Every other call bills more than it costs.
"""
from __future__ import annotations

import pytest
import streamlit as st

from tests.app_driver import app_environment, clean, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

DAY = {"from": str(FROM), "till": str(TILL)}
PAGE = "app_pages/losses.py"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    return build_small_sqlite(tmp_path_factory.mktemp("losses") / "mor_small.sqlite")


@pytest.fixture(autouse=True)
def app_env(monkeypatch, small_db):
    with app_environment(monkeypatch, small_db):
        yield


def test_admin_sees_the_losing_group_with_money_lost_and_calls():
    at = clean(open_app(DAY, page=PAGE))
    assert [t.value for t in at.title] == ["Losses"]
    assert [m.value for m in at.metric] == ["0.10 USD", "2", "1"]
    rows = at.dataframe[0].value
    assert list(zip(rows["dst_group_id"], rows["terminator_id"], strict=True)) == [(0, 0)]
    assert rows["profit"].iloc[0] == pytest.approx(-0.10)
    assert [b.proto.label for b in at.get("download_button")][0] == "Download CSV"


def test_margin_threshold_adds_rows_and_keeps_the_most_lost_first():
    at = clean(open_app(DAY, page=PAGE))
    at.number_input(key="losses_margin").set_value(100.0)   # every row that bills something
    clean(at.run())
    rows = at.dataframe[0].value
    assert len(rows) > 1
    assert rows["profit"].iloc[0] == pytest.approx(-0.10)
    assert list(rows["profit"]) == sorted(rows["profit"])


def test_by_originator():
    at = clean(open_app(DAY, page=PAGE))
    at.selectbox(key="losses_by").set_value("originator")
    clean(at.run())
    # Calls 18 and 20 are originator 4's ('noname'), with his 14, 15 and 19: billed
    # 3.00 + 1.00 + 0.40 + 0.30 + 0.00 = 4.70, cost 2.00 + 0.60 + 0.40 + 0.00 + 0.10 = 3.10.
    # No originator loses money.
    assert not at.dataframe
    assert [m.value for m in at.metric] == ["0.00 USD", "0", "0"]
    assert any("No originator lost money" in s.value for s in at.success)


def test_in_the_navigation_for_the_admin_not_for_an_accountant_without_money(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    monkeypatch.setenv("MOR_ACCOUNTANT_FINANCIAL", "0")
    assert _losses_visibility(monkeypatch, "admin") == "visible"
    assert _losses_visibility(monkeypatch, "acc") == "hidden"


def test_an_accountant_without_money_reaching_the_page_is_told_why(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    monkeypatch.setenv("MOR_ACCOUNTANT_FINANCIAL", "0")
    at = open_app(DAY, user="acc", page=PAGE)     # by its address: hidden, not gone
    assert [e.value for e in at.exception] == []
    assert any("Losses are money, which this user may not see" in e.value for e in at.error)
    assert not at.dataframe and not at.metric


def test_an_accountant_with_money_sees_the_losses(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    monkeypatch.setenv("MOR_ACCOUNTANT_FINANCIAL", "1")
    at = clean(open_app(DAY, user="acc", page=PAGE))
    assert [m.value for m in at.metric] == ["0.10 USD", "2", "1"]


def _losses_visibility(monkeypatch, user: str) -> str:
    """How app.py last registered the Losses page for `user` (st.Page's visibility)."""
    seen = {}
    real = st.Page

    def recording(page, **kwargs):
        seen[kwargs.get("title")] = kwargs.get("visibility", "visible")
        return real(page, **kwargs)

    monkeypatch.setattr(st, "Page", recording)
    at = open_app(DAY, user=user)
    assert "signed_in" in at.session_state
    monkeypatch.setattr(st, "Page", real)
    return seen["Losses"]
