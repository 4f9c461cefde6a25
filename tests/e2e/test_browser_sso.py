"""Single sign-on in a real browser: `streamlit run app.py` with an [auth] section pointing at
a real OpenID Connect provider on loopback (oidc-provider-mock, in a thread of this process),
driven through Debian's Chromium by Playwright as tests/e2e/test_browser.py does.

The app's database is the small one with e-mail addresses (tests/test_app_sso.py): respro,
the Reseller PRO, has Respro@Example.com; on 2024-03-15 his report counts his users' calls
25-28 (4 records, Rita's and Kowalski's) and nobody else's. The provider knows him as
respro@example.com with a verified address, and stranger@example.com (no MOR user's) with an
unverified one. The secrets file is written to a temporary folder and named by
--secrets.files: the working tree's .streamlit/ is left alone.
"""
from __future__ import annotations

import re
import threading
from urllib.parse import urlencode

import pytest

from tests.e2e import test_browser as shared
from tests.e2e.test_browser import (
    RUN_DIR,
    _environment,
    _free_port,
    report_caption,
    streamlit_server,
    wait_for_run,
)
from tests.fixture_small import FROM, TILL
from tests.test_app_sso import build_sso_sqlite

pytestmark = pytest.mark.e2e
browser, page = shared.browser, shared.page
DAY = {"from": str(FROM), "till": str(TILL)}
RESPRO = "respro@example.com"
STRANGER = "stranger@example.com"
CLIENT_SECRET = "e2e-client-secret-never-shown"


@pytest.fixture(scope="module")
def provider():
    """oidc-provider-mock on 127.0.0.1 (a free port); its base URL."""
    mock = pytest.importorskip("oidc_provider_mock")
    import werkzeug.serving

    users = [mock.User(sub=RESPRO, claims={"email": "RESPRO@example.com", "email_verified": True}),
             mock.User(sub=STRANGER, claims={"email": STRANGER, "email_verified": False})]
    server = werkzeug.serving.make_server("127.0.0.1", 0, mock.app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The app's database, secrets file and log (streamlit.log)."""
    return tmp_path_factory.mktemp("e2e_sso")


@pytest.fixture(scope="module")
def server(provider, folder):
    """The app with [auth] pointing at the provider, on the database with e-mails."""
    db = build_sso_sqlite(folder / "mor_sso.sqlite")
    port = _free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "e2e-cookie-secret-0123456789abcdef"\n'
        'client_id = "mor-reports"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    with streamlit_server(_environment(db), folder / "streamlit.log", "--secrets.files", str(secrets),
                          port=port) as base:
        yield base


def provider_signs_in(page, email: str) -> None:
    """On the provider's authorization form: the subject typed in, as a person would."""
    page.wait_for_url("**/oauth2/authorize**")
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()


def sso_button(page):
    return page.get_by_test_id("stMain").get_by_role("button", name="Sign in with 127.0.0.1")


def test_sso_signs_in_the_reseller_pro_with_that_email_and_out_again(server, page, folder):
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(main.get_by_role("textbox", name="Username")).to_be_visible()   # the form stays
    assert CLIENT_SECRET not in page.content()
    sso_button(page).click()
    provider_signs_in(page, RESPRO)

    # Back in the app, signed in as the one MOR user with that e-mail, as by his password.
    page.wait_for_url(f"{server}/**")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Signed in as respro · Reseller PRO")
    wait_for_run(page)
    # A link opened in this browser later: the provider's cookie signs him in again.
    page.goto(f"{server}/?{urlencode(DAY)}")
    expect(sidebar).to_contain_text("Signed in as respro · Reseller PRO")
    caption = report_caption(page)
    expect(caption).to_contain_text("acting as respro")
    expect(caption).to_contain_text("4 rows")              # his users' calls 25-28
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_contain_text("Rita")
    expect(grid).to_contain_text("Kowalski")
    assert "John Smith" not in grid.inner_text()
    assert sidebar.get_by_role("combobox", name="View as").count() == 0
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_sso.png"))

    # Signing out ends the provider's sign-in too (its end-session page), then the sign-in page.
    sidebar.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{server}/**")
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    wait_for_run(page)
    expect(sso_button(page)).to_be_visible()
    assert page.get_by_test_id("stSidebar").count() == 0
    logged = (folder / "streamlit.log").read_text().lower()
    assert CLIENT_SECRET not in logged and RESPRO not in logged


def test_an_unverified_email_gets_no_access_and_another_account_may_be_tried(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    sso_button(page).click()
    provider_signs_in(page, STRANGER)
    page.wait_for_url(f"{server}/**")
    main = page.get_by_test_id("stMain")
    refusal = main.get_by_test_id("stAlert").filter(has_text="has not verified your e-mail address")
    expect(refusal).to_be_visible()
    # As written, a word joiner before the @ keeps it from becoming a link.
    expect(main).to_contain_text(re.compile(r"signed you in as stranger\u2060?@example\.com"))
    assert page.get_by_test_id("stSidebar").count() == 0
    main.get_by_role("button", name="Use another account").click()
    page.wait_for_url("**/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{server}/**")
    expect(sso_button(page)).to_be_visible()
    wait_for_run(page)
    assert refusal.count() == 0                       # the refused identity is forgotten
    sso_button(page).click()
    provider_signs_in(page, RESPRO)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as respro · Reseller PRO")
