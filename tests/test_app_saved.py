"""Saved reports in the app (issue 14 item 2), through AppTest on the small fixture.

Expected numbers are from tests/fixture_small.py's docstring: on 2024-03-15 (UTC) the
admin's report counts 27 records; the Reseller PRO respro sees his users 7 and 8 only.
The app database is a tmp file per test ($MOR_APP_DB_URL), read back directly here.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from streamlit.testing.v1 import AppTest

from core.alerts import parse_rules
from core.appdb import AppDb
from core.params import Params
from core.schema import calls
from tests.app_driver import app_environment, click, healthy, open_app
from tests.fixture_small import FROM, TILL, build_small_sqlite

DAY = {"from": str(FROM), "till": str(TILL)}
SAVED_PAGE = "app_pages/saved.py"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return build_small_sqlite(tmp_path_factory.mktemp("saved") / "mor_small.sqlite")


@pytest.fixture
def app_db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


@pytest.fixture(autouse=True)
def app_env(monkeypatch, small_db, app_db_url):
    monkeypatch.setenv("MOR_APP_DB_URL", app_db_url)
    with app_environment(monkeypatch, small_db):
        yield


def applied(at: AppTest) -> Params:
    return at.session_state["report_params"]


def save(at: AppTest, name: str, shared: bool = False) -> AppTest:
    """Fill the sidebar's Save report form and press Save."""
    at.sidebar.text_input(key="save_name").input(name)
    if shared:
        at.sidebar.checkbox(key="save_shared").check()
    [button] = [b for b in at.sidebar.button if b.label == "Save"]
    button.click()
    return healthy(at.run())


def saved_page(at: AppTest) -> AppTest:
    at.switch_page(SAVED_PAGE)
    return healthy(at.run())


def listed(at: AppTest) -> list[str]:
    return [e.label for e in at.expander if " · " in e.label]


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return healthy(at.run())


def stored(url: str) -> list:
    return AppDb(url).list_for(None, True)


def total_calls(at: AppTest) -> int:
    return at.dataframe[1].value.iloc[0].to_dict()["total_calls"]


def test_save_list_open_rename_delete(app_db_url):
    at = open_app({**DAY, "group_by_dst_group": "1", "compare": "previous"})
    save(at, "Day by group")
    assert any("Saved as 'Day by group'" in s.value for s in at.sidebar.success)
    [report] = stored(app_db_url)
    assert (report.owner, report.name, report.page, report.shared) == ("admin", "Day by group",
                                                                       "aggregates", False)
    assert report.params == {**DAY, "group_by_dst_group": "1", "compare": "previous"}

    saved_page(at)
    assert [t.value for t in at.title] == ["Saved reports"]
    assert listed(at) == ["Day by group · admin"]
    # The crontab line that delivers it, with the page's default schedule (daily at 07:00).
    [line] = [c.value for c in at.code if c.value.startswith("0 7 * * * cd ")]
    assert f"-m core saved run {report.id} --user admin --format xlsx --mail-to you@example.com" in line
    assert any(c.value.startswith("[Unit]") and "OnCalendar=*-*-* 07:00:00" in c.value for c in at.code)

    click(at, "Reset to defaults")                      # another report applied meanwhile
    assert applied(at).group_by_dst_group is False
    press(at, f"saved_open_{report.id}")
    assert [t.value for t in at.title] == ["Aggregates"]  # its page
    params = applied(at)
    assert (params.u, params.from_, params.till) == ("admin", FROM, TILL)
    assert params.group_by_dst_group and params.compare == "previous"
    assert at.query_params["group_by_dst_group"] == "1" and at.query_params["from"] == str(FROM)
    assert at.sidebar.checkbox(key="w_group_by_dst_group").value is True   # the sidebar shows it

    saved_page(at)
    at.text_input(key=f"saved_rename_{report.id}").set_value("Renamed")
    press(at, f"saved_rename_button_{report.id}")
    assert listed(at) == ["Renamed · admin"]
    assert [r.name for r in stored(app_db_url)] == ["Renamed"]

    press(at, f"saved_delete_{report.id}")
    assert stored(app_db_url) == []
    assert any("No saved reports yet" in i.value for i in at.info)


def test_saving_twice_under_one_name_asks_before_replacing(app_db_url):
    at = open_app(DAY)
    save(at, "Mine")
    at.sidebar.checkbox(key="w_group_by_day").check()
    [run] = [b for b in at.sidebar.button if b.label == "Run report"]
    run.click()
    healthy(at.run())
    save(at, "Mine")
    assert any("already have a saved report named 'Mine'" in w.value for w in at.sidebar.warning)
    assert "group_by_day" not in stored(app_db_url)[0].params      # nothing replaced yet
    click(at, "Cancel")
    assert not at.sidebar.warning
    assert "group_by_day" not in stored(app_db_url)[0].params

    save(at, "Mine")
    click(at, "Replace")
    [report] = stored(app_db_url)
    assert report.params.get("group_by_day") == "1"


def test_another_users_unshared_report_is_invisible(app_db_url):
    db = AppDb(app_db_url)
    db.save("acc", "acc private", DAY)
    db.save("acc", "acc shared", DAY, shared=True)
    db.save("respro", "respro own", DAY)
    at = saved_page(open_app(DAY, user="respro"))
    assert listed(at) == ["respro own · respro", "acc shared · shared · acc"]
    # respro may open acc's shared report, not rename or delete it.
    shared = next(r for r in stored(app_db_url) if r.name == "acc shared")
    assert [b for b in at.button if b.key == f"saved_delete_{shared.id}"] == []
    # The admin sees all three.
    admin = saved_page(open_app(DAY))
    assert sorted(listed(admin)) == ["acc private · acc", "acc shared · shared · acc",
                                     "respro own · respro"]


def test_a_shared_report_runs_with_the_openers_scope(app_db_url, small_db):
    admin = open_app(DAY)
    save(admin, "Everything", shared=True)
    assert total_calls(admin) == 27
    [report] = stored(app_db_url)

    at = saved_page(open_app(user="respro"))
    press(at, f"saved_open_{report.id}")
    assert applied(at).u == "respro"
    # A plain count of his users' (reseller 5's) calls that day: calls 25-28.
    engine = create_engine(f"sqlite:///{small_db}")
    with engine.connect() as conn:
        plain = conn.execute(select(func.count()).select_from(calls).where(
            calls.c.reseller_id == 5, calls.c.calldate.between("2024-03-15 00:00:00",
                                                               "2024-03-15 23:59:59"))).scalar()
    engine.dispose()
    assert plain == 4
    assert total_calls(at) == plain


def test_a_corrupt_app_database_is_a_message_and_reports_still_run(monkeypatch, tmp_path):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database at all, " * 100)
    monkeypatch.setenv("MOR_APP_DB_URL", f"sqlite:///{broken}")
    at = saved_page(open_app(DAY))
    [message] = [e.value for e in at.error]
    assert "app database" in message and "cannot be used" in message
    save(at, "Anything")
    assert any("Not saved" in e.value and "app database" in e.value for e in at.sidebar.error)
    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    assert total_calls(at) == 27


# --- relative periods in the sidebar, the URL and saved reports ---------------------------------

def _yesterday_utc() -> tuple[int, int]:
    day = datetime.now(timezone.utc).date() - timedelta(days=1)
    start = int(datetime.combine(day, time(0, 0), tzinfo=timezone.utc).timestamp())
    return start, start + 86_399


def test_a_preset_is_kept_by_name_in_the_url_and_a_saved_yesterday_stays_yesterday(app_db_url):
    before = _yesterday_utc()   # before and after: midnight may pass
    at = open_app(DAY)
    at.sidebar.selectbox(key="w_period").set_value("Yesterday")
    [run] = [b for b in at.sidebar.button if b.label == "Run report"]
    run.click()
    healthy(at.run())
    assert at.query_params["period"] == "yesterday"
    assert "from" not in at.query_params and "till" not in at.query_params
    assert (applied(at).from_, applied(at).till) in (before, _yesterday_utc())
    save(at, "Yesterday's calls")
    [report] = stored(app_db_url)
    assert report.params == {"period": "yesterday"}      # the name, never the day it was saved

    # A saved "yesterday" from long ago: opened now, it is today's yesterday.
    AppDb(app_db_url).save("admin", "Old yesterday", {"period": "yesterday", "group_by_day": "1"})
    [old] = [r for r in stored(app_db_url) if r.name == "Old yesterday"]
    at = saved_page(open_app(DAY))
    press(at, f"saved_open_{old.id}")
    params = applied(at)
    assert params.period == "yesterday" and params.group_by_day
    assert (params.from_, params.till) in (before, _yesterday_utc())
    assert at.query_params["period"] == "yesterday" and "from" not in at.query_params
    assert at.sidebar.selectbox(key="w_period").value == "Yesterday"


# --- the Alerts page ---------------------------------------------------------------------------

ALERTS_PAGE = "app_pages/alerts.py"
BUSY_ORIGINATORS = f"""[[rule]]
name = "busy originators"
params = {{ from = {FROM}, till = {TILL}, group_by_user = 1 }}
when = "total_calls > 5"
"""


def alerts_page(at: AppTest) -> AppTest:
    at.switch_page(ALERTS_PAGE)
    return healthy(at.run())


def save_rules(at: AppTest, text: str) -> AppTest:
    at.text_area(key="alerts_toml").set_value(text)
    return click(at, "Save rules")


def test_a_rule_that_fires_shows_its_rows_with_links(app_db_url):
    at = alerts_page(open_app(DAY))
    save_rules(at, BUSY_ORIGINATORS)
    assert any("Saved 1 rule" in s.value for s in at.success)
    [rule] = AppDb(app_db_url).rules_of("admin")
    assert (rule.name, rule.definition["when"]) == ("busy originators", "total_calls > 5")
    click(at, "Check now")
    # Originators 2 and 3 made 8 calls each that day; 4 made 5, the others fewer.
    [frame] = [d.value for d in at.dataframe]
    assert sorted(frame["originator_id"]) == [2, 3] and list(frame["total_calls"]) == [8, 8]
    links = [m.value for m in at.markdown if "](./?" in m.value]
    assert len(links) == 2
    for originator in (2, 3):
        assert any(f"s_originator_id={originator})" in link and f"from={FROM}" in link
                   and "group_by_user=1" in link for link in links), links
    # The editor holds (and Export hands over) the same TOML the command line reads.
    assert parse_rules(at.text_area(key="alerts_toml").value) == parse_rules(BUSY_ORIGINATORS)


def test_a_bad_rule_names_itself_and_stores_nothing(app_db_url):
    at = alerts_page(open_app(DAY))
    save_rules(at, BUSY_ORIGINATORS + '\n[[rule]]\nname = "typo"\nparams = {}\nwhen = "no_such < 1"\n')
    [message] = [e.value for e in at.error]
    assert "rule 'typo'" in message and "no_such" in message
    assert AppDb(app_db_url).rules_of("admin") == []


def test_rules_run_with_the_acting_users_scope(app_db_url):
    at = alerts_page(open_app(DAY, user="respro"))
    save_rules(at, BUSY_ORIGINATORS.replace("total_calls > 5", "total_calls > 0"))
    click(at, "Check now")
    [frame] = [d.value for d in at.dataframe]
    assert sorted(frame["originator_id"]) == [7, 8]       # his users only
