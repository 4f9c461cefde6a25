"""Drill-down in a real browser (Debian's Chromium through Playwright, as tests/e2e/test_browser.py).

The admin opens 2024-03-15 by originator (tests/fixture_small.py), ticks the first row of the
table (originator 2, "John Smith": the rows are ordered by originator id) and drills into it:
the report becomes originator × destination group for originator 2 alone, two rows
(Lithuania Fixed: calls 4, 30, 31; Lithuania Mobile: calls 1, 2, 3, 5, 6), the URL carries
the filter and grouping, and the breadcrumbs go back.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest

from tests.e2e import test_browser as shared
from tests.e2e.test_browser import RUN_DIR, header, report_caption, sign_in, table_headers, wait_for_run
from tests.fixture_small import FROM, TILL

pytestmark = pytest.mark.e2e
# The same server, browser and page fixtures, on the small database.
browser, page, server, small_db = shared.browser, shared.page, shared.server, shared.small_db
BY_USER = {"from": str(FROM), "till": str(TILL), "group_by_user": "1"}
ROW_PIXELS = 35     # st.dataframe's row height, the header's too


def test_drill_into_a_row_and_back(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/?{urlencode(BY_USER)}")
    sign_in(page, "admin")
    caption = report_caption(page)
    expect(caption).to_contain_text("7 rows")     # originators 2, 3, 4, 7, 8, 11 and 99
    main = page.get_by_test_id("stMain")
    drill = main.get_by_role("button", name="Drill into")
    expect(drill).to_be_disabled()
    expect(header(page, 0)).to_have_text("Originator")               # ids hidden by default
    assert table_headers(page)[:2] == ["Originator", "Calls"]

    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    # The first row's selection box: the grid's leftmost column, one row below the header.
    page.mouse.click(box["x"] + 15, box["y"] + ROW_PIXELS + ROW_PIXELS / 2)
    wait_for_run(page)
    expect(drill).to_be_enabled()
    john = re.compile(r"^Originator\W+John Smith$")   # a word joiner follows the colon
    selected = main.get_by_test_id("stCaptionContainer").filter(has_text=john)
    expect(selected).to_be_visible()
    drill.click()

    page.wait_for_function("() => new URLSearchParams(location.search).get('s_originator_id') === '2'")
    wait_for_run(page)
    expect(caption).to_contain_text("2 rows")
    expect(drill).to_be_disabled()          # the new table selects nothing
    query = dict(parse_qsl(urlparse(page.url).query))
    assert query == {"u": "admin", **BY_USER, "group_by_dst_group": "1", "s_originator_id": "2"}
    expect(header(page, 1)).to_have_text("Destination group")
    assert table_headers(page)[:3] == ["Originator", "Destination group", "Calls"]
    expect(grid).to_contain_text("Lithuania Fixed")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RUN_DIR / "browser_drilled.png"))

    expect(main.get_by_text(john)).to_be_visible()   # the breadcrumb
    main.get_by_role("button", name="Report").click()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('s_originator_id')")
    wait_for_run(page)
    expect(caption).to_contain_text("7 rows")
