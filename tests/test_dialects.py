"""Each piece of core/dialects.py, run on every engine (sqlite, mariadb, duckdb).

The pieces are compiled per dialect; these tests run them against real data on each
engine, so a dialect trap (DuckDB's case-sensitive LIKE, MySQL's backslash escapes,
SQLite's text timestamps) shows up here rather than in a report.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core import dialects
from core.schema import calls

# id -> dst: each value probes one trap of LIKE and its escaping.
DSTS = {
    1: "37060012345",
    2: "370_600",          # a literal underscore
    3: "370X600",          # what an unescaped '_' would also match
    4: "100%off",          # a literal percent
    5: "100 percent off",  # what an unescaped '%' would also match
    6: "a!b",              # the escape character itself in the data
    7: "a!!b",
    8: "MiXeD",
    9: "mixed",
    10: "back\\slash",     # MySQL's default LIKE escape and string escape
    11: "",
    12: "ab",
    13: "ačiū",            # non-ASCII
}

DATES = {
    1: datetime(2024, 1, 31, 23, 59, 59),
    2: datetime(2024, 2, 1, 0, 0, 0),
    3: datetime(2024, 2, 29, 12, 34, 56),
    4: datetime(2023, 12, 31, 9, 0, 0),
    5: datetime(2024, 3, 31, 1, 30, 0),
}


def _calls():
    return [{"id": i, "calldate": DATES.get(i, datetime(2024, 1, 1, 0, 0, 0)), "dst": dst,
             "clid": dst}
            for i, dst in DSTS.items()]


@pytest.fixture
def db(make_db):
    return make_db({"calls": _calls()})


def _sqlite_ascii_only(engine_kind, text):
    if engine_kind == "sqlite" and not text.isascii():
        # SQLite's built-in lower() folds ASCII letters only; MySQL's utf8mb4_general_ci and
        # DuckDB fold every letter. Numbers are ASCII, so only non-ASCII group names differ.
        pytest.xfail("SQLite's lower() ignores non-ASCII letter case (a known limitation)")


def _ids(engine, condition) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(calls.c.id).where(condition)).scalars())


def test_day_of(db):
    with db.connect() as conn:
        got = dict(conn.execute(select(calls.c.id, dialects.day_of(calls.c.calldate))
                                .where(calls.c.id.in_(DATES))).all())
    assert got == {i: d.strftime("%Y-%m-%d") for i, d in DATES.items()}
    assert all(isinstance(v, str) for v in got.values())


def test_hour_of(db):
    with db.connect() as conn:
        got = dict(conn.execute(select(calls.c.id, dialects.hour_of(calls.c.calldate))
                                .where(calls.c.id.in_(DATES))).all())
    assert got == {i: d.hour for i, d in DATES.items()}
    assert all(type(v) is int for v in got.values())


def test_day_and_hour_group(db):
    """Grouping by the expressions works (the GROUP BY repeats them on every engine)."""
    day = dialects.day_of(calls.c.calldate).label("day")
    hour = dialects.hour_of(calls.c.calldate).label("hour")
    from sqlalchemy import func
    with db.connect() as conn:
        rows = conn.execute(select(day, hour, func.count()).group_by(day, hour)
                            .order_by(day, hour)).all()
    assert [tuple(r) for r in rows] == [
        ("2023-12-31", 9, 1), ("2024-01-01", 0, 8), ("2024-01-31", 23, 1),
        ("2024-02-01", 0, 1), ("2024-02-29", 12, 1), ("2024-03-31", 1, 1)]


@pytest.mark.parametrize("pattern, expected", [
    # '%' is a wildcard
    ("370%", [1, 2, 3]),
    ("%off", [4, 5]),
    ("%", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
    # '_' is a literal character, never "any one character"
    ("370_600", [2]),
    ("370_%", [2]),
    ("%\\_%", []),            # backslash is no escape: this needs a literal backslash+_
    # without '%': an exact match
    ("370", []),
    ("37060012345", [1]),
    ("ab", [12]),
    # letter case is ignored
    ("MIXED", [8, 9]),
    ("mIx%", [8, 9]),
    ("AČIŪ", [13]),
    # the escape character itself is literal
    ("a!b", [6]),
    ("a!!b", [7]),
    ("a!%", [6, 7]),
    ("%!", []),
    # backslash is literal too
    ("back\\slash", [10]),
    ("back\\%", [10]),
])
def test_matches(db, engine_kind, pattern, expected):
    _sqlite_ascii_only(engine_kind, pattern)
    assert _ids(db, dialects.matches(calls.c.dst, pattern)) == expected


@pytest.mark.parametrize("needle, expected", [
    ("600", [1, 2, 3]),
    ("%", [4]),               # '%' is literal in clid
    ("0%o", [4]),
    ("_", [2]),               # '_' is literal in clid
    ("0_6", [2]),
    ("!", [6, 7]),
    ("!!", [7]),
    ("a!b", [6]),
    ("\\", [10]),
    ("k\\s", [10]),
    ("ixe", [8, 9]),          # case-insensitive
    ("IXE", [8, 9]),
    ("ČI", [13]),
    ("nothing", []),
])
def test_contains(db, engine_kind, needle, expected):
    _sqlite_ascii_only(engine_kind, needle)
    assert _ids(db, dialects.contains(calls.c.clid, needle)) == expected


def test_matches_on_null(make_db):
    """A NULL column matches no pattern (and raises nothing)."""
    engine = make_db({"calls": [{"id": 1, "calldate": "2024-01-01 00:00:00", "dst": None},
                                {"id": 2, "calldate": "2024-01-01 00:00:00", "dst": "x"}]})
    assert _ids(engine, dialects.matches(calls.c.dst, "%")) == [2]
    assert _ids(engine, dialects.contains(calls.c.dst, "x")) == [2]


def test_escape_like():
    assert dialects.escape_like("a_b%c!d") == "a!_b%c!!d"
    assert dialects.escape_like("") == ""


def test_failover_attempts_merge_only_on_the_exact_uniqueid(make_db):
    """'AB' and 'ab' are two user calls on every engine, whatever MySQL's collation folds."""
    from core.params import Params
    from core.settings import Settings
    from core.sources.db import DatabaseSource

    engine = make_db({
        "users": [dict(id=0, username="admin", usertype="admin"), dict(id=10, username="u", usertype="user")],
        "currencies": [dict(id=1, name="USD", exchange_rate=1)],
        "calls": [dict(id=1, calldate="2024-03-15 10:00:00", user_id=10, uniqueid="AB"),
                  dict(id=2, calldate="2024-03-15 10:00:05", user_id=10, uniqueid="ab"),
                  dict(id=3, calldate="2024-03-15 10:00:09", user_id=10, uniqueid="ab")],
    })
    params = Params(u="admin", from_=1710460800, till=1710547199, from_user_perspective=True)
    report = DatabaseSource(engine).run(params, Settings())
    assert report.totals["total_calls"] == 2  # 'AB' (id 1) and 'ab' (ids 2, 3 -> 3)
