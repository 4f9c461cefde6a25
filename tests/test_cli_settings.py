"""Report settings from options, the environment and configuration, and the accountant's
permissions on `report` and `serve` (MOR's rule: granted, not assumed)."""
from __future__ import annotations

import json

import pytest

from core.settings import Settings, SettingsError, settings_from
from tests.fixture_small import epoch
from tests.test_cli import PERIOD, one_line_error

# --- settings_from ----------------------------------------------------------------------------

def test_nothing_configured_is_utc_disposition_and_no_accountant_rights():
    assert settings_from({}, {}) == Settings(timezone="UTC", answered_rule="disposition",
                                             accountant_stats=False, accountant_financial=False)


def test_configuration_then_environment_then_options():
    config = {"timezone": "Europe/Vilnius", "answered_rule": "hangupcause",
              "accountant_stats": True, "accountant_financial": 1}
    assert settings_from(config, {}) == Settings("Europe/Vilnius", "hangupcause", True, True)
    env = {"MOR_TIMEZONE": "America/New_York", "MOR_ACCOUNTANT_STATS": "0"}
    assert settings_from(config, env) == Settings("America/New_York", "hangupcause", False, True)
    assert settings_from(config, env, timezone="Asia/Tokyo", accountant_stats="1",
                         answered_rule=None) == Settings("Asia/Tokyo", "hangupcause", True, True)


def test_the_environment_is_read_by_default(monkeypatch):
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    monkeypatch.delenv("MOR_ACCOUNTANT_FINANCIAL", raising=False)
    monkeypatch.delenv("MOR_TIMEZONE", raising=False)
    monkeypatch.delenv("MOR_ANSWERED_RULE", raising=False)
    settings = settings_from()
    assert (settings.accountant_stats, settings.accountant_financial) == (True, False)


@pytest.mark.parametrize("variable, value", [
    ("MOR_ACCOUNTANT_STATS", "yes"), ("MOR_ACCOUNTANT_STATS", "2"), ("MOR_ACCOUNTANT_STATS", ""),
    ("MOR_ACCOUNTANT_FINANCIAL", " 1"), ("MOR_ACCOUNTANT_FINANCIAL", "true"),
    ("MOR_TIMEZONE", ""), ("MOR_TIMEZONE", "Mars/Base"), ("MOR_TIMEZONE", "America"),
    ("MOR_TIMEZONE", "x" * 5000), ("MOR_ANSWERED_RULE", "answered"), ("MOR_ANSWERED_RULE", ""),
])
def test_a_bad_variable_is_named(variable, value):
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        settings_from({}, {variable: value})


@pytest.mark.parametrize("key, value", [("accountant_stats", 2), ("accountant_financial", "on"),
                                        ("timezone", 5), ("answered_rule", "x")])
def test_a_bad_configuration_value_is_named(key, value):
    with pytest.raises(SettingsError, match=rf"^\[report\] {key}: "):
        settings_from({key: value}, {})


def test_unknown_settings_are_a_programming_error():
    with pytest.raises(TypeError, match="accountant_money"):
        settings_from({}, {}, accountant_money=True)


# --- the accountant on `report` ---------------------------------------------------------

@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_an_accountant_is_refused_until_granted(cli_run, small_url):
    line = one_line_error(cli_run("report", "--db", small_url, "--user", "acc", *PERIOD), 3)
    assert "Access Denied" in line and "statistics" in line
    line = one_line_error(cli_run("report", "--db", small_url, "--user", "acc", "--accountant-stats",
                                  "0", *PERIOD, env={"MOR_ACCOUNTANT_STATS": "1"}), 3)
    assert "Access Denied" in line  # the option wins over the environment


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("how", [dict(args=["--accountant-stats", "1"]),
                                 dict(env={"MOR_ACCOUNTANT_STATS": "1"}),
                                 dict(args=["--accountant-stats", "1"],
                                      env={"MOR_ACCOUNTANT_STATS": "0"})])
def test_a_granted_accountant_sees_statistics_without_money(cli_run, small_url, how):
    result = cli_run("report", "--db", small_url, "--user", "acc", "--format", "json", *PERIOD,
                     "profit_show=1", *how.get("args", []), env=how.get("env"))
    assert result.returncode == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert totals["total_calls"] == 27  # the fixture's counted records (tests/fixture_small.py)
    for money in ("billed_originator", "billed_terminator", "profit", "margin", "markup"):
        assert money not in totals


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("how", [dict(args=["--accountant-financial", "1"]),
                                 dict(env={"MOR_ACCOUNTANT_FINANCIAL": "1"})])
def test_money_columns_once_financial_is_granted(cli_run, small_url, how):
    result = cli_run("report", "--db", small_url, "--user", "acc", "--accountant-stats", "1",
                     "--format", "json", *PERIOD, "profit_show=1", *how.get("args", []),
                     env=how.get("env"))
    assert result.returncode == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert totals["billed_originator"] == pytest.approx(18.9)  # as for the admin, by hand
    assert totals["profit"] == pytest.approx(18.9 - 9.95)


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_financial_off_hides_money_even_from_a_csv(cli_run, small_url):
    result = cli_run("report", "--db", small_url, "--user", "acc", "--format", "csv", *PERIOD,
                     "profit_show=1", env={"MOR_ACCOUNTANT_STATS": "1", "MOR_ACCOUNTANT_FINANCIAL": "0"})
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split(",")
    assert "total_calls" in header and "billed_originator" not in header and "profit" not in header


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("command", ["report", "serve"])
@pytest.mark.parametrize("variable, value", [("MOR_ACCOUNTANT_STATS", "yes"),
                                             ("MOR_ACCOUNTANT_FINANCIAL", ""),
                                             ("MOR_TIMEZONE", "Mars/Base"),
                                             ("MOR_ANSWERED_RULE", "x")])
def test_a_bad_variable_is_exit_2_naming_it(cli_run, small_url, command, variable, value):
    line = one_line_error(cli_run(command, "--db", small_url, env={variable: value}), 2)
    assert f"{variable}: " in line


# --- time zone and answered rule from the environment ------------------------------------------

ONE_CALL = {
    "users": [dict(id=0, username="admin", usertype="admin"),
              dict(id=2, username="u2", usertype="user")],
    "currencies": [dict(id=1, name="USD", exchange_rate=1)],
    # stored wall-clock 02:30; MOR says answered, the hang-up cause says otherwise (17: busy)
    "calls": [dict(id=1, calldate="2024-03-15 02:30:00", user_id=2, disposition="ANSWERED",
                   hangupcause=17, billsec=60, user_price=1.0, provider_price=0.5, uniqueid="a")],
}
# 00:00-00:59:59 UTC: 02:00-02:59:59 in Vilnius (UTC+2 in March), so the call is in only there
HOUR = [f"from={epoch('2024-03-15 00:00:00')}", f"till={epoch('2024-03-15 00:59:59')}"]


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("args, env, calls", [
    ([], {}, 0),
    ([], {"MOR_TIMEZONE": "Europe/Vilnius"}, 1),
    (["--timezone", "UTC"], {"MOR_TIMEZONE": "Europe/Vilnius"}, 0),
    (["--timezone", "Europe/Vilnius"], {}, 1),
])
def test_time_zone_from_option_or_environment(cli_run, db_url_factory, args, env, calls):
    _, url = db_url_factory(ONE_CALL)
    result = cli_run("report", "--db", url, "--format", "json", *HOUR, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["total_calls"] == calls


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("args, env, answered", [
    ([], {}, 1),
    ([], {"MOR_ANSWERED_RULE": "hangupcause"}, 0),
    (["--answered-rule", "disposition"], {"MOR_ANSWERED_RULE": "hangupcause"}, 1),
])
def test_answered_rule_from_option_or_environment(cli_run, db_url_factory, args, env, answered):
    _, url = db_url_factory(ONE_CALL)
    result = cli_run("report", "--db", url, "--format", "json", "--timezone", "Europe/Vilnius",
                     *HOUR, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["answered_calls"] == answered


# --- the accountant on `serve` ------------------------------------------------------------

@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("args, env, expected", [
    ([], {}, (False, False)),
    (["--accountant-stats", "1"], {"MOR_ACCOUNTANT_FINANCIAL": "1"}, (True, True)),
    (["--accountant-financial", "0"], {"MOR_ACCOUNTANT_STATS": "1", "MOR_ACCOUNTANT_FINANCIAL": "1"},
     (True, False)),
])
def test_serve_takes_the_accountant_permissions(cli_run, monkeypatch, small_url, args, env, expected):
    import core.server
    seen = []
    real_create_app = core.server.create_app

    def create_app(source, settings, *rest, **options):
        seen.append(settings)
        return real_create_app(source, settings, *rest, **options)

    class Server:
        effective_host, effective_port = "127.0.0.1", 8080

        def run(self):
            pass

        def close(self):
            pass
    monkeypatch.setattr(core.server, "create_app", create_app)
    monkeypatch.setattr(core.server, "create_server", lambda *a, **k: Server())
    result = cli_run("serve", "--db", small_url, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert [(s.accountant_stats, s.accountant_financial) for s in seen] == [expected]

