"""Text we did not write shows as written: Markdown in Streamlit, HTML in plotly.

The helpers are checked against hostile values with the expected text written out by hand
(`J` marks the invisible WORD JOINER that breaks Streamlit's after-parse patterns); the app
through AppTest with a link's `a_dst` and a user's name; the charts with a name that is an
HTML link. tests/e2e/test_browser_escaping.py looks at the page in a real browser.
"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pandas as pd
import pytest

from core import charts
from core.escaping import markdown_text, plotly_text
from core.report import Report
from tests.app_driver import app_environment, healthy, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

J = "\u2060"
PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
DAY = {"from": str(FROM), "till": str(TILL)}
LINK = "[Session expired](http://127.0.0.1:9/x)"
IMAGE = "![x](http://127.0.0.1:9/y)"
HTML_NAME = '<a href="http://127.0.0.1:9/">x</a>'


def read(markdown: str) -> str:
    """What a person reads: CommonMark drops a backslash before ASCII punctuation; the
    joiner is invisible."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(J, "")


# --- markdown_text -----------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (LINK, rf"[Session expired\](http\:{J}//127.0.0.1\:{J}9/x)"),
    (IMAGE, rf"![x\](http\:{J}//127.0.0.1\:{J}9/y)"),
    ("[a][b] [c]", r"[a\][b] [c\]"),
    ("[x]: http://e", rf"[x]\:{J} http\:{J}//e"),
    ("<b>bold</b>", r"\<b\>bold\</b\>"),
    (":red[x]", rf"\:{J}red[x\]"),
    (":material/delete: :smile:", rf"\:{J}material/delete\:{J} \:{J}smile\:{J}"),
    ("$x$", r"\$x\$"),
    ("a\\b", r"a\\b"),
    ("**b** _i_ `c` ~s~", r"\*\*b\*\* \_i\_ \`c\` \~s\~"),
    ("group_by_day snake_ _x", r"group_by_day snake\_ \_x"),
    ("# 1. - + > |", r"\# 1. - + \> \|"),
    ("- item", r"\- item"),
    ("+ item", r"\+ item"),
    ("=== x", r"\=== x"),
    ("12. first", r"12\. first"),
    ("3) third", r"3\) third"),
    ("  padded  ", "padded"),
    ("two\nlines\r\nand\rmore", "two lines and more"),
    ("esc\x1b[31mred", "esc\ufffd[31mred"),
    ("me@ex.com", f"me{J}@ex.com"),
    ("WWW.ex.com", f"WWW{J}.ex.com"),
    ("a -> b <= c -- d", rf"a -{J}\> b \<{J}= c -{J}- d"),
    ("&lt;", r"\&lt;"),
    ("/tmp/pytest-1/a_b.sqlite", "/tmp/pytest-1/a_b.sqlite"),
    ("Jonas Žemaitis (42)", "Jonas Žemaitis (42)"),
])
def test_markdown_text_escapes_what_could_start_a_construct(value, expected):
    assert markdown_text(value) == expected


@pytest.mark.parametrize("value", [LINK, IMAGE, "<a href='http://127.0.0.1:9/'>x</a>", ":red[x] $x$ \\",
                                   "[a]: http://127.0.0.1:9/ref", "```code```", "x]](y)[z][](", "__a__"])
def test_markdown_text_reads_as_the_value_and_leaves_no_construct(value):
    shown = markdown_text(value)
    plain = unescaped(shown)
    assert not {c for _, c in plain} & set("\\`*~<>&$|:")
    assert not links(shown)
    assert read(shown) == value


def links(markdown: str) -> list[int]:
    """Where a link or image could be made: a `]` no backslash escapes, then `(` or `[`, or an
    autolink `<`, or a bare `http:`."""
    return ([i for i, c in unescaped(markdown) if c == "]" and markdown[i + 1:i + 2] in ("(", "[")]
            + [i for i, c in unescaped(markdown) if c == "<"]
            + [m.start() for m in re.finditer("(?i)https?:", markdown)])


def unescaped(markdown: str) -> list[tuple[int, str]]:
    """(position, character) of each character a backslash does not escape."""
    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and markdown[i + 1:i + 2] in PUNCTUATION:
            i += 2
            continue
        found.append((i, markdown[i]))
        i += 1
    return found


def test_markdown_text_takes_any_value():
    assert markdown_text(None) == "None" and markdown_text(12.5) == r"12\.5"
    assert markdown_text("\ud800") == "\ufffd"   # a lone surrogate could not be sent to the browser
    assert markdown_text("\u202eevil") == "\ufffdevil"   # no right-to-left override


# --- plotly_text ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (HTML_NAME, "&lt;a href=&#34;http://127.0.0.1:9/&#34;&gt;x&lt;/a&gt;"),
    ("<b>B</b><br><span style='color:red'>r</span>",
     "&lt;b&gt;B&lt;/b&gt;&lt;br&gt;&lt;span style=&#39;color:red&#39;&gt;r&lt;/span&gt;"),
    ("AT&T", "AT&amp;T"),
    ("&lt;", "&amp;lt;"),
    ("one\ntwo", "one two"),
    ("esc\x1b", "esc\ufffd"),
    ("Carrier A", "Carrier A"),
])
def test_plotly_text_escapes_html(value, expected):
    assert plotly_text(value) == expected


# --- charts: names from MOR's tables -------------------------------------------------------------

@pytest.fixture
def hostile_report() -> Report:
    sums = pd.DataFrame([
        (1, HTML_NAME, 10, 5, 10.0, 4.0, 600, 600, 600),
        (2, "Carrier B", 6, 6, 6.0, 7.0, 360, 360, 360),
    ], columns=["terminator_id", "terminator", "total_calls", "answered_calls", "billed_originator",
                "billed_terminator", "billed_duration_originator", "billed_duration_terminator",
                "duration"]).assign(pdd_sum=0.0, pdd_count=0)
    return Report.from_sums(sums, key_columns=["terminator_id", "terminator"], rate=1.0, currency="USD",
                            from_=0, till=1, profit_show=True)


ESCAPED_NAME = "&lt;a href=&#34;http://127.0.0.1:9/&#34;&gt;x&lt;/a&gt;"


def figure_text(figure) -> str:
    """Every string of the figure (plotly's JSON writes `<` as \\u003c: read it back first)."""
    return json.dumps(json.loads(figure.to_json()))


def test_top_groups_shows_an_html_name_as_text(hostile_report):
    figure, data = charts.top_groups(hostile_report, "total_calls", 2)
    assert ESCAPED_NAME in [y for trace in figure.data for y in trace.y]
    assert "<a" not in figure_text(figure)
    assert list(data["group"]) == [HTML_NAME, "Carrier B"]   # the download keeps the name


def test_share_shows_an_html_name_as_text(hostile_report):
    figure, data = charts.share(hostile_report, "terminator", "total_calls")
    assert sorted(figure.data[0].labels) == sorted([ESCAPED_NAME, "Carrier B"])
    assert "<a" not in figure_text(figure)
    assert list(data["terminator"]) == [HTML_NAME, "Carrier B"]


# --- the app (AppTest) -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    return build_small_sqlite(tmp_path_factory.mktemp("escaping") / "mor_small.sqlite")


@pytest.fixture
def hostile_db(small_db, tmp_path):
    """The small database with the admin's username a Markdown link and terminator 1's name
    an HTML link."""
    path = tmp_path / "hostile.sqlite"
    shutil.copy(small_db, path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE users SET username = ? WHERE id = 0", (LINK,))
        db.execute("UPDATE terminators SET name = ? WHERE id = 1", (HTML_NAME,))
    return path


def bodies(at) -> str:
    return "\n".join(e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
                     for e in getattr(at, kind))


@pytest.mark.parametrize("a_dst,escaped", [
    (LINK, rf"a_dst=[Session expired\](http\:{J}//127.0.0.1\:{J}9/x)"),
    (IMAGE, rf"a_dst=![x\](http\:{J}//127.0.0.1\:{J}9/y)"),
])
def test_a_link_in_the_url_is_shown_as_text(monkeypatch, small_db, a_dst, escaped):
    with app_environment(monkeypatch, small_db):
        at = open_app({**DAY, "a_dst": a_dst})
    [info] = [i.value for i in at.info if "No calls match" in i.value]
    assert f" with {escaped}. Widen" in info
    assert not links(bodies(at))


def test_a_username_and_a_terminator_name_are_shown_as_text(monkeypatch, hostile_db):
    with app_environment(monkeypatch, hostile_db):
        at = open_app({**DAY, "group_by_terminator": "1"}, user=LINK)
        assert at.session_state["signed_in"].username == LINK
        escaped = rf"[Session expired\](http\:{J}//127.0.0.1\:{J}9/x)"
        assert any(f"acting as **{escaped}**" in c.value for c in at.caption)
        assert any(f"Signed in as **{escaped}**" in m.value for m in at.sidebar.markdown)
        assert not links(bodies(at))
        at.switch_page("app_pages/charts.py")
        healthy(at.run())
        specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert specs, "the Charts page drew no chart"
    text = json.dumps(specs)
    assert "<a " not in text and "&lt;a href=&#34;http://127.0.0.1:9/&#34;&gt;x&lt;/a&gt;" in text
