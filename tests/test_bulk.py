"""Reading calls from MySQL/MariaDB in bulk (core/bulk.py): batches, types, and secrets."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, select

from core import bulk
from core.schema import calls

CALLS = [
    {"id": 5, "calldate": "2024-03-01 10:00:00", "user_id": 11, "billsec": 30, "user_price": 1.25,
     "dst": "37060000001", "disposition": "ANSWERED"},
    {"id": 7, "calldate": "2024-03-01 23:59:59", "user_id": 12, "billsec": 0, "user_price": 0,
     "dst": "447000", "disposition": "NO ANSWER"},
    {"id": 9, "calldate": "2024-03-02 00:00:00", "user_id": 11, "billsec": 61, "user_price": 2.5,
     "dst": "3706", "disposition": "ANSWERED"},
]


@pytest.mark.parametrize("ahead", [0, 1], ids=["in_turn", "read_ahead"])
@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_calls_come_in_batches_of_the_copys_types(make_db, engine_kind, ahead):
    engine = make_db({"calls": CALLS})
    assert bulk.available(engine)
    stmt = select(*calls.columns).where(calls.c.id > 5).order_by(calls.c.id)
    batches = list(bulk.arrow_batches(engine, stmt, 1, calls, ahead=ahead))
    assert [b.num_rows for b in batches] == [1, 1]
    rows = [r for b in batches for r in b.to_pylist()]
    assert [(r["id"], r["calldate"], r["user_id"], r["billsec"], r["user_price"], r["dst"],
             r["disposition"]) for r in rows] == [
        (7, datetime(2024, 3, 1, 23, 59, 59), 12, 0, 0.0, "447000", "NO ANSWER"),
        (9, datetime(2024, 3, 2, 0, 0, 0), 11, 61, 2.5, "3706", "ANSWERED")]
    assert batches[0].schema == bulk.schema(calls)


def test_only_plain_mysql_urls_are_read_in_bulk():
    assert not bulk.available(create_engine("sqlite://"))
    with_tls = create_engine("mysql+pymysql://reader@db.example/mor?ssl_ca=/etc/ca.pem")
    assert not bulk.available(with_tls)          # connectorx would not apply the TLS options
    assert bulk.available(create_engine("mysql+pymysql://reader:pw@db.example/mor?charset=utf8mb4"))


@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_a_failed_bulk_read_never_shows_the_password(make_db, engine_kind):
    engine = make_db({"calls": CALLS})
    wrong = create_engine(engine.url.set(password="S3cret-Canary"))
    with pytest.raises(bulk.BulkReadError) as caught:
        list(bulk.arrow_batches(wrong, select(*calls.columns), 10, calls))
    assert "S3cret-Canary" not in str(caught.value)
    assert str(caught.value)
