"""MOR's api/login on the compatible server (core.server), as a plain HTTP client sees it.

Passwords are stored as MOR stores them; the digests below are written out by hand.
"""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import create_engine, update
from sqlalchemy.pool import NullPool

from core.schema import users
from tests.test_mor_api import build_db, mor_server

DEMO_SHA1 = "89e495e7941cf9e40e6980d14a16bf023ccd4c91"        # sha1("demo")
SECRET_SHA1 = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"      # sha1("secret")
OK = "<status>ok</status>"
FAILED = "<status>failed</status>"


def with_passwords(url: str, blocked: tuple[str, ...] = ()) -> str:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(update(users).values(password=DEMO_SHA1))
        conn.execute(update(users).where(users.c.username == "respro").values(password=SECRET_SHA1))
        for name in blocked:
            conn.execute(update(users).where(users.c.username == name).values(blocked=1))
    engine.dispose()
    return url


@pytest.fixture
def login_url(tmp_path):
    url = with_passwords(build_db(tmp_path / "mor.sqlite"), blocked=("john",))
    with mor_server(url) as base:
        yield base + "/api/login"


def login(url, method="post", **form):
    with requests.Session() as session:
        if method == "get":
            return session.get(url, params=form, timeout=10)
        return session.post(url, data=form, timeout=10)


def test_right_credentials_answer_ok_in_mors_words(login_url):
    response = login(login_url, u="respro", p="secret")
    assert response.status_code == 200
    assert response.text == ('<?xml version="1.0" encoding="UTF-8"?>\n<action>\n'
                             "  <name>login</name>\n  <status>ok</status>\n</action>\n")
    assert OK in login(login_url, u="admin", p="demo").text
    # MOR's login asks for credentials only; what a plain user may see is decided later.
    assert OK in login(login_url, u="plain", p="demo").text


@pytest.mark.parametrize("form", [
    dict(u="respro", p="demo"), dict(u="admin", p="Demo"), dict(u="ghost", p="demo"),
    dict(u="admin", p=""), dict(u="admin"), dict(p="demo"), dict(u="john", p="demo"),
    dict(u="admin", p=DEMO_SHA1),
])
def test_wrong_unknown_or_blocked_answer_failed_alike(login_url, form):
    assert login(login_url, **form).text.count(FAILED) == 1


def test_get_is_refused_unless_allowed(tmp_path):
    url = with_passwords(build_db(tmp_path / "get.sqlite"))
    with mor_server(url) as base:
        assert "GET Requests are disabled" in login(base + "/api/login", "get", u="admin", p="demo").text
    url = with_passwords(build_db(tmp_path / "get2.sqlite", {"Allow_GET_API": "1"}))
    with mor_server(url) as base:
        assert OK in login(base + "/api/login", "get", u="admin", p="demo").text


def test_the_api_switch_applies_to_login(tmp_path):
    url = with_passwords(build_db(tmp_path / "off.sqlite", {"Allow_API": "0"}))
    with mor_server(url) as base:
        assert "API Requests are disabled" in login(base + "/api/login", u="admin", p="demo").text


def test_head_and_other_methods_are_refused(login_url):
    with requests.Session() as session:
        for method in ("HEAD", "PUT", "OPTIONS", "DELETE"):
            assert session.request(method, login_url, data={"u": "admin", "p": "demo"},
                                   timeout=10).status_code == 405


def test_five_failures_lock_the_username_even_for_the_right_password(login_url):
    for _ in range(5):
        assert FAILED in login(login_url, u="admin", p="guess").text
    assert FAILED in login(login_url, u="admin", p="demo").text
    # Another username from this address is locked too (the address used up its tries) ...
    assert FAILED in login(login_url, u="respro", p="secret").text


def test_a_success_resets_the_count(login_url):
    for _ in range(4):
        assert FAILED in login(login_url, u="admin", p="guess").text
    assert OK in login(login_url, u="admin", p="demo").text
    for _ in range(4):
        assert FAILED in login(login_url, u="admin", p="guess").text
    assert OK in login(login_url, u="admin", p="demo").text
