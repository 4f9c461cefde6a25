"""The Streamlit app through AppTest, on the small hand-written MOR database.

Expected numbers are computed by hand from tests/fixture_small.py (its docstring says who
is who). On 2024-03-15 (UTC) the report counts calls 1-15, 18-21 and 25-32: 27 records,
20 answered, billed originator 18.90 and billed terminator 9.95 USD, 18 rows in MOR's
default grouping (originator × terminator × destination group).

Every helper checks that the run raised nothing: `at.exception` is empty everywhere.
"""
from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.params import GROUP_FLAGS, Params
from core.periods import preset_bounds
from core.sources.config import MOR
from tests.app_driver import APP, USE_SOURCE, app_environment, apply_source, healthy, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite, epoch
from tests.reference import KEY_COLUMNS

TITLES = {"app_pages/aggregates.py": "Aggregates", "app_pages/charts.py": "Charts",
          "app_pages/data_source.py": "Data source", "app_pages/about.py": "About these reports"}
PAGES = tuple(TITLES)
DAY = {"from": str(FROM), "till": str(TILL)}
THREE_DAYS = {"from": str(epoch("2024-03-14 00:00:00")), "till": str(epoch("2024-03-16 23:59:59"))}


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return build_small_sqlite(tmp_path_factory.mktemp("app") / "mor_small.sqlite")


@pytest.fixture(autouse=True)
def app_env(monkeypatch, small_db):
    with app_environment(monkeypatch, small_db):
        yield


# --- helpers ---------------------------------------------------------------------------------

def run_report(at: AppTest) -> AppTest:
    """Click the form's submit button, as a user applying the sidebar."""
    [button] = [b for b in at.sidebar.button if b.label == "Run report"]
    button.click()
    return healthy(at.run())


def click(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    button.click()
    return healthy(at.run())


def applied(at: AppTest) -> Params:
    return at.session_state["report_params"]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def rows(at: AppTest):
    return at.dataframe[0].value


def totals(at: AppTest) -> dict:
    return at.dataframe[1].value.iloc[0].to_dict()


def widget(at: AppTest, name: str):
    key = f"w_{name}"
    for kind in ("checkbox", "selectbox", "text_input", "number_input", "date_input", "time_input"):
        found = [w for w in getattr(at.sidebar, kind) if w.key == key]
        if found:
            return found[0]
    raise AssertionError(f"no sidebar widget {key}")


def canonical_url(params: Params) -> dict:
    return params.to_pairs()


# --- every page opens ------------------------------------------------------------------------

def test_no_legacy_pages_folder():
    # A pages/ folder beside app.py puts Streamlit in its legacy multipage mode: AppTest then
    # reruns a page without app.py (no sidebar, no URL sync). The pages live in app_pages/.
    assert not (Path(APP).parent / "pages").exists()


@pytest.mark.parametrize("page", PAGES, ids=[Path(p).stem for p in PAGES])
def test_every_page_opens_with_defaults(page):
    today = preset_bounds("Today", "UTC")  # before and after the run: midnight may pass
    at = open_app(page=page)
    assert errors(at) == []
    assert [t.value for t in at.title] == [TITLES[page]]  # the page itself, under the shared sidebar
    params = applied(at)
    assert params == Params(u="admin", from_=params.from_, till=params.till, period="today")
    assert (params.from_, params.till) in (today, preset_bounds("Today", "UTC"))
    assert at.query_params == canonical_url(params)
    assert widget(at, "period").value == "Today"
    assert widget(at, "u").value == "admin"
    if page in ("app_pages/aggregates.py", "app_pages/charts.py"):
        # The fixture has no call today: a friendly "no calls", not an empty table.
        assert any("No calls match" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES, ids=[Path(p).stem for p in PAGES])
def test_every_page_opens_with_data(page):
    at = open_app(DAY, page=page)
    assert errors(at) == []
    assert [t.value for t in at.title] == [TITLES[page]]
    assert at.query_params == {"u": "admin", **DAY}


def test_aggregates_page_shows_the_fixture_day():
    at = open_app(DAY)
    assert len(rows(at)) == 18
    assert list(rows(at).columns[:6]) == ["originator_id", "originator", "terminator_id",
                                          "terminator", "dst_group_id", "dst_group"]
    t = totals(at)
    assert (t["total_calls"], t["answered_calls"]) == (27, 20)
    assert t["billed_originator"] == pytest.approx(18.90)
    assert t["billed_terminator"] == pytest.approx(9.95)
    assert [m.value for m in at.metric][:2] == ["27", "74.07 %"]
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download JSON",
                                                                  "Download XML", "Download XLSX"]


def test_charts_page_draws_every_tab():
    query = {**THREE_DAYS, "group_by_user": "1", "group_by_day": "1", "group_by_hour": "1"}
    at = open_app(query, page="app_pages/charts.py")
    assert errors(at) == []
    assert len(at.tabs) == 4
    charts = [c.key for c in at.get("plotly_chart")]
    assert charts == ["chart_top", "chart_share", "chart_series", "chart_heatmap"]
    # Shares by a dimension the report is not grouped by: a hint, not an empty chart.
    [share_by] = [s for s in at.selectbox if s.key == "share_dim"]
    share_by.set_value("terminator")
    healthy(at.run())
    assert [c.key for c in at.get("plotly_chart")] == ["chart_top", "chart_series", "chart_heatmap"]
    assert any("Group by terminator" in i.value for i in at.info)


def test_switching_pages_keeps_the_applied_report():
    at = open_app(DAY)
    widget(at, "group_by_dst").check()
    run_report(at)
    url = dict(at.query_params)
    for page in PAGES[1:] + PAGES[:1]:
        at.switch_page(page)
        healthy(at.run())
        assert applied(at).group_by_dst
        assert at.query_params == url


# --- each sidebar widget sets the parameter it mirrors ---------------------------------------

def _key_columns(flag: str):
    """The table is keyed by that flag's columns alone (not MOR's default three)."""
    def check(at):
        columns = list(rows(at).columns)
        assert columns[:columns.index("total_calls")] == list(KEY_COLUMNS[flag])
    return check


def _total_calls(n: int):
    def check(at):
        assert totals(at)["total_calls"] == n
    return check


def _check_day(at):
    assert list(rows(at)["day"]) == ["2024-03-15"] and list(rows(at).columns[:1]) == ["day"]


def _check_dst(at):
    assert sorted(rows(at)["dst"]) == sorted(["3706", "3705", "447", "4470", "999", "888", "12345"])


def _check_originator_2(at):
    assert set(rows(at)["originator_id"]) == {2}
    assert totals(at)["total_calls"] == 8  # calls 1-6, 30, 31 (22 is a card call)


def _check_real_billsec(at):
    assert totals(at)["duration"] == pytest.approx(999.7)  # not the billsec sum 1007


def _check_user_perspective(at):
    t = totals(at)
    assert (t["total_calls"], t["answered_calls"]) == (25, 20)  # failover attempts 5 and 7 dropped


def _check_threshold(at):
    assert len(rows(at)) < 18 and rows(at)["answered_calls"].min() >= 2


def _check_profit(at):
    assert list(rows(at).columns[-3:]) == ["profit", "margin", "markup"]
    assert totals(at)["profit"] == pytest.approx(18.90 - 9.95)


def _check_eur(at):
    assert totals(at)["billed_originator"] == pytest.approx(18.90 * 0.9)
    assert any("EUR" in m.value for m in at.metric)


def _check_respro(at):
    assert totals(at)["total_calls"] == 4  # calls 25-28 of his users 7 and 8
    assert set(rows(at)["originator_id"]) == {7, 8}


# (aggregate_get name, widget kind, value to enter, value in Params, value in the URL, table check)
WIDGET_CASES = [
    *[(f"group_by_{g}", "check", True, True, "1", _key_columns(g))
      for g in GROUP_FLAGS if g not in ("day", "dst")],
    ("group_by_day", "check", True, True, "1", _check_day),
    ("group_by_dst", "check", True, True, "1", _check_dst),
    ("s_originator_id", "select", 2, 2, "2", _check_originator_2),
    ("s_terminator_id", "select", 2, 2, "2", _total_calls(6)),     # ProvB: calls 4, 6, 12, 13, 26, 27
    ("s_device", "select", 3, 3, "3", _total_calls(5)),            # calls 14, 15, 18, 19, 20
    ("s_provider", "select", 4, 4, "4", _total_calls(3)),          # ProvLoose: calls 8, 14, 18
    ("a_src", "text", "3706%", "3706%", "3706%", _total_calls(18)),
    ("a_dst", "text", "447%", "447%", "447%", _total_calls(4)),    # calls 14, 15, 27, 28
    ("dst_group", "text", "lithuania%", "lithuania%", "lithuania%", _total_calls(20)),
    ("clid", "text", "Rita", "Rita", "Rita", _total_calls(2)),     # calls 25, 26
    ("s_duration", "number", 60, 60, "60", _total_calls(4)),       # billsec 60: calls 1, 21, 25, 29
    ("use_real_billsec", "check", True, True, "1", _check_real_billsec),
    ("from_user_perspective", "check", True, True, "1", _check_user_perspective),
    ("answered_calls", "number", 2, 2, "2", _check_threshold),
    ("profit_show", "check", True, True, "1", _check_profit),
    ("a_currency", "select", "EUR", "EUR", "EUR", _check_eur),
    ("u", "select", "respro", "respro", "respro", _check_respro),
]


def set_widget(at: AppTest, name: str, kind: str, value) -> None:
    w = widget(at, name)
    if kind == "check":
        w.check() if value else w.uncheck()
    elif kind == "select":
        w.set_value(value)
    elif kind == "text":
        w.input(value)
    else:
        w.set_value(value)


@pytest.mark.parametrize("name,kind,entered,value,url,check", WIDGET_CASES,
                         ids=[c[0] for c in WIDGET_CASES])
def test_widget_sets_its_parameter(name, kind, entered, value, url, check):
    at = open_app(DAY)
    before = applied(at)
    set_widget(at, name, kind, entered)
    run_report(at)
    assert errors(at) == []
    params = applied(at)
    assert getattr(params, name) == value
    assert params == before.with_(**{name: value})       # that parameter and no other
    assert at.query_params[name] == url
    assert at.query_params == canonical_url(params)
    assert widget(at, name).value == entered               # the form shows what was applied
    check(at)


def test_widgets_do_nothing_until_the_form_is_applied():
    at = open_app(DAY)
    widget(at, "group_by_day").check()
    widget(at, "a_src").input("3706%")
    healthy(at.run())  # a rerun without the submit button
    assert applied(at) == Params(u="admin", from_=FROM, till=TILL)
    assert at.query_params == {"u": "admin", **DAY}
    assert len(rows(at)) == 18


def test_unticking_a_flag_and_clearing_a_filter():
    at = open_app({**DAY, "group_by_day": "1", "a_src": "3706%", "s_device": "1"})
    widget(at, "group_by_day").uncheck()
    widget(at, "a_src").input("")
    widget(at, "s_device").set_value(None)
    run_report(at)
    assert applied(at) == Params(u="admin", from_=FROM, till=TILL)
    assert at.query_params == {"u": "admin", **DAY}
    assert len(rows(at)) == 18


def test_group_by_day_gives_one_row_per_day():
    at = open_app(THREE_DAYS)
    assert len(rows(at)) == 19  # 18 rows of the 15th, and calls 16 and 17 share one more
    widget(at, "group_by_day").check()
    run_report(at)
    assert list(rows(at)["day"]) == ["2024-03-14", "2024-03-15", "2024-03-16"]
    assert list(rows(at)["total_calls"]) == [1, 27, 1]
    assert totals(at)["total_calls"] == 29


def test_group_by_day_and_hour():
    at = open_app(DAY)
    widget(at, "group_by_day").check()
    widget(at, "group_by_hour").check()
    run_report(at)
    assert list(rows(at).columns[:2]) == ["day", "hour"]
    # Hours with counted calls: 0, 9-18 and 20, 23 (call 16's and 17's are other days).
    assert list(rows(at)["hour"]) == [0, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 23]


# --- the period widgets ------------------------------------------------------------------------

def test_custom_period_from_the_pickers():
    at = open_app(DAY)
    widget(at, "period").set_value("Custom")
    widget(at, "dates").set_value((date(2024, 3, 14), date(2024, 3, 16)))
    widget(at, "time_from").set_value(time(0, 0))
    widget(at, "time_till").set_value(time(23, 59))
    widget(at, "group_by_day").check()
    run_report(at)
    params = applied(at)
    assert (params.from_, params.till) == (int(THREE_DAYS["from"]), int(THREE_DAYS["till"]))
    assert at.query_params["till"] == THREE_DAYS["till"]  # the picker's minute, to its 59th second
    assert list(rows(at)["total_calls"]) == [1, 27, 1]


def test_custom_period_within_a_day():
    at = open_app(DAY)
    widget(at, "time_from").set_value(time(10, 0))
    widget(at, "time_till").set_value(time(10, 59))
    run_report(at)
    params = applied(at)
    assert (params.from_, params.till) == (epoch("2024-03-15 10:00:00"), epoch("2024-03-15 10:59:59"))
    assert totals(at)["total_calls"] == 3  # calls 1 (10:00), 2 (10:05) and 27 (10:30)


PERIOD_OF = {"Today": "today", "Yesterday": "yesterday", "Last 7 days": "last_7_days",
             "This month": "this_month", "Last month": "last_month"}


@pytest.mark.parametrize("preset", ["Today", "Yesterday", "Last 7 days", "This month", "Last month"])
def test_period_presets(preset):
    at = open_app(DAY)
    widget(at, "period").set_value(preset)
    before = preset_bounds(preset, "UTC")
    run_report(at)
    after = preset_bounds(preset, "UTC")
    params = applied(at)
    assert (params.from_, params.till) in (before, after)
    # issue 14: a preset is a relative period, kept by name in the URL instead of from/till.
    assert at.query_params["period"] == PERIOD_OF[preset] and "from" not in at.query_params
    assert widget(at, "period").value == preset


def test_reset_to_defaults():
    at = open_app({**DAY, "group_by_day": "1", "a_currency": "EUR", "a_src": "3706%"})
    click(at, "Reset to defaults")
    params = applied(at)
    assert params == Params(u="admin", from_=params.from_, till=params.till, period="today")
    assert widget(at, "period").value == "Today"
    assert widget(at, "group_by_day").value is False
    assert widget(at, "a_src").value == ""
    assert widget(at, "a_currency").value == "USD"
    assert at.query_params == canonical_url(params)


# --- URL -> widgets -> URL ---------------------------------------------------------------------

ROUND_TRIP = {"u": "admin", **DAY, "a_currency": "EUR", "group_by_dst": "1",
              "s_originator_id": "2", "a_src": "3706%", "answered_calls": "1", "profit_show": "1"}


def test_url_sets_the_widgets_and_comes_back_unchanged():
    at = open_app(ROUND_TRIP)
    assert errors(at) == []
    assert at.query_params == ROUND_TRIP
    assert widget(at, "u").value == "admin"
    assert widget(at, "a_currency").value == "EUR"
    assert widget(at, "period").value == "Custom"
    assert widget(at, "dates").value == (date(2024, 3, 15), date(2024, 3, 15))
    assert (widget(at, "time_from").value, widget(at, "time_till").value) == (time(0, 0), time(23, 59))
    for g in GROUP_FLAGS:
        assert widget(at, f"group_by_{g}").value is (g == "dst")
    assert widget(at, "s_originator_id").value == 2
    assert widget(at, "a_src").value == "3706%"
    assert widget(at, "answered_calls").value == 1
    assert widget(at, "profit_show").value is True
    assert widget(at, "use_real_billsec").value is False
    # The table is that report: John Smith #2's calls by destination, with profit, in EUR.
    assert list(rows(at).columns[:2]) == ["dst", "destination"]
    assert sorted(rows(at)["dst"]) == ["3705", "3706"]
    assert "profit" in rows(at).columns
    assert totals(at)["total_calls"] == 6  # calls 1-6 (30 and 31 have src AB_C, ABxC)

    healthy(at.run())                      # a rerun changes nothing
    assert at.query_params == ROUND_TRIP
    run_report(at)                         # nor does applying the untouched form
    assert at.query_params == ROUND_TRIP
    assert applied(at).to_pairs() == ROUND_TRIP


def test_url_round_trip_in_a_non_utc_zone(monkeypatch):
    monkeypatch.setenv("MOR_TIMEZONE", "Europe/Vilnius")
    query = {"u": "admin", "from": str(epoch("2024-03-15 00:00:00", "Europe/Vilnius")),
             "till": str(epoch("2024-03-15 23:59:59", "Europe/Vilnius")), "group_by_hour": "1"}
    at = open_app(query)
    assert at.query_params == query
    assert widget(at, "dates").value == (date(2024, 3, 15), date(2024, 3, 15))
    assert (widget(at, "time_from").value, widget(at, "time_till").value) == (time(0, 0), time(23, 59))
    assert "(Europe/Vilnius)" in at.caption[0].value
    # calldate is wall-clock Vilnius time: the window is the same stored day, so hours match UTC's.
    assert list(rows(at)["hour"]) == [0, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 23]
    run_report(at)
    assert at.query_params == query


def test_url_with_lower_case_currency_is_made_canonical():
    at = open_app({**DAY, "a_currency": "eur"})
    assert errors(at) == []
    assert at.query_params == {"u": "admin", **DAY, "a_currency": "EUR"}
    assert widget(at, "a_currency").value == "EUR"


def test_url_hash_is_never_kept_in_the_address_bar():
    at = open_app({**DAY, "hash": "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"})
    assert errors(at) == []
    assert "hash" not in at.query_params


# --- error paths --------------------------------------------------------------------------------

@pytest.mark.parametrize("query,named", [
    ({**DAY, "group_by_day": "2"}, "group_by_day"),
    ({**DAY, "s_device": "x"}, "s_device"),
    ({"from": str(TILL), "till": str(FROM)}, "till"),
    ({**DAY, "no_such_param": "1"}, "no_such_param"),
])
def test_invalid_url_value_shows_an_error_and_the_defaults(query, named):
    at = open_app(query)
    [message] = errors(at)
    assert named in message and "defaults" in message
    params = applied(at)
    assert params == Params(u="admin", from_=params.from_, till=params.till, period="today")
    assert at.query_params == canonical_url(params)  # the address bar now holds the defaults
    assert widget(at, "group_by_day").value is False
    assert widget(at, "period").value == "Today"
    healthy(at.run())
    assert errors(at) == []  # said once, not on every rerun


@pytest.mark.parametrize("query,message", [
    ({**DAY, "a_currency": "XYZ"}, "Currency was not found"),
    ({**DAY, "s_originator_id": "55"}, "User was not found"),
    ({**DAY, "s_terminator_id": "55"}, "Terminator was not found"),
    ({**DAY, "s_device": "98"}, "Device was not found"),
    ({**DAY, "s_provider": "88"}, "Provider was not found"),
])
def test_source_errors_are_messages(query, message):
    at = open_app(query)
    assert any(message in e for e in errors(at))
    assert len(at.dataframe) == 0
    assert at.query_params == query | {"u": query.get("u", "admin")}


@pytest.mark.parametrize("user", ["jsmith1", "resplain"])
def test_access_denied_for_a_plain_user(user):
    # Since sign-in, a URL's u never chooses the acting user: such a user is refused at
    # sign-in instead (tests/test_app_signin.py has the details), and sees no sidebar.
    at = open_app({**DAY, "u": user}, user=user)
    assert any("Access Denied" in e for e in errors(at))
    assert len(at.dataframe) == 0 and len(at.sidebar.selectbox) == 0


def test_access_denied_then_back_to_admin():
    at = open_app(DAY)
    widget(at, "u").set_value("resplain")
    run_report(at)
    assert any("Access Denied" in e for e in errors(at))
    widget(at, "u").set_value("admin")
    run_report(at)
    assert errors(at) == []
    assert len(rows(at)) == 18
    # The filters are choices again, not raw id fields.
    assert widget(at, "s_device").options[0] == "All"


def test_form_error_keeps_the_applied_report():
    at = open_app(DAY)
    widget(at, "time_from").set_value(time(18, 0))
    widget(at, "time_till").set_value(time(9, 0))
    run_report(at)
    sidebar_errors = [e.value for e in at.sidebar.error]
    assert len(sidebar_errors) == 1 and "till" in sidebar_errors[0]
    assert applied(at) == Params(u="admin", from_=FROM, till=TILL)
    assert at.query_params == {"u": "admin", **DAY}
    widget(at, "time_till").set_value(time(19, 0))
    run_report(at)
    assert [e.value for e in at.sidebar.error] == []
    assert applied(at).till == epoch("2024-03-15 19:00:59")


def test_missing_database_file_is_a_message(tmp_path):
    missing = tmp_path / "missing.sqlite"
    at = open_app(DAY, page="app_pages/data_source.py",
                  secrets={"connections": {"mor": {"url": f"sqlite:///{missing}"}}})
    at.radio(key="source_radio").set_value(MOR)
    healthy(at.run())
    click(at, "Test connection")
    assert any("does not exist" in e for e in errors(at))
    # Switching to it asks the admin's password there, which a missing file cannot check:
    # the message is said here and the reports stay on the source in use.
    apply_source(at)
    assert any(f"SQLite database {missing} does not exist" in e for e in errors(at))
    assert not missing.exists()  # nothing was created on the way
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert not errors(at) and totals(at)["total_calls"] == 27
    assert widget(at, "u").value == "admin"  # the sidebar still renders


def test_no_database_configured_is_a_message(small_db):
    at = open_app(DAY, page="app_pages/data_source.py")
    at.radio(key="source_radio").set_value(MOR)
    healthy(at.run())
    assert any("connections.mor" in w.value for w in at.warning)
    [use] = [b for b in at.button if b.label == USE_SOURCE]
    assert use.disabled  # nothing to use
    # A database in use whose configuration is then removed: the pages say what to add.
    at.secrets["connections"] = {"mor": {"url": f"sqlite:///{small_db}"}}
    healthy(at.run())
    apply_source(at)
    at.secrets.clear()
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert any("No database is configured" in e for e in errors(at))


def test_unbuildable_demo_database_is_a_message(monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MOR_DEMO_PATH", str(blocker / "demo.sqlite"))
    at = open_app(DAY)
    [message] = errors(at)
    assert "could not be built" in message and "MOR_DEMO_PATH" in message


def test_time_zone_from_the_data_source_page():
    at = open_app(DAY, page="app_pages/data_source.py")
    [zone] = [s for s in at.selectbox if s.label == "Report time zone"]
    zone.set_value("Europe/Vilnius")
    apply_source(at)
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    # The applied epochs stay; the pickers now show them in Vilnius (UTC+2).
    assert at.query_params == {"u": "admin", **DAY}
    assert widget(at, "dates").value == (date(2024, 3, 15), date(2024, 3, 16))
    assert (widget(at, "time_from").value, widget(at, "time_till").value) == (time(2, 0), time(1, 59))
    assert "(Europe/Vilnius)" in at.caption[0].value
    # 2024-03-15 02:00 .. 2024-03-16 01:59:59 wall clock: the calls from 02:00 on the 15th,
    # and call 17 (16th 00:00). Call 14 (15th 00:00) is now outside.
    assert totals(at)["total_calls"] == 27


def test_edited_dates_win_over_an_unchanged_preset():
    """A person who changes the day pickers but leaves the preset means the dates."""
    at = open_app()
    assert widget(at, "period").value == "Today"
    widget(at, "dates").set_value((date(2024, 3, 14), date(2024, 3, 16)))
    run_report(at)
    params = applied(at)
    assert (params.from_, params.till) == (epoch("2024-03-14 00:00:00"), epoch("2024-03-16 23:59:59"))
    assert widget(at, "period").value == "Custom"


# --- sources are configured, chosen by name -----------------------------------------------------

def data_source_page(**open_kw) -> AppTest:
    return open_app(DAY, page="app_pages/data_source.py", **open_kw)


def every_source(small_db: Path, monkeypatch) -> dict:
    """Every kind of source configured, as an operator would: secrets and the environment."""
    monkeypatch.setenv("MOR_COPY_URL", f"duckdb:///{small_db.parent}/copy.duckdb")
    return {"connections": {"mor": {"url": "mysql+pymysql://reports:s3cret-pw@db.invalid/mor"}},
            "mor_api": {"base": "http://127.0.0.1:9/billing", "username": "admin", "secret": "api-key-1"}}


def test_the_data_source_page_has_no_field_for_a_source(small_db, monkeypatch):
    at = data_source_page(secrets=every_source(small_db, monkeypatch))
    radio = at.radio(key="source_radio")
    assert radio.options[1:] == ["MOR database ([connections.mor])", "Analytics copy ($MOR_COPY_URL)",
                                 "MOR server API ([mor_api])", "ClickHouse copy (not configured)"]
    for name in ("demo", "mor", "analytics", "mor_api"):
        at.radio(key="source_radio").set_value(name)
        healthy(at.run())
        assert at.radio(key="source_radio").value == name
        # The one text box: the admin's own password on a source not signed in to yet.
        boxes = [(b.label.startswith("Your password on "), b.proto.type == b.proto.PASSWORD)
                 for b in at.main.text_input]
        assert boxes in ([], [(True, True)]), boxes
        assert at.main.text_area.len == 0 and at.main.number_input.len == 0
        labels = [w.label.lower() for kind in ("selectbox", "checkbox", "radio", "multiselect")
                  for w in getattr(at.main, kind)]
        assert sorted(labels) == ["a call is answered when", "read reports from", "report time zone"], name
        shown = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
        assert "s3cret-pw" not in shown and "api-key-1" not in shown
    # The configured sources are described safely: the password masked, the API by server and user.
    at.radio(key="source_radio").set_value("mor")
    healthy(at.run())
    assert any("mysql+pymysql://reports:***@db.invalid/mor" in c.value for c in at.caption)
    at.radio(key="source_radio").set_value("mor_api")
    healthy(at.run())
    assert any("127.0.0.1:9/billing as admin" in c.value for c in at.caption)


def test_accountant_permissions_come_from_configuration_and_are_read_only(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    at = data_source_page(secrets={"report": {"accountant_financial": 0}})
    assert [c.label for c in at.main.checkbox] == []   # nothing to tick
    [line] = [m.value for m in at.markdown if "Accountants" in m.value]
    assert "statistics: **allowed**" in line and "money columns: **not allowed**" in line
    assert at.session_state["report_params"].u == "admin"


def test_choosing_a_source_opens_nothing_until_a_button(tmp_path, monkeypatch):
    missing = tmp_path / "absent.duckdb"
    monkeypatch.setenv("MOR_COPY_URL", f"duckdb:///{missing}")
    at = data_source_page()
    at.radio(key="source_radio").set_value("analytics")
    healthy(at.run())
    assert errors(at) == [] and [w.value for w in at.warning] == [] and at.metric.len == 0
    click(at, "Test connection")
    assert any(f"DuckDB database {missing} does not exist" in e for e in errors(at))
    healthy(at.run())          # a rerun (any other click) does not try again
    assert errors(at) == []
    click(at, "Check freshness")
    assert any("does not exist" in w.value for w in at.warning)


def test_a_source_that_is_not_configured_says_what_to_add():
    at = data_source_page()
    radio = at.radio(key="source_radio")
    assert radio.options[1:] == [
        "MOR database (not configured)", "Analytics copy (not configured)", "MOR server API (not configured)",
        "ClickHouse copy (not configured)"]
    at.radio(key="source_radio").set_value("mor_api")
    healthy(at.run())
    [warning] = [w.value for w in at.warning]
    assert "[mor_api]" in warning and ".streamlit/secrets.toml" in warning
    assert all(b.disabled for b in at.button if b.label in ("Test connection", USE_SOURCE))


@pytest.fixture
def secrets_file(tmp_path, monkeypatch):
    """The app's secrets read from a file of the test's own (not at.secrets, which skips parsing)."""
    import streamlit as st
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    path = tmp_path / "secrets.toml"
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(st, "secrets", Secrets())
    try:
        yield path
    finally:
        config.set_option("secrets.files", before)


def test_a_malformed_secrets_file_is_named_with_its_reason(secrets_file):
    secrets_file.write_text('[connections.mor]\nurl = "sqlite:///x.sqlite\n')  # unterminated string
    at = data_source_page()
    [message] = [e.value for e in at.main.error]
    assert str(secrets_file) in message and "line 2" in message
    assert "not configured" not in message
    [warning] = [w.value for w in at.sidebar.warning]
    assert str(secrets_file) in warning
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert totals(at)["total_calls"] == 27  # the demo still reports


def test_a_well_formed_secrets_file_configures_sources(secrets_file, small_db):
    secrets_file.write_text(f'[connections.mor]\nurl = "sqlite:///{small_db}"\n'
                            '[report]\ntimezone = "Europe/Vilnius"\n')
    at = data_source_page()
    assert errors(at) == [] and [w.value for w in at.sidebar.warning] == []
    assert at.radio(key="source_radio").options[1] == "MOR database ([connections.mor])"
    assert "**Time zone:** Europe/Vilnius" in at.sidebar.caption[0].value


def test_a_bad_report_setting_is_named(secrets_file):
    secrets_file.write_text('[report]\ntimezone = "Mars/Olympus"\n')
    at = data_source_page()
    [message] = [e.value for e in at.main.error]
    assert "[report] timezone" in message and "Mars/Olympus" in message
    assert "**Time zone:** UTC" in at.sidebar.caption[0].value


def test_an_unexpected_failure_says_so_and_what_to_do(monkeypatch):
    from core.sources.db import DatabaseSource

    def broken(self, params, settings):
        raise RuntimeError("something inside went wrong")
    monkeypatch.setattr(DatabaseSource, "run", broken)
    at = open_app(DAY)
    [message] = errors(at)
    assert message.startswith("**Unexpected error (RuntimeError)")
    assert "log" in message and "bug" not in message


def test_user_fixable_failures_never_say_unexpected_or_bug(tmp_path):
    missing = tmp_path / "missing.sqlite"
    at = data_source_page(secrets={"connections": {"mor": {"url": f"sqlite:///{missing}"}}})
    at.radio(key="source_radio").set_value(MOR)
    healthy(at.run())
    click(at, "Test connection")
    [message] = errors(at)
    assert "does not exist" in message
    assert "nexpected" not in message and "bug" not in message


def test_a_malformed_source_section_is_named_and_the_demo_still_works():
    at = data_source_page(secrets={"mor_api": {"username": "admin", "secret": "k"}})  # no base
    [message] = [e.value for e in at.main.error]
    assert "[mor_api]" in message and "base" in message
    assert any("[mor_api]" in w.value for w in at.sidebar.warning)
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert totals(at)["total_calls"] == 27
