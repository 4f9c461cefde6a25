"""The app in remote-API mode renders the same report as in database mode.

A real MOR-compatible server (core.server on waitress) answers on loopback over the same
SQLite database that database mode reads; the operator configures it in [mor_api] and the
app is switched to it through the Data source page, as a user would.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pytest
from sqlalchemy import create_engine

from core.server import create_app, read_only
from core.sources.config import MOR_API
from core.sources.db import DatabaseSource
from tests.app_driver import (
    app_environment,
    apply_source,
    choose_source,
    clean,
    click,
    healthy,
    open_app,
    use_source,
)
from tests.test_login_api import with_passwords
from tests.test_mor_api import FROM, SECRET, SETTINGS, TILL, build_db, mor_server, serving

QUERY = {"from": str(FROM), "till": str(TILL), "profit_show": "1", "a_currency": "EUR"}


@pytest.fixture(scope="module")
def mor_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("remote") / "mor.sqlite"
    with_passwords(build_db(path))    # the admin signs in with "demo"
    return path


@pytest.fixture(autouse=True)
def app_env(monkeypatch, mor_db):
    with app_environment(monkeypatch, mor_db):
        yield


def api_secrets(base: str, secret: str = SECRET) -> dict:
    """secrets.toml's [mor_api], as an operator configures it."""
    return {"mor_api": {"base": base, "username": "admin", "secret": secret}}


@pytest.mark.parametrize("grouping", [{}, {"group_by_day": "1", "group_by_provider": "1"},
                                      {"group_by_dst": "1", "a_dst": "370%"}])
def test_remote_mode_renders_the_same_table(mor_db, grouping):
    query = {**QUERY, **grouping}
    database_mode = clean(open_app(query))
    expected_rows = database_mode.dataframe[0].value
    expected_totals = database_mode.dataframe[1].value
    assert len(expected_rows) > 0  # the comparison means something

    with mor_server(f"sqlite:///{mor_db}") as base:
        remote = clean(use_source(clean(open_app(query, secrets=api_secrets(base))), MOR_API))
        assert remote.session_state["source_name"] == MOR_API
        assert remote.query_params["profit_show"] == "1"  # the report survived the switch
        pd.testing.assert_frame_equal(remote.dataframe[0].value.reset_index(drop=True),
                                      expected_rows.reset_index(drop=True), check_exact=False)
        pd.testing.assert_frame_equal(remote.dataframe[1].value.reset_index(drop=True),
                                      expected_totals.reset_index(drop=True), check_exact=False)
        # Names cannot be listed over the API: the id filters ask for numbers instead.
        assert any(w.key == "w_s_originator_id" for w in remote.sidebar.number_input)


def test_remote_mode_wrong_secret_is_a_message(mor_db):
    with mor_server(f"sqlite:///{mor_db}") as base:
        at = choose_source(open_app(QUERY, secrets=api_secrets(base, "not-the-secret")), MOR_API)
        at = apply_source(at)   # the admin's password is checked there, and the report tried
        messages = " ".join(e.value for e in at.error)
        assert "Incorrect hash" in messages and "not-the-secret" not in messages


# --- the secret goes to the configured server, and only there ------------------------------------

class Recorder:
    """WSGI middleware keeping the `hash` of every request the server receives."""

    def __init__(self, app):
        self.app, self.hashes = app, []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        fields = {**parse_qs(environ.get("QUERY_STRING", "")), **parse_qs(body.decode())}
        self.hashes.append(fields.get("hash", [""])[0])
        return self.app(environ, start_response)


@contextlib.contextmanager
def listener():
    """Another loopback port that accepts connections and keeps what they send."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.1)
    received, stop = [], threading.Event()

    def run():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                received.append(conn.recv(65536))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def test_the_api_secret_goes_to_the_configured_server_only(mor_db):
    sha1_of_secret = hashlib.sha1(SECRET.encode()).hexdigest()  # aggregate_get hashes no parameter
    source = DatabaseSource(read_only(create_engine(f"sqlite:///{mor_db}")))
    server = Recorder(create_app(source, SETTINGS, "/billing"))
    with serving(server) as root, listener() as (elsewhere, received):
        at = choose_source(open_app(QUERY, secrets=api_secrets(root + "/billing")), MOR_API)
        assert server.hashes == []                  # choosing connects to nothing
        # No field on the page could send it anywhere else: its one text box is the admin's
        # password on that server.
        assert [b.proto.type == b.proto.PASSWORD for b in at.main.text_input] == [True]
        click(at, "Test connection")
        assert any("admin may run aggregate_get" in m.value for m in at.success)
        assert len(server.hashes) == 1
        clean(use_source(at, MOR_API))
        assert len(at.dataframe[0].value) > 0
        # api/login (the admin's password checked there on switching) carries no hash.
        assert len(server.hashes) >= 2 and set(server.hashes) - {""} == {sha1_of_secret}
        # A visitor's address bar cannot point it elsewhere either: unknown parameters are refused.
        at = healthy(open_app({**QUERY, "base": elsewhere, "server": elsewhere},
                              secrets=api_secrets(root + "/billing")))
        assert any("base" in e.value or "server" in e.value for e in at.error)
    source.engine.dispose()
    assert received == []                           # the other listener heard nothing


# --- signing in over MOR's login API ------------------------------------------------------------

def test_signing_in_over_the_api_then_reports_run_as_that_user(tmp_path, monkeypatch):
    from core.params import parse_params
    from tests.test_mor_api import SETTINGS as SERVER_SETTINGS

    db = tmp_path / "api.sqlite"
    with_passwords(build_db(db, reseller_key=None))   # respro's password is "secret"
    monkeypatch.setenv("MOR_SOURCE", MOR_API)
    expected = DatabaseSource(f"sqlite:///{db}").run(parse_params({**QUERY, "u": "respro"}), SERVER_SETTINGS)
    assert 0 < expected.totals["total_calls"]
    with mor_server(f"sqlite:///{db}") as base:
        at = healthy(open_app(QUERY, secrets=api_secrets(base), user="respro", password="demo"))
        assert "Wrong username or password" in at.error[0].value and "signed_in" not in at.session_state
        at = clean(open_app({**QUERY, "u": "admin"}, secrets=api_secrets(base), user="respro",
                            password="secret"))
        assert at.session_state["source_name"] == MOR_API
        assert at.session_state["report_params"].u == "respro" and at.query_params["u"] == "respro"
        assert at.dataframe[1].value.iloc[0]["total_calls"] == expected.totals["total_calls"]
        assert len(at.dataframe[0].value) == len(expected.rows)
        assert any("Signed in as **respro** · as MOR decides" in m.value for m in at.sidebar.markdown)
        # No role is known over the API, so no one gets the admin's settings or view-as.
        assert not [w for w in at.sidebar.selectbox if w.key == "w_u"]
        at.switch_page("app_pages/data_source.py")
        healthy(at.run())
        assert at.main.radio.len == 0 and at.main.button.len == 0
        # A plain user is refused at sign-in with MOR's Access Denied.
        at = healthy(open_app(QUERY, secrets=api_secrets(base), user="plain"))
        assert "Access Denied" in at.error[0].value and "signed_in" not in at.session_state
