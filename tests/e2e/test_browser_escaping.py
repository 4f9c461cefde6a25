"""In a real browser: Markdown from a link and HTML from a name in MOR's tables show as text.

The server is tests/e2e/test_browser.py's (`streamlit run app.py`, Debian's Chromium), on the
small database with terminator 1 named as an HTML link. Nothing on the page may link to or
load from 127.0.0.1:9 (a port nothing answers on), and the injected text reads as typed.
"""
from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

import pytest

from tests.e2e import test_browser as shared
from tests.e2e.test_browser import RUN_DIR, sign_in, wait_for_run
from tests.fixture_small import FROM, TILL, build_small_sqlite

pytestmark = pytest.mark.e2e
# The same server, browser and page fixtures; the server reads this module's small_db.
browser, page, server = shared.browser, shared.page, shared.server

A_DST = "[Session expired](http://127.0.0.1:9/x) ![x](http://127.0.0.1:9/y)"
TERMINATOR = '<a href="http://127.0.0.1:9/">x</a>'
JOINER = "\u2060"   # invisible; breaks the patterns Streamlit matches after parsing

# Every element that would follow or fetch 127.0.0.1:9: links (HTML and SVG) and images.
TO_PORT_9 = """() => [...document.querySelectorAll('*')].filter(e =>
    ['href', 'src', 'xlink:href', 'srcset'].some(a => (e.getAttribute(a) || '').includes('127.0.0.1:9')))
    .map(e => e.outerHTML.slice(0, 200))"""


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    path = build_small_sqlite(tmp_path_factory.mktemp("e2e_escaping") / "mor_small.sqlite")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE terminators SET name = ? WHERE id = 1", (TERMINATOR,))
    return path


def shown_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text().replace(JOINER, "")


def test_markdown_in_a_link_is_text(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/?{urlencode({'from': FROM, 'till': TILL, 'a_dst': A_DST})}")
    sign_in(page, "admin")
    info = page.get_by_test_id("stMain").get_by_test_id("stAlert").filter(has_text="No calls match")
    expect(info).to_be_visible()
    wait_for_run(page)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_escaping_link.png"))
    assert f"with a_dst={A_DST}." in shown_text(page)
    assert page.evaluate(TO_PORT_9) == []
    assert info.locator("a, img").count() == 0


def test_html_in_a_name_is_text_in_the_charts(server, page):
    from playwright.sync_api import expect

    query = {"from": FROM, "till": TILL, "group_by_terminator": 1}
    page.goto(f"{server}/?{urlencode(query)}")
    sign_in(page, "admin")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Charts").click()
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_contain_text(TERMINATOR)      # the tick label reads as the name is written
    wait_for_run(page)
    page.screenshot(path=str(RUN_DIR / "browser_escaping_chart.png"))
    assert page.evaluate(TO_PORT_9) == []
