"""The Aggregates table in AppTest: the column choice and its URL round trip, downloads of
every column or as shown, the ID toggle, and drill-down with breadcrumbs back.

Expected values by hand from tests/fixture_small.py: on 2024-03-15 originator 2 (jsmith1,
"John Smith") made calls 1-6, 30 and 31 (22 is a card call): five to prefix 3706
(Lithuania Mobile, group 1: calls 1, 2, 3, 5, 6) and three to 3705 (Lithuania Fixed, group 2:
calls 4, 30, 31).
"""
from __future__ import annotations

import base64
import csv
import gc
import io
import json

import numpy as np
import openpyxl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from core.escaping import markdown_text
from tests.app_driver import app_environment, clean, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

DAY = {"from": str(FROM), "till": str(TILL)}
BY_USER = {**DAY, "group_by_user": "1"}
JOHN = markdown_text("Originator: John Smith")   # as Streamlit's Markdown must receive it


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    return build_small_sqlite(tmp_path_factory.mktemp("table") / "mor_small.sqlite")


@pytest.fixture(autouse=True)
def app_env(monkeypatch, small_db):
    with app_environment(monkeypatch, small_db):
        yield


def table(at):
    [found] = [d for d in at.dataframe if d.key and d.key.startswith("aggregates_table")]
    return found


def shown(at) -> list[str]:
    return list(table(at).proto.column_order)


def download(at, label: str) -> str:
    """The text a download button carries."""
    return download_bytes(at, label).decode()


def download_bytes(at, label: str) -> bytes:
    """What a download button carries (stored, or produced on click), from AppTest's media store."""
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    file_id = button.proto.deferred_file_id or button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    for manager in (o for o in gc.get_objects() if isinstance(o, MediaFileManager)):
        stored = manager._storage._files_by_id.get(file_id)
        if stored is not None:
            return bytes(stored.content)
        deferred = manager._deferred_callables.get(file_id)
        if deferred is not None:
            data = deferred["callable"]() if isinstance(deferred, dict) else deferred[0]()
            return data.encode() if isinstance(data, str) else bytes(data)
    raise AssertionError(f"no stored file for {label}")


def choose_columns(at, names: list[str]):
    at.multiselect(key="table_columns").set_value(names)
    return clean(at.run())


def test_id_columns_hidden_until_toggled_and_every_metric_shown():
    at = open_app(BY_USER)
    assert shown(at) == ["originator", "total_calls", "answered_calls", "billed_originator",
                         "billed_terminator", "billed_duration_originator", "billed_duration_terminator",
                         "duration", "asr", "acd", "pdd"]
    at.toggle(key="table_ids").set_value(True)
    clean(at.run())
    assert shown(at)[:2] == ["originator_id", "originator"]
    assert at.query_params["ids"] == "1"


def test_column_choice_kept_in_the_url_and_reopened_from_it():
    at = open_app(BY_USER)
    choose_columns(at, ["asr", "total_calls"])
    assert shown(at) == ["originator", "total_calls", "asr"]
    assert at.query_params["columns"] == "total_calls,asr"
    assert dict(at.query_params)["group_by_user"] == "1"
    link = dict(at.query_params)
    again = clean(open_app(link))
    assert shown(again) == ["originator", "total_calls", "asr"]
    assert again.multiselect(key="table_columns").value == ["total_calls", "asr"]
    assert dict(again.query_params) == link


def test_unknown_column_in_a_link_is_one_clear_line():
    at = open_app({**BY_USER, "columns": "calls"})
    assert [e.value for e in at.exception] == []
    [error] = [e.value for e in at.sidebar.error]
    assert "The link's columns" in error and "'calls' is not a column; accepted are total_calls" in error
    assert "default columns" in error
    assert "asr" in shown(at)


def test_downloads_carry_every_column_unless_asked_as_shown():
    at = open_app(BY_USER)
    choose_columns(at, ["total_calls"])
    every = list(csv.reader(io.StringIO(download(at, "Download CSV"))))
    assert every[0][:3] == ["originator_id", "originator", "total_calls"] and "asr" in every[0]
    at.radio(key="download_columns").set_value("As shown")
    clean(at.run())
    as_shown = list(csv.reader(io.StringIO(download(at, "Download CSV"))))
    assert as_shown[0] == ["originator", "total_calls"]
    john = [r for r in as_shown if r[1] == "8"]   # originator 2's eight calls
    assert john and john[0][0] == "John Smith"


def test_xlsx_download_as_shown_holds_numbers():
    at = open_app(BY_USER)
    choose_columns(at, ["total_calls"])
    at.radio(key="download_columns").set_value("As shown")
    clean(at.run())
    sheet = openpyxl.load_workbook(io.BytesIO(download_bytes(at, "Download XLSX"))).active
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    john = [row for row in cells if row and row[0] == "John Smith"]
    assert john and john[0][1] == 8 and isinstance(john[0][1], int)   # a number, not text
    assert all(len([c for c in row if c is not None]) <= 2 for row in cells if row and row[0] == "John Smith")


# --- drill-down ------------------------------------------------------------------------------

def select(at, predicate):
    """Select the table's row for which predicate(row) holds, by its position in the data."""
    rows = table(at).value.reset_index(drop=True)
    [position] = [i for i, row in rows.iterrows() if predicate(row)]
    at.session_state[table(at).key] = {"selection": {"rows": [position], "columns": []}}
    return clean(at.run())


def click(at, label: str):
    [button] = [b for b in at.button if b.label == label]
    button.click()
    return clean(at.run())


def test_drill_into_originator_then_group_and_back():
    at = open_app(BY_USER)
    assert [b.disabled for b in at.button if b.label == "Drill into"] == [True]
    select(at, lambda r: r["originator_id"] == 2)
    click(at, "Drill into")
    params = at.session_state["report_params"]
    assert (params.s_originator_id, params.groups) == (2, ("user", "dst_group"))
    assert [b.disabled for b in at.button if b.label == "Drill into"] == [True]   # nothing selected yet
    rows = table(at).value
    assert sorted(zip(rows["dst_group"], rows["total_calls"], strict=True)) == [("Lithuania Fixed", 3),
                                                                  ("Lithuania Mobile", 5)]
    assert dict(at.query_params) == {"u": "admin", **DAY, "group_by_user": "1", "group_by_dst_group": "1",
                                     "s_originator_id": "2"}
    assert [m.value for m in at.markdown if "Originator" in m.value] == [f"**{JOHN}**"]
    assert at.sidebar.selectbox(key="w_s_originator_id").value == 2

    select(at, lambda r: r["dst_group"] == "Lithuania Mobile")
    click(at, "Drill into")
    rows = table(at).value
    assert list(zip(rows["dst"], rows["total_calls"], strict=True)) == [("3706", 5)]
    assert at.query_params["dst_group"] == "Lithuania Mobile"
    assert [b.label for b in at.button if b.key and b.key.startswith("crumb_")] == ["Report", JOHN]

    click(at, JOHN)          # one level back
    assert at.session_state["report_params"].groups == ("user", "dst_group")
    assert len(table(at).value) == 2
    click(at, "Report")                           # where it started
    params = at.session_state["report_params"]
    assert (params.s_originator_id, params.groups) == (None, ("user",))
    assert dict(at.query_params) == BY_USER | {"u": "admin"}
    assert not [b for b in at.button if b.key and b.key.startswith("crumb_")]


def test_a_row_without_a_group_is_refused_with_the_reason():
    at = open_app({**DAY, "group_by_dst_group": "1"})
    select(at, lambda r: r["dst_group_id"] == 0)
    click(at, "Drill into")
    assert any("no destination group" in w.value for w in at.warning)
    assert at.session_state["report_params"].groups == ("dst_group",)


# --- compare ---------------------------------------------------------------------------------

def test_compare_from_the_sidebar_shows_deltas_and_movers_and_keeps_the_url():
    # 2024-03-14 has one counted call: 16, originator 4 ('noname') at 23:59:59. On the 15th
    # 'noname' made calls 14, 15, 18, 19, 20: five, so +4 calls, +400 %.
    at = open_app(BY_USER)
    at.sidebar.selectbox(key="w_compare").set_value("previous")
    [button] = [b for b in at.sidebar.button if b.label == "Run report"]
    button.click()
    clean(at.run())
    assert at.query_params["compare"] == "previous"
    rows = table(at).value.set_index("originator")
    noname = rows.loc["noname"]
    assert (noname["total_calls"], noname["prev_total_calls"], noname["delta_total_calls"]) == (5, 1, 4)
    assert noname["delta_pct_total_calls"] == pytest.approx(400.0)
    assert rows.loc["John Smith"].iloc[0]["prev_total_calls"] == 0
    assert any("Compared with 2024-03-14 00:00:00 – 2024-03-14 23:59:59" in c.value for c in at.caption)
    assert [t.label for t in at.tabs] == ["Table", "Movers"]

    at.selectbox(key="movers_metric").set_value("total_calls")
    clean(at.run())
    ranked = at.dataframe[2]     # after the table and its totals, in the Movers tab
    changes = list(ranked.value["delta_total_calls"].abs())
    assert changes == sorted(changes, reverse=True) and changes[0] == 8   # originators 2 and 3: 8 new calls
    assert list(ranked.proto.column_order)[-4:] == ["total_calls", "prev_total_calls", "delta_total_calls",
                                                    "delta_pct_total_calls"]
    link = dict(at.query_params)
    again = open_app(link)
    assert again.session_state["report_params"].compare == "previous"
    assert again.sidebar.selectbox(key="w_compare").value == "previous"


def test_the_time_series_overlays_the_previous_period():
    # By day, 2024-03-15 compared with the 14th: 27 calls now, 1 (call 16) the day before,
    # drawn over the 15th.
    at = open_app({**DAY, "group_by_day": "1", "compare": "previous"}, page="app_pages/charts.py")
    clean(at)
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id and "chart_series" in c.proto.id]
    figure = json.loads(chart.proto.spec)
    lines = {trace.get("name") or "now": (_values(trace["x"]), _values(trace["y"]))
             for trace in figure["data"]}
    assert lines["now"][1] == [27]
    assert lines["Previous period"][1] == [1]
    assert lines["Previous period"][0] == lines["now"][0]


def _values(array) -> list:
    """A plotly array as a list: plain, or typed ({"dtype", "bdata"} in base64)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)
