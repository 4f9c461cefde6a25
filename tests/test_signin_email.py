"""Single sign-on's look-up: the one MOR user whose users.email an identity provider vouched
for, on every engine; refused as the password sign-in refuses.

Who is who below, by hand: respro (id 5) is the only Reseller PRO and the only user with
pro@example.com; two users share shared@example.com; the blocked admin, the plain user, the
reseller without Reseller PRO and the accountant have addresses of their own; admin has none.
"""
from __future__ import annotations

import pytest

from core.errors import AccessDenied, SourceUnavailable
from core.settings import Settings
from core.signin import NO_SUCH_EMAIL, SEVERAL_EMAILS, SignInRefused, email_from_claims, sign_in_by_email
from core.sources.mor_api import MorApiSource

USERS = [
    dict(id=0, username="admin", usertype="admin", email=""),
    dict(id=1, username="acc", usertype="accountant", email="acc@example.com"),
    dict(id=2, username="plain", usertype="user", email="plain@example.com"),
    dict(id=5, username="respro", usertype="reseller", own_providers=1, email="Pro@Example.com"),
    dict(id=6, username="resplain", usertype="reseller", own_providers=0, email="resplain@example.com"),
    dict(id=7, username="blocked", usertype="admin", email="blocked@example.com", blocked=1),
    dict(id=8, username="twin1", usertype="admin", email="shared@example.com"),
    dict(id=9, username="twin2", usertype="admin", email="SHARED@example.com"),
    dict(id=10, username="pro_like", usertype="admin", email="pro@example.com.evil"),
    dict(id=11, username="pattern", usertype="admin", email="p_r%o@example.com"),
]


@pytest.fixture
def conn(make_db):
    engine = make_db({"users": USERS})
    with engine.connect() as connection:
        yield connection


@pytest.mark.parametrize("email", ["pro@example.com", "PRO@EXAMPLE.COM", "  Pro@Example.com "])
def test_one_match_in_any_case_signs_in_as_that_user(conn, email):
    user = sign_in_by_email(conn, email, Settings())
    assert (user.id, user.username, user.role) == (5, "respro", "Reseller PRO")


def test_an_address_no_one_has_is_refused(conn):
    for email in ("nobody@example.com", "pro@example", "p%@example.com", "pro@example.co_"):
        with pytest.raises(SignInRefused) as caught:
            sign_in_by_email(conn, email, Settings())
        assert str(caught.value) == NO_SUCH_EMAIL
        assert "username and password" in caught.value.hint


def test_percent_and_underscore_are_plain_characters(conn):
    assert sign_in_by_email(conn, "P_R%O@example.com", Settings()).id == 11


def test_an_address_two_users_share_names_no_one(conn):
    with pytest.raises(SignInRefused) as caught:
        sign_in_by_email(conn, "shared@example.com", Settings())
    assert str(caught.value) == SEVERAL_EMAILS


@pytest.mark.parametrize("email", ["", "   ", None])
def test_no_address_never_matches_the_users_without_one(conn, email):
    with pytest.raises(SignInRefused, match="gave no e-mail address"):
        sign_in_by_email(conn, email, Settings())


def test_a_blocked_user_is_refused(conn):
    with pytest.raises(SignInRefused, match="blocked"):
        sign_in_by_email(conn, "blocked@example.com", Settings())


@pytest.mark.parametrize("email, settings", [
    ("plain@example.com", Settings()), ("resplain@example.com", Settings()),
    ("acc@example.com", Settings(accountant_stats=False)),
])
def test_who_may_not_run_reports_gets_the_password_sign_ins_words(conn, email, settings):
    with pytest.raises(AccessDenied) as caught:
        sign_in_by_email(conn, email, settings)
    assert str(caught.value) == "Access Denied: this account may not see these reports"
    assert caught.value.hint


def test_an_accountant_with_the_permission_signs_in_with_his_money_rights(conn):
    user = sign_in_by_email(conn, "acc@example.com",
                            Settings(accountant_stats=True, accountant_financial=False))
    assert (user.id, user.usertype, user.sees_money) == (1, "accountant", False)


def test_the_database_source_looks_up_on_its_own_connection(make_db):
    from core.sources.db import DatabaseSource
    source = DatabaseSource(make_db({"users": USERS}))
    assert source.sign_in_by_email("pro@example.com", Settings()).username == "respro"


def test_mor_api_cannot_look_up_an_email_and_says_so():
    source = MorApiSource("http://127.0.0.1:9/billing", "secret")
    with pytest.raises(SourceUnavailable, match="MOR's API cannot find a user by e-mail"):
        source.sign_in_by_email("pro@example.com", Settings())


@pytest.mark.parametrize("claims, email", [
    ({"email": " pro@example.com ", "email_verified": True}, "pro@example.com"),
    ({"email": "pro@example.com", "email_verified": "true"}, "pro@example.com"),
    ({"email": "pro@example.com"}, "pro@example.com"),       # a provider that does not say
    ({"name": "no mail"}, ""),
    ({"email": 42}, ""),
])
def test_the_email_an_identity_provider_vouches_for(claims, email):
    assert email_from_claims(claims) == email


@pytest.mark.parametrize("verified", [False, "false", "False", 0, None, ""])
def test_an_email_the_provider_says_is_unverified_is_refused(verified):
    with pytest.raises(SignInRefused, match="has not verified your e-mail address"):
        email_from_claims({"email": "pro@example.com", "email_verified": verified})
