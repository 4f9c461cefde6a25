"""core.demo: the generated MOR database is deterministic, realistic and safe to (re)build.

Only SQLite and DuckDB temp files; no server needed.
"""
from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from core import demo
from core.demo import DemoExists, build_demo, ensure_demo
from core.schema import CALL_COLUMNS

NOW = datetime(2026, 3, 10, 15, 30, 0)
N = 20_000


def _sqlite(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _frame(path, table):
    con = sqlite3.connect(path)
    try:
        return pd.read_sql_query(f"SELECT * FROM {table} ORDER BY id", con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "sub" / "demo.sqlite"   # parent is created
    messages = []
    summary = build_demo(f"sqlite:///{path}", calls=N, days=30, seed=7, now=NOW,
                         progress=messages.append)
    return path, summary, messages


@pytest.fixture(scope="module")
def calls(built):
    path, _, _ = built
    frame = _frame(path, "calls")
    frame["calldate"] = pd.to_datetime(frame["calldate"])
    return frame


def test_summary_and_counts(built):
    path, summary, messages = built
    assert summary.calls == N
    assert summary.counts["calls"] == N
    for table, count in summary.counts.items():
        assert _sqlite(path, f"SELECT COUNT(*) FROM {table}")[0][0] == count
    assert summary.counts["users"] >= 50 and summary.counts["providers"] >= 10
    assert summary.last_calldate <= NOW and summary.first_calldate >= NOW - timedelta(days=30)
    assert messages, "progress was never called"
    assert not [p for p in path.parent.iterdir() if p.name != path.name], "temp file left"


def test_deterministic_for_seed_and_now(tmp_path, built, calls):
    again = tmp_path / "again.sqlite"
    build_demo(f"sqlite:///{again}", calls=N, days=30, seed=7, now=NOW)
    pd.testing.assert_frame_equal(_frame(built[0], "calls"), _frame(again, "calls"))
    pd.testing.assert_frame_equal(_frame(built[0], "users"), _frame(again, "users"))
    other = tmp_path / "other.sqlite"
    build_demo(f"sqlite:///{other}", calls=N, days=30, seed=8, now=NOW)
    assert not _frame(other, "calls").equals(_frame(built[0], "calls"))


def test_duckdb_gets_the_same_calls(tmp_path, calls):
    path = tmp_path / "demo.duckdb"
    build_demo(f"duckdb:///{path}", calls=N, days=30, seed=7, now=NOW)
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute("SELECT * FROM calls ORDER BY id").df()
        indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    finally:
        con.close()
    assert list(frame.columns) == list(CALL_COLUMNS)
    assert len(frame) == N
    assert (pd.to_datetime(frame["calldate"]).values == calls["calldate"].values).all()
    for col in ("uniqueid", "clid", "dst", "disposition", "prefix"):
        assert frame[col].tolist() == calls[col].tolist(), col
    for col in ("user_price", "provider_price", "real_billsec"):
        assert (frame[col].astype(float) - calls[col]).abs().max() < 1e-9, col
    assert {"calls_calldate", "calls_uniqueid", "demo_calls_calldate_user_provider"} <= indexes


def test_calls_end_at_now(calls):
    last = calls["calldate"].max()
    assert NOW - timedelta(minutes=10) <= last <= NOW
    assert calls["calldate"].min() >= NOW - timedelta(days=30)
    ends = calls["calldate"] + pd.to_timedelta(calls["duration"], unit="s")
    assert ends.max() <= NOW + timedelta(seconds=5)
    today = calls["calldate"] >= NOW.replace(hour=0, minute=0, second=0)
    assert today.sum() > 0
    assert (calls["calldate"] >= NOW - timedelta(hours=1)).sum() >= 10


@pytest.mark.parametrize("now", [datetime(2026, 3, 10, 0, 0, 40), datetime(2026, 3, 10, 0, 5),
                                 datetime(2026, 3, 10, 0, 59, 59, 999999)])
def test_calls_today_right_after_midnight(now):
    frame = demo.demo_tables(3000, days=3, seed=1, now=now)["calls"]
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert (frame["calldate"] >= midnight).sum() > 0
    assert frame["calldate"].max() <= now


def test_aware_now_is_read_as_utc():
    aware = datetime(2026, 3, 10, 17, 30, tzinfo=timezone(timedelta(hours=2)))
    a = demo.demo_tables(2000, days=2, seed=3, now=aware)["calls"]
    b = demo.demo_tables(2000, days=2, seed=3, now=NOW)["calls"]
    pd.testing.assert_frame_equal(a, b)


def test_roles_conflines_currencies(built):
    path = built[0]
    users = _frame(path, "users").set_index("id")
    assert users.loc[0, "username"] == "admin" and users.loc[0, "usertype"] == "admin"
    pro = users[users["username"] == "reseller_pro"].iloc[0]
    assert pro["usertype"] == "reseller" and pro["own_providers"] == 1
    plain = users[users["username"] == "reseller"].iloc[0]
    assert plain["usertype"] == "reseller" and plain["own_providers"] == 0
    assert (users["usertype"] == "accountant").any()
    assert (users[users["username"] == "accountant"]["usertype"] == "accountant").all()
    plain_users = users[users["usertype"] == "user"]
    assert 45 <= len(plain_users) <= 60
    assert 6 <= (plain_users["owner_id"] == pro.name).sum() <= 10
    assert 2 <= (plain_users["owner_id"] == plain.name).sum() <= 4
    full = (plain_users["first_name"].fillna("") + " "
            + plain_users["last_name"].fillna("")).str.strip()
    assert (full == "").sum() >= 2                      # label falls back to username
    assert full[full != ""].duplicated().any()          # two users with the same name

    conf = {(r[0], r[2]): r[1]
            for r in _sqlite(path, "SELECT name, value, owner_id FROM conflines")}
    assert conf[("API_Secret_Key", 0)] == "secret"
    assert conf[("Allow_API", 0)] == "1"
    assert conf[("Allow_GET_API", 0)] == "0"
    assert conf[("API_Disable_hash_checking", 0)] == "0"

    cur = {r[1]: r
           for r in _sqlite(path, "SELECT id, name, exchange_rate, active FROM currencies")}
    assert cur["USD"][0] == 1 and cur["USD"][2] == 1
    assert 0.85 < cur["EUR"][2] < 1 and 0.7 < cur["GBP"][2] < 0.85
    assert any(r[3] == 0 for r in cur.values())

    providers = _frame(path, "providers")
    terminators = _frame(path, "terminators")
    assert (providers["terminator_id"] == 0).sum() == 1
    assert providers["common_use"].sum() >= 2
    assert ((providers["user_id"] == pro.name) & (providers["terminator_id"] > 0)).any()
    assert (terminators["user_id"] == pro.name).any()
    devices = _frame(path, "devices")
    per_user = devices[devices["user_id"].isin(plain_users.index)].groupby("user_id").size()
    assert per_user.between(1, 3).all() and len(per_user) == len(plain_users)
    assert set(devices["device_type"]) <= {"SIP", "IAX2"}
    assert (devices["description"] == "").any()


def test_destinations_catalogue(built):
    path = built[0]
    dest = _frame(path, "destinations")
    dirs = set(_frame(path, "directions")["code"])
    assert {"370", "3706", "44", "447", "1", "49", "4915", "33", "48", "91"} <= set(dest["prefix"])
    assert set(dest["direction_code"]) <= dirs and {"LTU", "GBR", "USA"} <= dirs
    assert (dest["name"] == "").any() and (dest["destinationgroup_id"] == 0).any()
    assert set(dest["subcode"]) == {"FIX", "MOB"}
    groups = _frame(path, "destinationgroups")
    assert {"Lithuania Mobile", "UK Fixed"} <= set(groups["name"])


def test_failover_attempts_share_uniqueid_and_only_last_answers(calls):
    g = calls.groupby("uniqueid")
    size = g["id"].transform("size")
    assert size.max() <= 3 and (size > 1).any()
    last = calls["id"] == g["id"].transform("max")
    assert not ((calls["disposition"] == "ANSWERED") & ~last).any()
    # attempts of one call are consecutive records
    assert (g["id"].transform("max") - g["id"].transform("min") + 1 == size).all()


def test_asr_per_record(calls):
    counted = calls[(calls["user_id"] > 0) & (calls["card_id"] == 0)]
    asr = (counted["disposition"] == "ANSWERED").mean()
    assert 0.35 <= asr <= 0.65
    assert set(calls["disposition"]) == {"ANSWERED", "NO ANSWER", "BUSY", "FAILED"}


def test_numbers_match_prefix(built, calls):
    assert all(d.startswith(p) for d, p in zip(calls["dst"], calls["prefix"], strict=True))
    prefixes = set(_frame(built[0], "destinations")["prefix"])
    assert set(calls["prefix"]) <= prefixes
    # the most specific prefix: a '370' number never starts with '3706'
    for parent, child in (("370", "3706"), ("44", "447"), ("1", "1212")):
        assert not calls[(calls["prefix"] == parent) & calls["dst"].str.startswith(child)].size


def test_billing_consistency(calls):
    ans = calls["disposition"] == "ANSWERED"
    a, na = calls[ans], calls[~ans]
    assert (a["billsec"] > 0).all()
    assert (a["billsec"] == a["real_billsec"].apply(math.ceil)).all()
    assert (a["user_billsec"] >= a["billsec"]).all()
    rated = a[a["user_rate"] > 0]
    assert len(rated) and (rated["user_price"] > 0).all()
    expected = rated["user_rate"] * rated["user_billsec"] / 60
    assert ((rated["user_price"] - expected).abs() < 1e-9).all()
    assert (calls["duration"] >= calls["billsec"]).all()
    money = ["user_price", "provider_price", "reseller_price", "did_inc_price",
             "did_prov_price"]
    billed = ["billsec", "user_billsec", "provider_billsec", "reseller_billsec"]
    assert (na[billed] == 0).all().all()
    assert (na["real_billsec"] == 0).all()
    assert (na[money] == 0).all().all()
    # provider mostly cheaper than the user, but some loss-making records
    user_calls = a[(a["user_id"] > 0) & (a["card_id"] == 0) & (a["provider_id"] > 0)]
    loss = user_calls["user_price"] < user_calls["provider_price"]
    assert 0 < loss.mean() < 0.15


def test_realistic_mix(calls):
    assert (calls["user_id"] == -1).any() and (calls["user_id"] == 0).any()
    assert ((calls["card_id"] > 0) & (calls["user_id"] > 0)).any()
    assert {"Local", "Outside"} == set(calls["callertype"])
    assert (calls["pdd"] == 0).any() and calls["pdd"].between(0, 6).all()
    assert (calls["pdd"] > 0).mean() > 0.6
    assert calls["clid"].str.contains("=cmd|", regex=False).any()
    assert (calls["clid"] == "").any()
    assert calls["clid"].str.match(r'^"[^"]+" <\d+>$').mean() > 0.5
    ans = calls[calls["disposition"] == "ANSWERED"]
    assert 120 <= ans["billsec"].mean() <= 240                         # ACD 2-4 minutes
    assert (ans[ans["disposition"] == "ANSWERED"]["hangupcause"] == 16).mean() > 0.9
    assert (calls[calls["disposition"] == "BUSY"]["hangupcause"] == 17).mean() > 0.9
    assert (calls[calls["disposition"] == "NO ANSWER"]["hangupcause"] == 19).mean() > 0.6


def test_reseller_prices(built, calls):
    users = _frame(built[0], "users").set_index("id")
    pro = int(users.index[users["username"] == "reseller_pro"][0])
    own = set(_frame(built[0], "providers").query("user_id == @pro")["id"])
    owner = calls["user_id"].map(users["owner_id"]).fillna(0)
    assert (calls.loc[calls["user_id"] > 0, "reseller_id"] == owner[calls["user_id"] > 0]).all()
    mine = calls[(calls["reseller_id"] == pro) & (calls["disposition"] == "ANSWERED")]
    assert mine["provider_id"].isin(own).any()
    via_admin = mine[~mine["provider_id"].isin(own) & (mine["provider_id"] > 0)]
    assert len(via_admin) and (via_admin["reseller_price"] > 0).all()
    between = ((via_admin["reseller_price"] >= via_admin["provider_price"])
               & (via_admin["reseller_price"] <= via_admin["user_price"]))
    assert between.mean() > 0.7


def test_refuses_to_overwrite(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.sqlite'}"
    build_demo(url, calls=500, now=NOW)
    with pytest.raises(DemoExists):
        build_demo(url, calls=700, now=NOW)
    assert _sqlite(tmp_path / "d.sqlite", "SELECT COUNT(*) FROM calls")[0][0] == 500
    summary = build_demo(url, calls=700, now=NOW, replace=True)
    assert summary.calls == 700
    assert _sqlite(tmp_path / "d.sqlite", "SELECT COUNT(*) FROM calls")[0][0] == 700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.sqlite"]

    durl = f"duckdb:///{tmp_path / 'd.duckdb'}"
    build_demo(durl, calls=500, now=NOW)
    with pytest.raises(DemoExists):
        build_demo(durl, calls=700, now=NOW)
    build_demo(durl, calls=700, now=NOW, replace=True)
    con = duckdb.connect(str(tmp_path / "d.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 700
    finally:
        con.close()


def test_keeps_other_tables_and_never_drops_a_real_mor(tmp_path):
    path = tmp_path / "mixed.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes VALUES (1, 'keep me')")
    con.commit()
    con.close()
    build_demo(f"sqlite:///{path}", calls=300, now=NOW)
    assert _sqlite(path, "SELECT body FROM notes") == [("keep me",)]
    assert _sqlite(path, "SELECT COUNT(*) FROM calls")[0][0] == 300

    real = tmp_path / "real_mor.sqlite"
    con = sqlite3.connect(real)
    con.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, calldate TEXT, accountcode TEXT)")
    con.execute("INSERT INTO calls VALUES (1, '2026-01-01 00:00:00', 'x')")
    con.commit()
    con.close()
    with pytest.raises(DemoExists, match="real MOR"):
        build_demo(f"sqlite:///{real}", calls=300, now=NOW, replace=True)
    assert _sqlite(real, "SELECT COUNT(*) FROM calls")[0][0] == 1


def test_interrupted_sqlite_build_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt("simulated")

    monkeypatch.setattr(demo.writers, "_insert_dbapi", boom)
    with pytest.raises(KeyboardInterrupt):
        build_demo(f"sqlite:///{tmp_path / 'x.sqlite'}", calls=300, now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_ensure_demo_builds_only_when_missing(tmp_path, monkeypatch):
    path = tmp_path / "data" / "demo.sqlite"
    built = []
    real_build = demo.build_demo

    def small_build(url, **kwargs):
        built.append(url)
        return real_build(url, calls=400, replace=kwargs.get("replace", False))  # ends now

    monkeypatch.setattr(demo.writers, "build_demo", small_build)
    url = ensure_demo(path)
    assert url.startswith("sqlite:///") and url.endswith("demo.sqlite") and path.exists()
    assert len(built) == 1
    assert ensure_demo(path) == url
    assert len(built) == 1


def test_rejects_bad_arguments(tmp_path):
    for kwargs in ({"calls": 0}, {"days": 0}, {"seed": -1}):
        with pytest.raises(ValueError):
            build_demo(f"sqlite:///{tmp_path / 'bad.sqlite'}", **kwargs)
    with pytest.raises(ValueError):
        build_demo("postgresql://localhost/x", calls=10)
    assert not (tmp_path / "bad.sqlite").exists()


def test_ensure_demo_rebuilds_a_stale_demo_but_never_a_database_it_did_not_build(tmp_path):
    """The demo promises a non-empty 'today': a demo that ends before today is rebuilt to
    end now, with as many calls; any other SQLite database is used as it is."""
    import sqlite3
    from datetime import timedelta

    from core.demo import ensure_demo

    stale = tmp_path / "stale.sqlite"
    build_demo(f"sqlite:///{stale}", calls=3000, days=3, seed=1,
               now=datetime.now(timezone.utc) - timedelta(days=5))
    ensure_demo(stale)
    con = sqlite3.connect(stale)
    count, newest = con.execute("SELECT COUNT(*), MAX(calldate) FROM calls").fetchone()
    con.close()
    assert count == 3000
    assert newest[:10] == datetime.now(timezone.utc).strftime("%Y-%m-%d")

    foreign = tmp_path / "fixture.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, calldate TEXT)")
    con.execute("INSERT INTO calls VALUES (1, '2024-03-15 10:00:00')")
    con.commit()
    con.close()
    ensure_demo(foreign)
    con = sqlite3.connect(foreign)
    assert con.execute("SELECT calldate FROM calls").fetchall() == [("2024-03-15 10:00:00",)]
    con.close()


def test_the_mark_keeps_the_seed_and_days_and_a_rebuild_reuses_them(tmp_path):
    path = tmp_path / "marked.sqlite"
    build_demo(f"sqlite:///{path}", calls=900, days=2, seed=5,
               now=datetime.now(timezone.utc) - timedelta(days=4))
    assert _sqlite(path, "SELECT calls, seed, days FROM demo_build") == [(900, 5, 2)]
    ensure_demo(path)                      # stale: rebuilt to end now, from the same numbers
    assert _sqlite(path, "SELECT calls, seed, days FROM demo_build") == [(900, 5, 2)]
    count, first, last = _sqlite(path, "SELECT COUNT(*), MIN(calldate), MAX(calldate) FROM calls")[0]
    assert count == 900
    assert last[:10] == datetime.now(timezone.utc).strftime("%Y-%m-%d")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert datetime.fromisoformat(first) >= now - timedelta(days=2)


@pytest.mark.parametrize("kwargs, param, words", [
    ({"calls": -1}, "--calls", "positive number"),
    ({"calls": 2.5}, "--calls", "positive number"),
    ({"calls": True}, "--calls", "positive number"),
    ({"calls": 3 * 10**12}, "--calls", "at most"),
    ({"days": 0}, "--days", "between 1 and 3660"),
    ({"days": 3661}, "--days", "between 1 and 3660"),
    ({"seed": -1}, "--seed", "from 0 to"),
    ({"seed": "7"}, "--seed", "from 0 to"),
    ({"seed": 2**63}, "--seed", "from 0 to"),
])
def test_bad_numbers_are_input_errors(tmp_path, kwargs, param, words):
    from core.params import ParamError
    with pytest.raises(ParamError, match=words) as caught:
        build_demo(f"sqlite:///{tmp_path / 'bad.sqlite'}", **{"calls": 10, **kwargs})
    assert caught.value.param == param
    assert list(tmp_path.iterdir()) == []


def test_the_upper_bound_on_calls_is_said_and_memory_based(tmp_path):
    from core.params import ParamError
    with pytest.raises(ParamError) as caught:
        demo.demo_tables(10**13)
    text = str(caught.value)
    assert f"{demo.max_calls():,}" in text and "memory" in text
    assert 1 <= demo.max_calls() <= 50_000_000


@pytest.mark.parametrize("url", ["nonsense", "postgresql://localhost/x", "mysql+nosuchdriver://u@h/x"])
def test_bad_database_urls_are_input_errors(url):
    from core.params import ParamError
    with pytest.raises(ParamError, match="--db"):
        build_demo(url, calls=10)


def test_an_unreachable_server_is_a_source_failure():
    from core.errors import SourceUnavailable
    with pytest.raises(SourceUnavailable, match="demo database"):
        build_demo("mysql+pymysql://demo@127.0.0.1:1/mor", calls=10)


def test_cli_exit_codes(tmp_path):
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "core", "demo", *args], capture_output=True,
                              text=True, cwd=root, timeout=120)

    target = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    for args, words in ((("--calls", "-1"), "--calls"), (("--calls", "4000000000000"), "--calls"),
                        (("--days", "0"), "--days"), (("--seed", "-3"), "--seed"),
                        (("--db", "nonsense"), "--db")):
        out = run("--db", target, *args) if "--db" not in args else run(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert words in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    out = run("--db", "mysql+pymysql://demo@127.0.0.1:1/mor", "--calls", "10")
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert not (tmp_path / "cli.sqlite").exists()


@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_a_demo_on_mariadb_keeps_its_mark(engine_kind, mariadb_server):
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool
    name = mariadb_server.create_database()
    try:
        url = mariadb_server.writer_url(name)
        messages = []
        build_demo(url, calls=3000, days=2, seed=5, now=NOW, progress=messages.append)
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                mark = conn.execute(sa.text("SELECT calls, seed, days FROM demo_build")).all()
                assert mark == [(3000, 5, 2)]
                assert conn.execute(sa.text("SELECT COUNT(*) FROM calls")).scalar() == 3000
        finally:
            engine.dispose()
        assert any("call records [" in m for m in messages)     # the shared progress line
        with pytest.raises(DemoExists):
            build_demo(url, calls=10, now=NOW)
    finally:
        mariadb_server.drop_database(name)
