"""Big operators' catalogues: above core.sources.MAX_LISTED the sidebar searches instead of
listing. The source's search keeps the acting user's scope exactly as choices() does (a
Reseller PRO never finds another's users, devices or providers), finds by part of a name,
a username or an id, and an empty search finds nothing. The app, on a database of 100,000
users and 150,000 devices, renders no select box longer than the threshold, and the URL
still carries the chosen id.

Who is who: tests/fixture_small.py (respro is the Reseller PRO of users 7 'Rita' and 8
'Kowalski' and devices 4 'Rita phone' and 5 'Kowalski desk'; pcust (11) belongs to the plain
reseller 6; providers ProvB (admin's, common use) and ResProv (his own) are his).
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from core.settings import Settings
from core.sources import MAX_LISTED, SEARCH_LIMIT, TooMany
from core.sources import db as db_source
from core.sources.db import DatabaseSource
from tests import fixture_small
from tests.app_driver import app_environment, clean, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

SETTINGS = Settings()


@pytest.fixture
def source(make_db):
    return DatabaseSource(make_db(fixture_small.TABLES))


# --- the source ------------------------------------------------------------------------------

def test_a_reseller_never_finds_anothers_users_devices_or_providers(source):
    def found(kind, text):
        return source.search(kind, text, "respro", SETTINGS)

    assert found("originators", "smith") == []            # the admin's John Smiths
    assert found("originators", "Paul") == []             # the plain reseller's customer
    assert found("originators", "#2") == [] and found("originators", "11") == []
    assert found("originators", "r") == [(8, "Kowalski"), (7, "Rita")]   # usernames rcust1, rcust2
    assert found("devices", "office") == [] and found("devices", "#1") == []
    assert found("devices", "desk") == [(5, "Kowalski desk")]
    assert found("providers", "prov") == [(3, "ProvB"), (5, "ResProv")]    # not ProvA1, ProvA2, …
    assert found("terminators", "carrier") == [(2, "Carrier B")]          # through ProvB only
    assert found("terminators", "r") == [(2, "Carrier B"), (3, "Reseller Term")]


def test_the_admin_finds_by_name_username_or_id_an_exact_id_first(source):
    def found(kind, text, limit=SEARCH_LIMIT):
        return source.search(kind, text, "admin", SETTINGS, limit)

    assert found("originators", "SMITH") == [(2, "John Smith"), (3, "John Smith")]   # any case
    assert found("originators", "jsmith2") == [(3, "John Smith")]                    # username
    assert found("originators", "noname") == [(4, "noname")]                         # label = username
    assert found("originators", "8") == [(8, "Kowalski")]    # id 8; no name or username holds 8
    assert found("originators", "2") == [(2, "John Smith"), (3, "John Smith"), (8, "Kowalski")]
    assert found("originators", "#7") == [(7, "Rita")]
    assert found("devices", "1002") == [(2, "SIP/1002")] and found("devices", "iax2") == [(3, "IAX2/nn")]
    three = found("originators", "a", limit=3)      # seven hold an a: the first three by name
    assert len(three) == 3 and all("a" in label.lower() for _, label in three)


def test_an_empty_search_finds_nothing_and_asks_nothing(source):
    statements = []
    from sqlalchemy import event
    event.listen(source.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert source.search("originators", "", "admin", SETTINGS) == []
    assert source.search("devices", "   ", "respro", SETTINGS) == []
    assert statements == []


def test_percent_and_underscore_are_plain_characters(source):
    assert source.search("originators", "%", "admin", SETTINGS) == []
    assert source.search("originators", "_", "admin", SETTINGS) == []
    assert source.search("originators", "j%h", "admin", SETTINGS) == []


def test_an_unknown_catalogue_is_a_clear_error(source):
    with pytest.raises(ValueError, match="no catalogue 'users'; there are originators"):
        source.search("users", "x", "admin", SETTINGS)


def test_choices_lists_up_to_the_threshold_and_counts_beyond(source, monkeypatch):
    monkeypatch.setattr(db_source, "MAX_LISTED", 6)
    admin = source.choices("admin", SETTINGS)
    assert admin["originators"] == TooMany(10)     # users 1-9 and 11
    assert admin["devices"] == TooMany(7)
    assert len(admin["providers"]) == 6 and len(admin["terminators"]) == 3
    his = source.choices("respro", SETTINGS)
    assert his["originators"] == [(7, "Rita"), (8, "Kowalski")]
    assert his["devices"] == [(4, "Rita phone"), (5, "Kowalski desk")]


# --- the app, on 100,000 users and 150,000 devices ---------------------------------------------

USERS, DEVICES = 100_000, 150_000
FIRST_BULK_ID = 1000


def big_catalogue(path: Path) -> Path:
    """The small fixture plus 100,000 users (customers of the admin, and 500 of the Reseller
    PRO) and 150,000 devices, inserted in bulk."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO users (id, username, first_name, last_name, usertype, owner_id, password, blocked) "
            "VALUES (?, ?, ?, ?, 'user', ?, '', 0)",
            ((FIRST_BULK_ID + i, f"cust{i}", f"First{i}", f"Last{i}", 5 if i < 500 else 0)
             for i in range(USERS)))
        conn.executemany(
            "INSERT INTO devices (id, user_id, name, device_type, description) VALUES (?, ?, ?, 'SIP', ?)",
            ((FIRST_BULK_ID + i, FIRST_BULK_ID + i % USERS, f"d{i}", f"Desk {i}") for i in range(DEVICES)))
    conn.close()
    return path


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    small = build_small_sqlite(tmp_path_factory.mktemp("big") / "small.sqlite")
    path = small.with_name("big.sqlite")
    shutil.copy(small, path)
    return big_catalogue(path)


@pytest.fixture
def big_app(monkeypatch, big_db):
    with app_environment(monkeypatch, big_db):
        yield


DAY = {"from": str(FROM), "till": str(TILL)}


def longest_select(at) -> int:
    return max(len(s.options) for s in at.selectbox)


def test_no_select_box_lists_more_than_the_threshold(big_app):
    at = clean(open_app(DAY))
    assert longest_select(at) <= MAX_LISTED
    finders = {t.key for t in at.sidebar.text_input}
    assert {"find_s_originator_id", "find_s_device"} <= finders
    assert "find_s_provider" not in finders                      # six providers: still a list


def run_report(at):
    [run] = [b for b in at.sidebar.button if b.label == "Run report"]
    run.click()
    return clean(at.run())


def search_and_choose(at, name: str, text: str, pick: int):
    at.sidebar.text_input(key=f"find_{name}").input(text)
    run_report(at)                                    # Enter in the box submits the form
    box = at.sidebar.selectbox(key=f"w_{name}")
    assert len(box.options) <= SEARCH_LIMIT + 2
    box.set_value(pick)
    return run_report(at)


def test_a_search_finds_within_scope_and_the_url_carries_the_id(big_app):
    at = open_app(DAY)
    at = search_and_choose(at, "s_originator_id", "Last4242", FIRST_BULK_ID + 4242)
    assert at.session_state["report_params"].s_originator_id == FIRST_BULK_ID + 4242
    assert at.query_params["s_originator_id"] == str(FIRST_BULK_ID + 4242)
    box = at.sidebar.selectbox(key="w_s_originator_id")
    assert "First4242 Last4242 (#5242)" in box.options and longest_select(at) <= MAX_LISTED


def test_a_link_with_an_id_shows_its_name_without_listing(big_app):
    at = clean(open_app({**DAY, "s_originator_id": str(FIRST_BULK_ID + 77)}))
    box = at.sidebar.selectbox(key="w_s_originator_id")
    assert box.value == FIRST_BULK_ID + 77
    assert box.options == ["All", "First77 Last77 (#1077)"]


def test_the_reseller_pros_search_stays_in_his_scope(big_app):
    at = open_app(DAY, user="respro")
    # His 500 bulk customers and Rita and Kowalski: fewer than the threshold, so a list.
    [box] = [s for s in at.sidebar.selectbox if s.key == "w_s_originator_id"]
    assert len(box.options) == 1 + 500 + 2
    assert "First499 Last499 (#1499)" in box.options and "First500 Last500 (#1500)" not in box.options


def test_an_empty_search_offers_only_all(big_app):
    at = clean(open_app(DAY))
    box = at.sidebar.selectbox(key="w_s_originator_id")
    assert box.options == ["All"]
    at.sidebar.text_input(key="find_s_originator_id").input("no such name")
    at = run_report(at)
    assert at.sidebar.selectbox(key="w_s_originator_id").options == ["All"]
    assert any("No originators match" in c.value for c in at.sidebar.caption)
