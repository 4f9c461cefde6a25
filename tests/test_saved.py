"""Saved reports in the app's own database, and `python -m core saved list|run` from cron.

Users of the small fixture (tests/fixture_small.py): admin (admin), acc (accountant),
respro (Reseller PRO, customers 7 and 8), reseller (plain reseller).
"""
from __future__ import annotations

import json

import pytest

from core.appdb import AppDatabaseError, AppDb, NameTaken, SavedNotFound, app_db_url
from core.errors import AccessDenied
from core.saved import Delivery, runner, saved_params
from tests.fixture_small import FROM, TILL, build_small_sqlite

ADMIN_ROLES = {"admin": "admin", "acc": "accountant", "respro": "Reseller PRO"}


@pytest.fixture
def db(tmp_path) -> AppDb:
    return AppDb(f"sqlite:///{tmp_path}/app/app.sqlite")


def test_the_folder_and_tables_are_created_with_a_schema_version(tmp_path):
    from sqlalchemy import create_engine, inspect, text
    db = AppDb(f"sqlite:///{tmp_path}/new/folder/app.sqlite")
    assert db.list_for("admin", True) == []
    engine = create_engine(f"sqlite:///{tmp_path}/new/folder/app.sqlite")
    tables = set(inspect(engine).get_table_names())
    assert {"saved_reports", "alert_rules", "alert_sent", "schema_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("select version from schema_version")).scalar() == 1


def test_a_newer_schema_is_refused(tmp_path):
    from sqlalchemy import create_engine, text
    url = f"sqlite:///{tmp_path}/app.sqlite"
    AppDb(url).list_for(None, True)
    with create_engine(url).begin() as conn:
        conn.execute(text("update schema_version set version = 7"))
    with pytest.raises(AppDatabaseError, match="schema version 7, newer than this program's 1"):
        AppDb(url).list_for(None, True)


def test_owner_lists_his_own_and_shared_and_the_admin_sees_all(db):
    db.save("acc", "Yesterday by group", {"period": "yesterday", "group_by_dst_group": "1"}, "aggregates")
    db.save("respro", "Mine", {"group_by_day": "1"})
    db.save("admin", "Shared margins", {"profit_show": "1"}, shared=True)
    assert [s.name for s in db.list_for("acc", False)] == ["Yesterday by group", "Shared margins"]
    assert [s.name for s in db.list_for("respro", False)] == ["Mine", "Shared margins"]
    assert {s.name for s in db.list_for("admin", True)} == {"Yesterday by group", "Mine", "Shared margins"}
    saved = db.get("Yesterday by group", "acc", False)
    assert (saved.owner, saved.page, saved.params) == ("acc", "aggregates",
                                                       {"period": "yesterday", "group_by_dst_group": "1"})
    with pytest.raises(SavedNotFound):
        db.get("Mine", "acc", False)          # not shared: invisible to others
    assert db.get("Mine", "admin", True).owner == "respro"


def test_saving_twice_under_one_name_asks_before_replacing(db):
    first = db.save("acc", "Daily", {"group_by_day": "1"})
    with pytest.raises(NameTaken, match="acc already has a saved report named 'Daily'"):
        db.save("acc", "Daily", {"group_by_hour": "1"})
    assert db.get("Daily", "acc", False).params == {"group_by_day": "1"}
    again = db.save("acc", "Daily", {"group_by_hour": "1"}, replace=True)
    assert again.id == first.id and again.params == {"group_by_hour": "1"}
    db.save("respro", "Daily", {"group_by_day": "1"})   # the name is per owner


def test_only_the_owner_or_the_admin_renames_and_deletes(db):
    mine = db.save("respro", "Mine", {"group_by_day": "1"}, shared=True)
    with pytest.raises(AccessDenied, match="respro's saved report"):
        db.rename(mine.id, "Hijacked", "acc", False)
    with pytest.raises(AccessDenied):
        db.delete(mine.id, "acc", False)
    assert db.rename(mine.id, "Renamed", "respro", False).name == "Renamed"
    db.save("respro", "Other", {})
    with pytest.raises(NameTaken):
        db.rename(mine.id, "Other", "respro", False)
    db.delete(mine.id, "admin", True)
    assert [s.name for s in db.list_for("respro", False)] == ["Other"]


def test_the_stored_u_and_hash_are_never_kept_and_the_opener_runs_with_his_own_scope(db):
    saved = db.save("admin", "All", {"u": "admin", "hash": "a" * 40, "group_by_user": "1"}, shared=True)
    assert saved.params == {"group_by_user": "1"}
    params = saved_params(db.get("All", "respro", False), "respro", "UTC")
    assert params.u == "respro" and params.group_by_user


def test_a_shared_report_runs_with_the_openers_scope(db, tmp_path):
    """The admin's shared report by originator, opened by the Reseller PRO, shows only
    his customers 7 (Rita) and 8 (Kowalski)."""
    from core.compare import run_report
    from core.settings import Settings
    from core.sources.db import DatabaseSource
    source = DatabaseSource(f"sqlite:///{build_small_sqlite(tmp_path / 'mor.sqlite')}")
    db.save("admin", "By originator", {"group_by_user": "1", "from": str(FROM), "till": str(TILL)},
            shared=True)
    saved = db.get("By originator", "respro", False)
    as_admin = run_report(source, saved_params(saved, "admin", "UTC"), Settings())
    as_respro = run_report(source, saved_params(saved, "respro", "UTC"), Settings())
    assert set(as_respro.rows["originator_id"]) == {7, 8}
    assert set(as_admin.rows["originator_id"]) > {7, 8}


def test_a_corrupt_app_database_is_one_clear_error(tmp_path):
    path = tmp_path / "app.sqlite"
    path.write_bytes(b"this is not a database, just garbage " * 200)
    with pytest.raises(AppDatabaseError) as caught:
        AppDb(f"sqlite:///{path}").list_for("admin", True)
    text = caught.value.full()
    assert "the app database sqlite:///" in text and "cannot be used: " in text
    assert "not a database" in text and "reports still run" in text


def test_the_app_database_is_never_a_mor_database(tmp_path):
    mor = f"sqlite:///{tmp_path}/mor.sqlite"
    with pytest.raises(AppDatabaseError, match="names a MOR database"):
        AppDb(f"sqlite:///{tmp_path}/./mor.sqlite", mor_urls=[mor])


def test_the_url_comes_from_the_environment_then_the_secrets_then_the_default():
    assert app_db_url({}, {}) == "sqlite:///data/app.sqlite"
    assert app_db_url({"app_db": {"url": "sqlite:///x.sqlite"}}, {}) == "sqlite:///x.sqlite"
    assert app_db_url({"app_db": {"url": "sqlite:///x.sqlite"}},
                      {"MOR_APP_DB_URL": "sqlite:///y.sqlite"}) == "sqlite:///y.sqlite"


# --- who runs it from the command line -------------------------------------------------------

def test_user_may_narrow_an_admins_report_never_widen_a_resellers(db):
    admins = db.save("admin", "A", {})
    resellers = db.save("respro", "R", {})
    assert runner(admins, None, None) == "admin"
    assert runner(admins, "acc", ADMIN_ROLES) == "acc"
    assert runner(resellers, "respro", None) == "respro"
    with pytest.raises(AccessDenied, match="runs as its owner only"):
        runner(resellers, "admin", ADMIN_ROLES)
    with pytest.raises(AccessDenied, match="does not tell users' roles"):
        runner(admins, "acc", None)
    with pytest.raises(AccessDenied, match="nobody may not run reports|may not run reports"):
        runner(admins, "nobody", ADMIN_ROLES)


def test_the_crontab_line_and_systemd_units(db):
    saved = db.save("acc", "Yesterday 100% by group", {"period": "yesterday"})
    delivery = Delivery(saved, workdir="/opt/mor aggregates", fmt="xlsx",
                        mail_to=["acc@example.com"], schedule="daily", at="06:30")
    assert delivery.crontab_line() == (
        f"30 6 * * * cd '/opt/mor aggregates' && .venv/bin/python -m core saved run {saved.id} "
        "--user acc --format xlsx --mail-to acc@example.com")
    service = delivery.systemd_service()
    assert "Description=MOR Aggregates: deliver the saved report Yesterday 100%% by group" in service
    assert (f"ExecStart=.venv/bin/python -m core saved run {saved.id} --user acc --format xlsx "
            "--mail-to acc@example.com") in service
    assert "WorkingDirectory=/opt/mor aggregates" in service and "Type=oneshot" in service
    timer = delivery.systemd_timer()
    assert "OnCalendar=*-*-* 06:30:00" in timer and f"Unit={delivery.unit_name}.service" in timer
    weekly = Delivery(saved, workdir="/srv", output="/srv/out 50%.csv", fmt="csv", schedule="weekly")
    assert weekly.crontab_line().startswith("0 7 * * 1 cd /srv && ")
    assert weekly.crontab_line().endswith("--output '/srv/out 50\\%.csv'")
    assert '"/srv/out 50%%.csv"' in weekly.systemd_service()


# --- python -m core saved ----------------------------------------------------------------------

@pytest.fixture
def setup(tmp_path, monkeypatch):
    mor = build_small_sqlite(tmp_path / "mor.sqlite")
    app_url = f"sqlite:///{tmp_path}/app.sqlite"
    monkeypatch.setenv("MOR_APP_DB_URL", app_url)
    monkeypatch.chdir(tmp_path)      # no secrets.toml here
    for name in ("MOR_SMTP_HOST", "MOR_SMTP_PORT", "MOR_SMTP_USER", "MOR_SMTP_FROM", "MOR_SMTP_SECURITY",
                 "MOR_SMTP_PASSWORD", "MOR_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite:///{mor}", AppDb(app_url)


def run(capsys, *args):
    from core.cli import main
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_saved_run_writes_the_owners_report(setup, capsys):
    mor, db = setup
    db.save("respro", "By originator", {"group_by_user": "1", "from": str(FROM), "till": str(TILL)})
    code, out, err = run(capsys, "saved", "run", "By originator", "--db", mor, "--format", "json")
    assert code == 0, err
    got = json.loads(out)
    assert {r["originator_id"] for r in got["rows"]} == {7, 8}     # respro's scope, not the admin's
    code, out, err = run(capsys, "saved", "run", "By originator", "--db", mor, "--user", "admin")
    assert code == 3 and "runs as its owner only" in err and out == ""


def test_saved_run_as_a_narrower_user(setup, capsys):
    mor, db = setup
    db.save("admin", "By originator", {"group_by_user": "1", "from": str(FROM), "till": str(TILL)})
    code, out, err = run(capsys, "saved", "run", "By originator", "--db", mor, "--format", "json",
                         "--user", "respro")
    assert code == 0, err
    assert {r["originator_id"] for r in json.loads(out)["rows"]} == {7, 8}


def test_saved_list_and_unknown_names(setup, capsys):
    mor, db = setup
    db.save("acc", "Daily", {"group_by_day": "1"})
    code, out, err = run(capsys, "saved", "list")
    assert code == 0 and "Daily" in out and "acc" in out and "group_by_day=1" in out
    code, out, err = run(capsys, "saved", "run", "Nope", "--db", mor)
    assert code == 3 and err.startswith("error: No saved report 'Nope'") and err.count("\n") == 1


def test_saved_commands_with_a_corrupt_app_database(setup, capsys, tmp_path):
    mor, _ = setup
    (tmp_path / "app.sqlite").write_bytes(b"\x00garbage" * 500)
    code, out, err = run(capsys, "saved", "list")
    assert code == 3 and out == "" and err.count("\n") == 1
    assert "the app database" in err and "not a database" in err and "Traceback" not in err
    # The reports themselves still run.
    code, out, err = run(capsys, "report", "--db", mor, "--format", "json", f"from={FROM}", f"till={TILL}")
    assert code == 0, err
