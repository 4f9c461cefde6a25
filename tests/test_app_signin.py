"""Sign-in in the app (AppTest), on the small hand-written MOR database as the demo source.

Who is who (tests/fixture_small.py): every password is "demo"; admin; acc the accountant;
jsmith1 a plain user; respro the Reseller PRO with users 7 (Rita) and 8 (Kowalski);
resplain a reseller without Reseller PRO; partner1 is blocked. On 2024-03-15 the admin's
report counts 27 records; the Reseller PRO's counts his users' calls 25-28: 4 records.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import and_, create_engine, func, select
from sqlalchemy.pool import NullPool
from streamlit.testing.v1 import AppTest

from core.schema import calls, users
from core.signin import WRONG_CREDENTIALS
from core.sources.db import DatabaseSource
from tests.app_driver import app_environment, apply_source, choose_source, click, healthy, open_app, sign_in
from tests.fixture_small import DEMO_SHA1, FROM, TILL, build_small_sqlite

DAY = {"from": str(FROM), "till": str(TILL)}
# Names in the fixture that only a signed-in user with the right scope may see.
NAMES = ("Rita", "Kowalski", "John office", "Carrier A", "ProvA1", "Paul Customer", "John Smith")


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    return build_small_sqlite(tmp_path_factory.mktemp("signin") / "mor_small.sqlite")


@pytest.fixture(autouse=True)
def app_env(monkeypatch, small_db):
    with app_environment(monkeypatch, small_db):
        yield


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def everything_shown(at: AppTest) -> str:
    """Every text on the page and in the sidebar, option labels included."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "metric",
                 "subheader", "header", "text"):
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(at, kind):
            parts += [str(o) for o in widget.options]
    return "\n".join(parts)


def totals(at: AppTest) -> dict:
    return at.dataframe[1].value.iloc[0].to_dict()


def run_report(at: AppTest) -> AppTest:
    [button] = [b for b in at.sidebar.button if b.label == "Run report"]
    button.click()
    return healthy(at.run())


def view_as_widget(at: AppTest):
    found = [w for w in at.sidebar.selectbox if w.key == "w_u"]
    return found[0] if found else None


def signed_in_count(db: Path, owner_id: int) -> int:
    """The Reseller PRO's calls on the fixture day, counted independently of core.query:
    his users' records in the period, neither card nor incoming calls."""
    engine = create_engine(f"sqlite:///{db}", poolclass=NullPool)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(calls.join(users, users.c.id == calls.c.user_id))
            .where(and_(users.c.owner_id == owner_id,
                        calls.c.calldate >= "2024-03-15 00:00:00",
                        calls.c.calldate <= "2024-03-15 23:59:59",
                        func.coalesce(calls.c.card_id, 0) == 0))).scalar_one()
    engine.dispose()
    return n


# --- before sign-in ------------------------------------------------------------------------------

def test_before_sign_in_nothing_but_the_form():
    at = open_app(DAY, user=None)
    assert [t.value for t in at.title] == ["Sign in"]
    assert [(w.label, w.proto.type) for w in at.text_input] == [("Username", 0), ("Password", 1)]
    assert [b.label for b in at.button] == ["Sign in"]
    assert errors(at) == [] and at.dataframe.len == 0 and at.metric.len == 0
    # No sidebar form, no acting user, no names of users, devices or providers.
    assert at.sidebar.selectbox.len == 0 and at.sidebar.checkbox.len == 0 and at.sidebar.button.len == 0
    shown = everything_shown(at)
    assert not [n for n in NAMES if n in shown]
    assert "report_params" not in at.session_state
    # The other pages do not exist yet: nothing to switch to.
    for page in ("app_pages/aggregates.py", "app_pages/data_source.py", "app_pages/charts.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    # The demo's password is said on the demo only.
    assert any("every user's password is `demo`" in i.value for i in at.info)


def test_the_demo_password_note_is_for_the_demo_only(monkeypatch, small_db):
    monkeypatch.setenv("MOR_SOURCE", "mor")
    at = open_app(DAY, user=None, secrets={"connections": {"mor": {"url": f"sqlite:///{small_db}"}}})
    assert [b.label for b in at.button] == ["Sign in"]
    assert not any("password is" in i.value for i in at.info)
    sign_in(at, "respro")
    assert at.session_state["source_name"] == "mor"
    assert totals(at)["total_calls"] == 4


def test_a_misnamed_sign_in_source_is_said_and_offers_no_form(monkeypatch):
    monkeypatch.setenv("MOR_SOURCE", "mysql")
    at = open_app(DAY, user=None)
    [message] = errors(at)
    assert "$MOR_SOURCE" in message and "mysql" in message and "demo, mor, analytics, mor_api" in message
    assert at.text_input.len == 0 and at.button.len == 0


# --- refusals -------------------------------------------------------------------------------------

def test_a_wrong_password_and_an_unknown_user_get_the_same_words():
    wrong = open_app(DAY, user="admin", password="Demo")
    unknown = open_app(DAY, user="nosuchuser", password="demo")
    [said_wrong], [said_unknown] = errors(wrong), errors(unknown)
    assert said_wrong == said_unknown
    assert said_wrong.startswith(f"**{WRONG_CREDENTIALS}**")
    for at in (wrong, unknown):
        assert "signed_in" not in at.session_state and at.dataframe.len == 0
        assert [t.value for t in at.title] == ["Sign in"]
        # The browser clears the form after every attempt: the password is not left in it.
        [form] = at.get("form")
        assert form.proto.form.clear_on_submit


def test_a_blocked_user_is_refused_with_the_right_password():
    at = open_app(DAY, user="partner1")
    [message] = errors(at)
    assert "blocked" in message and "signed_in" not in at.session_state


@pytest.mark.parametrize("user", ["jsmith1", "acc"])
def test_a_plain_user_and_an_accountant_without_the_permission_are_refused(user):
    at = open_app(DAY, user=user)
    [message] = errors(at)
    assert "Access Denied" in message and "may not see these reports" in message
    assert "signed_in" not in at.session_state and at.dataframe.len == 0
    assert not [n for n in NAMES if n in everything_shown(at)]


def test_an_accountant_with_the_permission_signs_in_without_money(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    at = open_app(DAY, user="acc")
    assert errors(at) == []
    assert totals(at)["total_calls"] == 27
    assert "billed_originator" not in at.dataframe[0].value.columns   # no financial permission


def test_throttled_after_five_failures_even_with_the_right_password(monkeypatch):
    at = open_app(DAY, user=None)
    for _ in range(5):
        sign_in(at, "admin", "guess")
        assert errors(at) == [f"**{WRONG_CREDENTIALS}**  \ncheck both and try again"]
    sign_in(at, "admin", "demo")
    [message] = errors(at)
    assert "Too many failed sign-ins" in message and "10 minutes" in message
    assert "signed_in" not in at.session_state
    sign_in(at, "respro", "demo")            # this browser used up its tries, for any user
    assert "Too many failed sign-ins" in errors(at)[0]
    # Another browser: the admin's username is still locked, another user is not.
    from ui import state
    monkeypatch.setattr(state, "_session_id", lambda: "another browser")
    other = open_app(DAY, user="admin")
    assert "Too many failed sign-ins" in errors(other)[0]
    other = open_app(DAY, user="respro")
    assert errors(other) == [] and totals(other)["total_calls"] == 4


# --- a signed-in Reseller PRO ----------------------------------------------------------------------

def test_a_reseller_pro_sees_only_his_users_calls(small_db):
    at = open_app(DAY, user="respro")
    assert errors(at) == []
    expected = signed_in_count(small_db, owner_id=5)
    assert expected == 4                                    # calls 25-28, by hand
    assert totals(at)["total_calls"] == expected
    assert [m.value for m in at.metric][0] == str(expected)
    assert set(at.dataframe[0].value["originator_id"]) == {7, 8}
    # Who he is, in the sidebar; no choice of acting user; only his users to filter by.
    assert any("Signed in as **respro** · Reseller PRO" in m.value for m in at.sidebar.markdown)
    assert view_as_widget(at) is None
    [originators] = [w for w in at.sidebar.selectbox if w.key == "w_s_originator_id"]
    assert originators.options == ["All", "Rita (#7)", "Kowalski (#8)"]
    assert "John Smith" not in everything_shown(at)


def test_a_url_cannot_escalate(small_db):
    at = open_app({**DAY, "u": "admin"}, user="respro")
    assert errors(at) == []
    assert at.session_state["report_params"].u == "respro"
    assert at.query_params["u"] == "respro"                 # the address bar says who acts
    assert totals(at)["total_calls"] == 4
    # The URL is re-read on no page switch either.
    at.switch_page("app_pages/charts.py")
    healthy(at.run())
    assert at.session_state["report_params"].u == "respro"


def test_a_url_naming_another_user_runs_as_the_signed_in_admin():
    at = open_app({**DAY, "u": "nobody"})
    assert errors(at) == []
    assert at.session_state["report_params"].u == "admin" and at.query_params["u"] == "admin"
    assert totals(at)["total_calls"] == 27


def test_others_see_the_settings_read_only(monkeypatch):
    monkeypatch.setenv("MOR_TIMEZONE", "Europe/Vilnius")
    at = open_app(DAY, page="app_pages/data_source.py", user="respro")
    assert errors(at) == []
    assert at.main.radio.len == 0 and at.main.selectbox.len == 0
    assert [b.label for b in at.main.button] == []           # no freshness, no connection test
    shown = " ".join(m.value for m in at.markdown)
    assert "**Europe/Vilnius**" in shown and "Demo database" in shown
    assert "Only MOR's admin chooses" in " ".join(c.value for c in at.caption)
    # State cannot be talked into it either: only the admin sets rules.
    at.session_state["report_rules"] = {"timezone": "Asia/Tokyo", "answered_rule": "hangupcause"}
    healthy(at.run())
    assert "**Europe/Vilnius**" in " ".join(m.value for m in at.markdown)


# --- signing out ----------------------------------------------------------------------------------

def test_sign_out_ends_the_session_and_forgets_his_choices(monkeypatch):
    listed = []
    real_choices = DatabaseSource.choices

    def counting(self, username, settings):
        listed.append(username)
        return real_choices(self, username, settings)
    monkeypatch.setattr(DatabaseSource, "choices", counting)

    at = open_app({**DAY, "group_by_day": "1"}, user="respro")
    assert listed == ["respro"]
    healthy(at.run())
    assert listed == ["respro"]                              # cached
    [sign_out] = [b for b in at.sidebar.button if b.label == "Sign out"]
    sign_out.click()
    healthy(at.run())
    assert [t.value for t in at.title] == ["Sign in"]
    for name in ("signed_in", "report_params", "view_as", "source_name", "w_u", "w_group_by_day"):
        assert name not in at.session_state
    assert dict(at.query_params) == {}
    assert at.dataframe.len == 0 and at.sidebar.selectbox.len == 0
    sign_in(at, "respro")
    assert listed == ["respro", "respro"]                    # his cached names were forgotten
    assert not at.session_state["report_params"].group_by_day


# --- the admin views as someone ---------------------------------------------------------------------

def test_the_admin_views_as_a_reseller_pro_with_a_banner_and_comes_back():
    at = open_app(DAY)
    assert not any("Viewing as" in i.value for i in at.info)
    assert [o.split(" ")[0] for o in view_as_widget(at).options] == ["admin", "acc", "respro", "resplain"]
    view_as_widget(at).set_value("respro")
    run_report(at)
    assert errors(at) == []
    assert totals(at)["total_calls"] == 4
    assert at.query_params["u"] == "respro"
    for page in ("app_pages/aggregates.py", "app_pages/charts.py", "app_pages/data_source.py",
                 "app_pages/about.py"):
        at.switch_page(page)
        healthy(at.run())
        [banner] = [i.value for i in at.info if "Viewing as" in i.value]
        assert banner.startswith("Viewing as **respro** (Reseller PRO)")
        assert [b.label for b in at.main.button if b.label == "Back to admin"] == ["Back to admin"]
    # Viewing as someone, the admin keeps the settings.
    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    assert at.radio(key="source_radio").value == "demo"
    assert any("Signed in as **admin** · admin" in m.value for m in at.sidebar.markdown)

    at.switch_page("app_pages/aggregates.py")
    healthy(at.run())
    click(at, "Back to admin")
    assert not any("Viewing as" in i.value for i in at.info)
    assert at.session_state["report_params"].u == "admin" and view_as_widget(at).value == "admin"
    assert totals(at)["total_calls"] == 27


def test_nobody_but_the_admin_may_view_as(small_db):
    at = open_app(DAY, user="respro")
    at.session_state["view_as"] = ("admin", "admin")   # planted: ignored for a non-admin
    at.session_state["w_u"] = "admin"
    run_report(at)
    assert at.session_state["report_params"].u == "respro"
    assert totals(at)["total_calls"] == 4



def test_the_password_is_kept_nowhere(caplog):
    """Neither a typed password nor the stored digest in session state, on the page or in a
    log. ("demo" itself is also the demo source's name, so a wrong one is traced instead.)"""
    caplog.set_level("DEBUG")
    for password, signed_in in (("hunter2-typed", False), ("demo", True)):
        at = open_app(DAY, user="admin", password=password)
        assert ("signed_in" in at.session_state) is signed_in
        kept, shown = repr(at.session_state.to_dict()), everything_shown(at)
        assert "hunter2" not in kept and "hunter2" not in shown
        assert DEMO_SHA1 not in kept and DEMO_SHA1 not in shown
    assert "hunter2" not in caplog.text and DEMO_SHA1 not in caplog.text


S3CRET_SHA1 = "fef341f85d87439e7d91a2d465b9871ef66b5e98"   # sha1("s3cret")


def other_database(tmp_path: Path, **admin) -> Path:
    """A second MOR database: the small fixture, whose admin row is changed as given."""
    from sqlalchemy import update
    path = build_small_sqlite(tmp_path / "other.sqlite")
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == "admin").values(**admin))
    engine.dispose()
    return path


def test_switching_source_asks_the_password_there(tmp_path):
    """The demo's admin password is public: signed in there, the admin of another source is
    someone else until that source's own password proves otherwise."""
    other = other_database(tmp_path, password=S3CRET_SHA1)   # sha1("s3cret")
    at = open_app(secrets={"connections": {"mor": {"url": f"sqlite:///{other}"}}})
    choose_source(at, "mor")
    apply_source(at, password="demo")
    assert any(WRONG_CREDENTIALS in e for e in errors(at))
    assert at.session_state["source_name"] == "demo"
    apply_source(at, password="s3cret")
    assert not errors(at) and at.session_state["source_name"] == "mor"
    # Once proven, switching back and forth asks nothing more this session.
    choose_source(at, "demo")
    assert not [b for b in at.text_input if b.label.startswith("Your password on")]


def test_only_that_sources_admin_may_switch_to_it(tmp_path):
    other = other_database(tmp_path, usertype="accountant")
    at = open_app(secrets={"connections": {"mor": {"url": f"sqlite:///{other}"}}})
    choose_source(at, "mor")
    apply_source(at, password="demo")
    assert errors(at) and at.session_state["source_name"] == "demo"
