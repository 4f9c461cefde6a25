"""Sign-in with MOR's own credentials, on every engine, and the throttle.

Digests are written out by hand (SHA1 hex of the plaintext, as MOR stores them), never
computed by the code under test.
"""
from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
from sqlalchemy.pool import NullPool

from core.errors import AccessDenied, SourceUnavailable
from core.settings import Settings
from core.signin import WRONG_CREDENTIALS, SignInRefused, Throttle, password_matches, sign_in, throttle_keys

DEMO_SHA1 = "89e495e7941cf9e40e6980d14a16bf023ccd4c91"        # sha1("demo")
UMLAUT_SHA1 = "23b74494475f5f874980b7676d511e23d886da64"      # sha1("pässword") of its UTF-8

USERS = [
    dict(id=0, username="admin", usertype="admin", password=DEMO_SHA1),
    dict(id=1, username="acc", usertype="accountant", password=DEMO_SHA1),
    dict(id=2, username="plain", usertype="user", password=DEMO_SHA1),
    dict(id=5, username="respro", usertype="reseller", own_providers=1, password=UMLAUT_SHA1),
    dict(id=6, username="resplain", usertype="reseller", own_providers=0, password=DEMO_SHA1),
    dict(id=7, username="blocked", usertype="admin", password=DEMO_SHA1, blocked=1),
    dict(id=8, username="nopass", usertype="admin", password=""),
    dict(id=9, username="upper", usertype="admin", password=DEMO_SHA1.upper()),
]


@pytest.fixture
def conn(make_db):
    engine = make_db({"users": USERS})
    with engine.connect() as connection:
        yield connection


def test_the_right_password_signs_in_as_that_user(conn):
    user = sign_in(conn, "admin", "demo", Settings())
    assert (user.id, user.username, user.usertype) == (0, "admin", "admin")
    user = sign_in(conn, "respro", "pässword", Settings())
    assert (user.id, user.role) == (5, "Reseller PRO")
    assert sign_in(conn, "upper", "demo", Settings()).id == 9    # MOR may store upper-case hex


@pytest.mark.parametrize("username, password", [
    ("admin", "wrong"), ("admin", ""), ("admin", "Demo"), ("admin", DEMO_SHA1),
    ("ghost", "demo"), ("", "demo"), ("nopass", ""), ("nopass", "x"),
])
def test_unknown_user_and_wrong_password_get_the_same_words(conn, username, password):
    with pytest.raises(SignInRefused) as caught:
        sign_in(conn, username, password, Settings())
    assert str(caught.value) == WRONG_CREDENTIALS


def test_a_blocked_user_is_refused_even_with_the_right_password(conn):
    with pytest.raises(SignInRefused, match="blocked"):
        sign_in(conn, "blocked", "demo", Settings())


@pytest.mark.parametrize("username, settings", [
    ("plain", Settings()), ("resplain", Settings()),
    ("acc", Settings(accountant_stats=False)),
])
def test_who_may_not_run_reports_gets_access_denied_in_plain_words(conn, username, settings):
    with pytest.raises(AccessDenied) as caught:
        sign_in(conn, username, "demo", settings)
    assert "may not see these reports" in str(caught.value)
    assert caught.value.hint


def test_an_accountant_with_the_permission_signs_in_with_his_money_rights(conn):
    user = sign_in(conn, "acc", "demo", Settings(accountant_stats=True, accountant_financial=False))
    assert user.usertype == "accountant" and not user.sees_money


def test_a_users_table_without_password_columns_is_named(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}", poolclass=NullPool)
    old = MetaData()
    Table("users", old, Column("id", Integer, primary_key=True), Column("username", String(50)),
          Column("usertype", String(20)), Column("own_providers", Integer))
    old.create_all(engine)
    with engine.connect() as connection, pytest.raises(SourceUnavailable) as caught:
        sign_in(connection, "admin", "demo", Settings())
    assert "password, blocked" in str(caught.value)


def test_password_matches_needs_a_stored_digest():
    assert password_matches("demo", DEMO_SHA1)
    assert not password_matches("demo", "")
    assert not password_matches("demo", None)
    assert not password_matches("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"[:-1] + "8")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_after_five_failures_within_ten_minutes_then_released():
    clock = Clock()
    throttle = Throttle(clock=clock)
    keys = throttle_keys("Admin", "session-1")
    for _ in range(5):
        throttle.check(*keys)
        throttle.failed(*keys)
        clock.now += 60
    with pytest.raises(SignInRefused, match="Too many failed sign-ins") as caught:
        throttle.check(*keys)
    assert "try again in 5 minutes" in caught.value.hint   # first failure at 1000, now 1300: 300 s left
    # Another session, same username (case-folded): still refused.
    with pytest.raises(SignInRefused):
        throttle.check(*throttle_keys("ADMIN", "session-2"))
    # Another username from the same session: refused too.
    with pytest.raises(SignInRefused):
        throttle.check(*throttle_keys("acc", "session-1"))
    # Another username from another session: free.
    throttle.check(*throttle_keys("acc", "session-2"))
    clock.now = 1000 + 600          # the first failure leaves the window
    throttle.check(*keys)


def test_failures_spread_over_more_than_ten_minutes_never_lock():
    clock = Clock()
    throttle = Throttle(clock=clock)
    for _ in range(20):
        throttle.check("user:a")
        throttle.failed("user:a")
        clock.now += 150            # at most 4 failures in any 600 s window


def test_a_success_clears_the_count():
    throttle = Throttle(clock=Clock())
    for _ in range(4):
        throttle.failed("user:a", "session:s")
    throttle.succeeded("user:a", "session:s")
    for _ in range(4):
        throttle.failed("user:a", "session:s")
    throttle.check("user:a", "session:s")
