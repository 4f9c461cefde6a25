"""The database fixtures themselves: every engine builds, fills and reads back a database."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.schema import calls, users
from tests.engines import ENGINE_KINDS, selected_engine_kinds

USERS = [
    {"id": 2, "username": "alice", "usertype": "user"},
    {"id": 3, "username": "bob", "usertype": "reseller", "first_name": "Bob", "owner_id": 0},
]
CALLS = [
    {"id": 1, "calldate": datetime(2024, 1, 31, 23, 59, 59), "user_id": 2, "billsec": 60,
     "user_price": 0.5, "disposition": "ANSWERED"},
    {"id": 2, "calldate": "2024-02-01 00:00:00", "user_id": 3, "dst": "37060000000"},
    {"id": 3, "calldate": "2024-02-01 12:34:56", "user_id": 2, "uniqueid": "ünï-ĉödé"},
]


def test_build_and_read_back(make_db, engine_kind):
    engine = make_db({"users": USERS, "calls": CALLS})
    with engine.connect() as conn:
        got_users = conn.execute(
            select(users.c.id, users.c.username, users.c.first_name, users.c.owner_id,
                   users.c.responsible_accountant_id).order_by(users.c.id)).all()
        got_calls = conn.execute(
            select(calls.c.id, calls.c.calldate, calls.c.user_id, calls.c.billsec,
                   calls.c.user_price, calls.c.disposition, calls.c.dst, calls.c.uniqueid,
                   calls.c.callertype).order_by(calls.c.id)).all()
    assert [tuple(r) for r in got_users] == [
        (2, "alice", "", 0, -1),  # missing columns took the schema defaults
        (3, "bob", "Bob", 0, -1),
    ]
    assert [r.id for r in got_calls] == [1, 2, 3]
    assert [r.calldate for r in got_calls] == [
        datetime(2024, 1, 31, 23, 59, 59), datetime(2024, 2, 1), datetime(2024, 2, 1, 12, 34, 56)]
    assert [r.user_id for r in got_calls] == [2, 3, 2]
    assert [r.billsec for r in got_calls] == [60, 0, 0]
    assert [float(r.user_price) for r in got_calls] == [0.5, 0.0, 0.0]
    assert [r.disposition for r in got_calls] == ["ANSWERED", "", ""]
    assert got_calls[1].dst == "37060000000"
    assert got_calls[2].uniqueid == "ünï-ĉödé"
    assert {r.callertype for r in got_calls} == {"Local"}


def test_calldate_bounds_compare_as_datetimes(make_db):
    engine = make_db({"calls": CALLS})
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(calls).where(
            calls.c.calldate.between(datetime(2024, 2, 1), datetime(2024, 2, 1, 23, 59, 59))
        )).scalar_one()
    assert n == 2


def test_each_database_is_fresh(make_db, engine_kind):
    first = make_db({"users": USERS})
    second = make_db({})
    with first.connect() as c1, second.connect() as c2:
        assert c1.execute(select(func.count()).select_from(users)).scalar_one() == 2
        assert c2.execute(select(func.count()).select_from(users)).scalar_one() == 0
        assert c2.execute(select(func.count()).select_from(calls)).scalar_one() == 0


def test_rows_with_different_keys_keep_their_values(make_db):
    engine = make_db({"calls": [
        {"id": 1, "calldate": "2024-01-01 00:00:00"},
        {"id": 2, "calldate": "2024-01-01 00:00:00", "user_id": 7, "provider_id": 9},
    ]})
    with engine.connect() as conn:
        rows = conn.execute(select(calls.c.id, calls.c.user_id, calls.c.provider_id)
                            .order_by(calls.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, 0, 0), (2, 7, 9)]


def test_unknown_table_or_column_is_a_clear_error(make_db):
    with pytest.raises(ValueError, match="no column"):
        make_db({"users": [{"id": 1, "username": "x", "usertype": "user", "nope": 1}]})
    with pytest.raises(ValueError, match="unknown table"):
        make_db({"no_such_table": [{"id": 1}]})


def test_url_opens_the_same_database_in_another_process(db_url_factory):
    engine, url = db_url_factory({"users": USERS})
    with engine.connect() as conn:  # the fixture's engine is usable alongside
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 2
    # core.clickhouse.create: plain create_engine for every URL but chdb:///DIR?database=NAME
    code = ("import sys; from sqlalchemy import text; from core.clickhouse import create as create_engine; "
            "e = create_engine(sys.argv[1]); c = e.connect(); "
            "print(c.execute(text('SELECT username FROM users ORDER BY id')).scalars().all())")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['alice', 'bob']"


@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_mariadb_account_is_read_only(db_url_factory, engine_kind):
    engine, url = db_url_factory({"users": USERS})
    assert "mor_reader" in url and "charset=utf8mb4" in url
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 2
        grants = " ".join(conn.execute(text("SHOW GRANTS")).scalars())
        assert "SELECT" in grants and "INSERT" not in grants and "ALL PRIVILEGES" not in grants
        assert conn.execute(text("SELECT @@character_set_connection")).scalar_one() == "utf8mb4"
    for statement in [
        users.insert().values(id=9, username="mallory", usertype="admin"),
        users.update().values(username="mallory"),
        users.delete(),
        text("CREATE TABLE sneaky (id INTEGER)"),
        text("DROP TABLE users"),
        text("CREATE DATABASE t_sneaky"),
    ]:
        with engine.connect() as conn:
            with pytest.raises(DBAPIError) as info:
                conn.execute(statement)
                conn.commit()
            assert info.value.orig.args[0] in (1044, 1142), info.value  # access denied
    with engine.connect() as conn:
        assert conn.execute(select(users.c.username).order_by(users.c.id)).scalars().all() == [
            "alice", "bob"]


def test_selected_engine_kinds(monkeypatch):
    monkeypatch.delenv("MOR_TEST_ENGINES", raising=False)
    assert selected_engine_kinds() == ENGINE_KINDS
    assert selected_engine_kinds("duckdb, SQLite") == ("sqlite", "duckdb")
    monkeypatch.setenv("MOR_TEST_ENGINES", "mariadb")
    assert selected_engine_kinds() == ("mariadb",)
    with pytest.raises(ValueError, match="postgres"):
        selected_engine_kinds("postgres")
