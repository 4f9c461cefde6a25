"""The chDB stand-in for a ClickHouse server (tests/clickhouse_http.py), through
clickhouse-connect's own client as our clickhousedb:// path uses it."""
from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from datetime import datetime

import clickhouse_connect
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests import clickhouse_http


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    proc, url = clickhouse_http.start(str(tmp_path_factory.mktemp("stand_in") / "data"))
    try:
        yield url
    finally:
        clickhouse_http.stop(proc)


@pytest.fixture
def client(base_url):
    port = int(base_url.rsplit(":", 1)[1])
    made = clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default", password="")
    try:
        yield made
    finally:
        made.close()


def test_query_round_trip(client):
    result = client.query("SELECT number * 2 AS n, toString(number) AS s FROM numbers(3)")
    assert result.column_names == ("n", "s")
    assert result.result_rows == [(0, "0"), (2, "1"), (4, "2")]
    assert client.server_tz.tzname(None) == "UTC"


def test_arrow_insert_then_count(client):
    client.command("CREATE DATABASE IF NOT EXISTS arrow_db")
    client.command("CREATE TABLE arrow_db.calls (id Int64, billsec Nullable(Int32), "
                   "calldate DateTime) ENGINE = MergeTree ORDER BY id")
    calls = pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                      "billsec": pa.array([60, None, 15], pa.int32()),
                      "calldate": pa.array([datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11),
                                            datetime(2024, 1, 2, 9, 30)], pa.timestamp("s"))})
    client.insert_arrow("arrow_db.calls", calls)
    assert client.command("SELECT count() FROM arrow_db.calls") == 3
    assert client.query("SELECT sum(billsec), countIf(billsec IS NULL), max(calldate) "
                        "FROM arrow_db.calls").result_rows == [(75, 1, datetime(2024, 1, 2, 9, 30))]


def test_native_insert_in_a_database(client, base_url):
    client.command("CREATE DATABASE IF NOT EXISTS native_db")
    client.command("CREATE TABLE native_db.users (id Int32, username Nullable(String)) "
                   "ENGINE = MergeTree ORDER BY id")
    port = int(base_url.rsplit(":", 1)[1])
    in_db = clickhouse_connect.get_client(host="127.0.0.1", port=port, database="native_db")
    try:
        in_db.insert("users", [[2, None], [1, "admin"]], column_names=["id", "username"])
        assert in_db.command("SELECT currentDatabase()") == "native_db"
        assert in_db.query("SELECT id, username FROM users ORDER BY id").result_rows == [
            (1, "admin"), (2, None)]
    finally:
        in_db.close()


def test_error_comes_back_with_clickhouse_message(client):
    with pytest.raises(DatabaseError) as info:
        client.query("SELECT * FROM no_such_table")
    assert info.value.code == 60
    assert "no_such_table" in str(info.value) and "UNKNOWN_TABLE" in str(info.value)


def test_settings_last_one_query(client):
    asked = client.query("SELECT getSetting('join_use_nulls')", settings={"join_use_nulls": 1})
    assert asked.result_rows == [(True,)]
    assert client.query("SELECT getSetting('join_use_nulls')").result_rows == [(False,)]


def test_wrong_password_refused(base_url):
    port = int(base_url.rsplit(":", 1)[1])
    with pytest.raises(DatabaseError) as info:
        clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default", password="nope")
    assert info.value.code == 516


def test_plain_http_ping_and_gzip(base_url):
    with urllib.request.urlopen(f"{base_url}/ping", timeout=10) as answer:
        assert answer.read() == b"Ok.\n"
    request = urllib.request.Request(f"{base_url}/?enable_http_compression=1", data=b"SELECT 1 + 2",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.headers["X-ClickHouse-Format"] == "TabSeparated"
        assert gzip.decompress(answer.read()) == b"3\n"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{base_url}/?query=SELECT%201%20%2B", timeout=10)   # SELECT 1 +
    assert info.value.code == 500 and info.value.headers["X-ClickHouse-Exception-Code"] == "62"
    assert info.value.read().startswith(b"Code: 62. DB::Exception: ")


def test_split_insert():
    split = clickhouse_http.split_insert
    assert split(b"INSERT INTO t (a, b) FORMAT CSV \n1,x\n2,y\n") == ("INSERT INTO t (a, b)", "CSV",
                                                                      b"1,x\n2,y\n")
    assert split(b"INSERT INTO t VALUES ('FORMAT CSV')") is None
    assert split(b"SELECT 1 FORMAT CSV") is None
