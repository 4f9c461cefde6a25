"""Single sign-on in the app (AppTest): secrets.toml's [auth] offers st.login, and the identity
provider's claims (AppTest.user, as st.user) sign in the one MOR user with that e-mail.

The database is the small hand-written one (tests/fixture_small.py) with e-mail addresses
added by `build_sso_sqlite`: admin has admin@example.com (his report counts 27 records);
respro (the Reseller PRO, whose report on 2024-03-15 counts his users' calls 25-28: 4
records) has Respro@Example.com; jsmith1 (a plain user), partner1
(blocked), resplain (a reseller without Reseller PRO) and acc (the accountant) have their
own; jsmith2 and noname share twins@example.com. The browser test of the whole round trip
through a real provider is tests/e2e/test_browser_sso.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.pool import NullPool
from streamlit.testing.v1 import AppTest

from core.schema import users
from core.signin import NO_SUCH_EMAIL, SEVERAL_EMAILS
from core.sources.config import MOR_API
from tests.app_driver import APP, app_environment, clean, healthy, sign_in
from tests.fixture_small import FROM, TILL, build_small_sqlite

DAY = {"from": str(FROM), "till": str(TILL)}
CLIENT_SECRET = "never-shown-5b1f"
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "cookie-secret-0123456789",
        "client_id": "mor-reports", "client_secret": CLIENT_SECRET,
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
EMAILS = {"admin": "admin@example.com", "respro": "Respro@Example.com", "jsmith1": "jsmith@example.com",
          "partner1": "partner@example.com", "resplain": "resplain@example.com", "acc": "acc@example.com",
          "jsmith2": "twins@example.com", "noname": "twins@example.com"}


def build_sso_sqlite(path: Path) -> Path:
    """The small database with the e-mail addresses above (and partner1 blocked, as there)."""
    build_small_sqlite(path)
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as conn:
        for username, email in EMAILS.items():
            conn.execute(update(users).where(users.c.username == username).values(email=email))
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def sso_db(tmp_path_factory) -> Path:
    return build_sso_sqlite(tmp_path_factory.mktemp("sso") / "mor_sso.sqlite")


@pytest.fixture(autouse=True)
def app_env(monkeypatch, sso_db):
    with app_environment(monkeypatch, sso_db):
        yield


def opened(claims: dict | None = None, secrets: dict | None = None) -> AppTest:
    """The app with [auth] configured (or `secrets`), the identity provider having signed in
    `claims` (None: no one)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(secrets if secrets is not None else {"auth": AUTH})
    at.user = {"is_logged_in": True, **claims} if claims is not None else {"is_logged_in": False}
    for name, value in DAY.items():
        at.query_params[name] = value
    return healthy(at.run())


def shown(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "title", "text"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [b.label for b in at.button]
    return "\n".join(parts)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_auth_offers_its_providers_beside_the_form_and_never_the_secret():
    at = opened(secrets={"auth": {**AUTH, "google": {"client_id": "g", "client_secret": CLIENT_SECRET,
                                                     "server_metadata_url": "https://accounts.google.com/x"}}})
    assert [t.value for t in at.title] == ["Sign in"]
    labels = [b.label for b in at.button]
    assert "Sign in with login.example.com" in labels and "Sign in with Google" in labels
    assert at.text_input.len == 2                      # the password form stays
    assert CLIENT_SECRET not in shown(at) and "cookie-secret" not in shown(at)
    assert "signed_in" not in at.session_state


def test_an_auth_section_without_a_provider_says_what_is_missing_on_the_click():
    at = opened(secrets={"auth": {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "c" * 32}})
    [button] = [b for b in at.button if b.label == "Sign in with single sign-on"]
    button.click()
    healthy(at.run())
    [error] = errors(at)
    assert "Single sign-on is not configured correctly" in error and "[auth]" in error
    assert at.text_input.len == 2 and "signed_in" not in at.session_state


def test_without_auth_there_is_no_single_sign_on():
    at = opened(secrets={})
    assert not [b.label for b in at.button if b.label.startswith("Sign in with")]


def test_a_verified_email_signs_in_its_reseller_pro_as_his_password_would():
    at = opened({"email": "respro@example.com", "email_verified": True, "provider": "default"})
    assert errors(at) == []
    user = at.session_state["signed_in"]
    assert (user.username, user.role) == ("respro", "Reseller PRO")
    assert at.session_state["sso"] == "default"
    assert any("Signed in as **respro** · Reseller PRO" in m.value for m in at.sidebar.markdown)
    assert at.dataframe[1].value.iloc[0]["total_calls"] == 4        # his users' calls 25-28
    assert set(at.dataframe[0].value["originator_id"]) == {7, 8}
    assert at.session_state["report_params"].u == "respro"


def test_the_admin_signed_in_by_his_provider_views_as_the_reseller_pro():
    at = opened({"email": "admin@example.com", "email_verified": True})
    assert at.dataframe[1].value.iloc[0]["total_calls"] == 27      # everyone's, by hand
    [view_as] = [w for w in at.sidebar.selectbox if w.key == "w_u"]
    view_as.set_value("respro")
    [run] = [b for b in at.sidebar.button if b.label == "Run report"]
    run.click()
    healthy(at.run())
    assert any(i.value.startswith("Viewing as **respro** (Reseller PRO)") for i in at.info)
    assert at.dataframe[1].value.iloc[0]["total_calls"] == 4


def test_an_email_without_the_verified_claim_is_taken_as_the_provider_gives_it():
    at = opened({"email": "RESPRO@example.com"})
    assert at.session_state["signed_in"].username == "respro"


@pytest.mark.parametrize("claims, message", [
    ({"email": "respro@example.com", "email_verified": False}, "has not verified your e-mail"),
    ({"email": "respro@example.com", "email_verified": "false"}, "has not verified your e-mail"),
    ({"email": "stranger@example.com", "email_verified": True}, NO_SUCH_EMAIL),
    ({"name": "No Mail"}, "gave no e-mail address"),
    ({"email": "twins@example.com"}, SEVERAL_EMAILS),
    ({"email": "partner@example.com"}, "This MOR account is blocked"),
    ({"email": "jsmith@example.com"}, "this account may not see these reports"),
    ({"email": "resplain@example.com"}, "this account may not see these reports"),
])
def test_no_single_mor_user_for_the_identity_means_no_access(claims, message):
    at = opened(claims)
    assert "signed_in" not in at.session_state
    assert at.sidebar.markdown.len == 0 and at.dataframe.len == 0
    [error] = errors(at)
    assert message in error
    healthy(at.run())                                  # said again, and still no access
    assert "signed_in" not in at.session_state and len(errors(at)) == 1
    # The way out: forget the provider's sign-in (st.logout), then any account again.
    [other] = [b for b in at.button if b.label == "Use another account"]
    other.click()
    healthy(at.run())
    assert at.user == {"is_logged_in": False}
    assert "sso_refused" not in at.session_state


def test_an_accountant_needs_the_statistics_permission_as_with_his_password(monkeypatch):
    at = opened({"email": "acc@example.com"})
    assert "Access Denied" in errors(at)[0]
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    at = opened({"email": "acc@example.com"})
    assert at.session_state["signed_in"].usertype == "accountant"


def test_mor_api_as_the_sign_in_source_says_it_cannot_look_up_an_email(monkeypatch):
    monkeypatch.setenv("MOR_SOURCE", MOR_API)
    at = opened({"email": "respro@example.com"},
                secrets={"auth": AUTH, "mor_api": {"base": "http://127.0.0.1:9/billing",
                                                   "username": "admin", "secret": "api-secret"}})
    assert "signed_in" not in at.session_state
    [error] = errors(at)
    assert "MOR's API cannot find a user by e-mail" in error


def test_signing_out_ends_the_providers_sign_in_too():
    at = opened({"email": "respro@example.com"})
    [sign_out] = [b for b in at.sidebar.button if b.label == "Sign out"]
    sign_out.click()
    healthy(at.run())
    assert at.user == {"is_logged_in": False}          # st.logout: not signed straight back in
    assert [t.value for t in at.title] == ["Sign in"] and "signed_in" not in at.session_state
    assert "sso" not in at.session_state


def test_a_password_sign_in_beside_a_refused_identity_signs_out_without_the_provider():
    at = opened({"email": "stranger@example.com"})
    assert NO_SUCH_EMAIL in errors(at)[0]
    sign_in(at, "respro")
    clean(at)
    assert at.session_state["signed_in"].username == "respro" and "sso" not in at.session_state
    [sign_out] = [b for b in at.sidebar.button if b.label == "Sign out"]
    sign_out.click()
    healthy(at.run())
    assert [t.value for t in at.title] == ["Sign in"] and "signed_in" not in at.session_state
    assert at.user == {"is_logged_in": True, "email": "stranger@example.com"}   # no logout asked
