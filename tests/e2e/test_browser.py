"""The app in a real browser: `streamlit run app.py` driven by Playwright in Debian's Chromium.

The server reads the small hand-written MOR database (tests/fixture_small.py) as its demo
database (MOR_DEMO_PATH), the one source configured; every user's password is "demo".
One test signs in as the Reseller PRO, changes a group-by and a filter in the sidebar, sees
the table change, downloads the CSV, and compares it byte for byte with
`python -m core report --user respro --format csv` for the parameters the page's URL holds;
another signs in as the admin and opens the Data source page, which has no text box and
reads nothing before its button. Screenshots go to tests/.run/ (git-ignored).

Chromium is Debian's (/usr/bin/chromium; `make system-deps` installs it): Playwright cannot
download its own browser here. Deselect with `-m "not e2e"`.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest

from tests.fixture_small import build_small_sqlite, epoch

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / "tests" / ".run"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
START_TIMEOUT = 60      # seconds for the server to answer its health check
UI_TIMEOUT = 30_000     # milliseconds for anything on the page
THREE_DAYS = {"from": str(epoch("2024-03-14 00:00:00")), "till": str(epoch("2024-03-16 23:59:59"))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOR_", "STREAMLIT_"))}
    env["MOR_DEMO_PATH"] = str(db)
    return env


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return build_small_sqlite(tmp_path_factory.mktemp("e2e") / "mor_small.sqlite")


@pytest.fixture(scope="module")
def server(small_db, tmp_path_factory):
    """`streamlit run app.py` on a free port; always stopped at the end."""
    log_path = tmp_path_factory.mktemp("e2e_log") / "streamlit.log"
    with streamlit_server(_environment(small_db), log_path) as base:
        yield base


@contextlib.contextmanager
def streamlit_server(env: dict, log_path: Path, *options: str, port: int | None = None):
    """`streamlit run app.py` on `port` (a free one), with more command-line `options`;
    yields its base URL once it answers; always stopped at the end."""
    port = port or _free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *options]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer within {START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # show Playwright's own words: they name what is missing
            pytest.fail(f"Chromium ({CHROMIUM}) failed to launch:\n{exc}", pytrace=False)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(UI_TIMEOUT)
    from playwright.sync_api import expect
    expect.set_options(timeout=UI_TIMEOUT)  # the first run imports pandas, plotly, SQLAlchemy
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_for_run(page) -> None:
    """Until the script run that is under way has finished."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def sign_in(page, username: str, password: str = "demo") -> None:
    """The sign-in page, as a person fills it; then the first page after it."""
    from playwright.sync_api import expect

    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.get_by_test_id("stSidebar").count() == 0       # nothing before signing in
    main.get_by_role("textbox", name="Username").fill(username)
    main.get_by_label("Password", exact=True).fill(password)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_sign_in.png"))
    main.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {username}")
    wait_for_run(page)


def report_caption(page):
    # "2024-03-14 00:00:00 – … (UTC) · acting as respro · USD · 4 rows · 0.01 s"
    return page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").filter(has_text="acting as")


def header(page, n: int):
    """The n-th column header of the report table (the grid's accessible table)."""
    return page.get_by_test_id("stDataFrame").first.locator("th").nth(n)


def table_headers(page) -> list[str]:
    return page.get_by_test_id("stDataFrame").first.locator("th").all_inner_texts()


def cli_csv(db: Path, user: str, pairs: list[tuple[str, str]]) -> bytes:
    command = [sys.executable, "-m", "core", "report", "--db", f"sqlite:///{db}", "--user", user,
               "--format", "csv", *(f"{k}={v}" for k, v in pairs if k != "u")]
    done = subprocess.run(command, cwd=ROOT, env=_environment(db), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_group_by_and_filter_then_download_csv(server, page, small_db):
    from playwright.sync_api import expect

    # A link naming the admin, opened by the Reseller PRO: it runs as him, in his scope.
    page.goto(f"{server}/?{urlencode({'u': 'admin', **THREE_DAYS})}")
    sign_in(page, "respro")
    caption = report_caption(page)
    expect(caption).to_contain_text("acting as respro")
    # His users' calls 25-28 in MOR's default grouping: Rita twice, Kowalski twice.
    expect(caption).to_contain_text("4 rows")
    # ID columns are hidden until asked for (issue 13): names first.
    expect(header(page, 0)).to_have_text("Originator")
    assert table_headers(page)[:2] == ["Originator", "Terminator"]
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_initial.png"))

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stCheckbox").filter(has_text=re.compile(r"^Day$")).click()
    sidebar.get_by_test_id("stExpander").filter(has_text="Filters").locator("summary").click()
    # An id filter left alone reads "All", not an empty choice.
    expect(sidebar.get_by_role("combobox", name="Device", exact=True)).to_have_attribute("placeholder", "All")
    sidebar.get_by_role("textbox", name="Source number", exact=True).fill("37069000007")
    sidebar.get_by_role("button", name="Run report").click()

    page.wait_for_function("() => new URLSearchParams(location.search).get('group_by_day') === '1'")
    wait_for_run(page)
    expect(caption).to_contain_text("1 rows")  # Rita's calls 25 and 26, both on the 15th
    expect(header(page, 0)).to_have_text("Day")
    assert table_headers(page)[:3] == ["Day", "Calls", "Answered"]
    query = dict(parse_qsl(urlparse(page.url).query))
    assert query == {"u": "respro", **THREE_DAYS, "group_by_day": "1", "a_src": "37069000007"}

    page.screenshot(path=str(RUN_DIR / "browser_aggregates.png"))

    download_button = page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV")
    with page.expect_download() as info:
        download_button.get_by_role("button").click()
    download = info.value
    assert download.suggested_filename == "aggregate_20240314-20240316_USD.csv"
    from_browser = Path(download.path()).read_bytes()

    expected = cli_csv(small_db, "respro", list(parse_qsl(urlparse(page.url).query)))
    assert from_browser == expected
    lines = from_browser.decode().splitlines()
    assert lines[0].startswith("day,total_calls,answered_calls,billed_originator,")
    # Rita's calls 25 (1.20) and 26 (2.40); his cost 0.50 on his own provider, 1.80 (the
    # admin's reseller price) on the admin's ProvB.
    assert [line.split(",")[:5] for line in lines[1:]] == [
        ["2024-03-15", "2", "2", "3.6", "2.3"], ["Total", "2", "2", "3.6", "2.3"]]


def test_data_source_page_chooses_by_name_and_reads_only_on_a_button(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    sign_in(page, "admin")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data source").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("radiogroup").first).to_contain_text("Demo database")
    wait_for_run(page)
    # No field for a URL, host, secret or driver option: no text box at all on this page.
    assert main.get_by_test_id("stTextInput").count() == 0
    assert main.get_by_test_id("stMetric").count() == 0  # nothing read yet
    main.get_by_role("button", name="Check freshness").click()
    expect(main.get_by_test_id("stMetric").filter(has_text="Call records")).to_contain_text("32")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_data_source.png"))
