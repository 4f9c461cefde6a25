"""The report on tests/fixture_small.py, with every expectation computed by hand.

Each CASE runs twice: against the plain-pandas oracle (tests/reference.py, no database),
which proves the oracle itself, and against the SQL path (DatabaseSource on make_db, once
per engine). The arithmetic is in the comments; "cN" is call id N of the fixture.

Default window (UTC): 2024-03-15 00:00:00 .. 23:59:59 -> the 27 counted records are
c1-c15, c18-c21, c25-c32 (c16/c17 one second outside, c22 card, c23 incoming, c24 admin).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import event, text

from core.errors import AccessDenied, NotFound
from core.params import ParamError, Params, parse_params
from core.settings import Settings
from tests.fixture_small import CALLS, FROM, TABLES, TILL, epoch
from tests.reference import reference_report

DEFAULT_KEYS = ["originator_id", "originator", "terminator_id", "terminator",
                "dst_group_id", "dst_group"]
METRICS = ["total_calls", "answered_calls", "billed_originator", "billed_terminator",
           "billed_duration_originator", "billed_duration_terminator", "duration",
           "asr", "acd", "pdd"]
PROFIT = ["profit", "margin", "markup"]
ALL_KEYS = ["originator_id", "originator", "device_id", "device", "terminator_id",
            "terminator", "provider_id", "provider", "dst_group_id", "dst_group", "dst",
            "destination", "day", "hour", "user_rate", "provider_rate"]
KEY_SET = set(ALL_KEYS)

ADMIN = "admin"
WIDE_FROM = epoch("2024-03-14 00:00:00")
WIDE_TILL = epoch("2024-03-16 23:59:59")
VILNIUS = "Europe/Vilnius"


# ----------------------------------------------------------------------------- checking

def norm(value):
    """A comparable scalar: numbers as floats rounded to 6 places, text as it is."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        return round(float(value), 6)
    return value


def close(actual, expected) -> bool:
    if isinstance(expected, str) or isinstance(actual, str):
        return actual == expected
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-6)


def check_rows(rows, expected: list[dict], complete: bool = True) -> None:
    """Each expected row (a dict of some columns; its key columns identify it) must be in
    `rows` with those values; with `complete`, `rows` has no other row."""
    actual = rows.to_dict("records")
    if complete:
        assert len(actual) == len(expected), (
            f"{len(actual)} rows instead of {len(expected)}:\n{rows.to_string()}")
    for exp in expected:
        keys = [k for k in exp if k in KEY_SET]
        matches = [r for r in actual if all(norm(r[k]) == norm(exp[k]) for k in keys)]
        assert len(matches) == 1, f"row {exp} found {len(matches)} times in\n{rows.to_string()}"
        got = matches[0]
        wrong = {c: (got[c], v) for c, v in exp.items() if not close(got[c], v)}
        assert not wrong, f"row {exp}: (actual, expected) {wrong}"


def check_totals(totals: dict, expected: dict) -> None:
    wrong = {c: (totals.get(c), v) for c, v in expected.items()
             if c not in totals or not close(totals[c], v)}
    assert not wrong, f"totals (actual, expected): {wrong}"


def R(*values, cols=None) -> dict:
    return dict(zip(cols, values, strict=False))


def D(oid, oname, tid, tname, gid, gname, *metrics) -> dict:
    """A default-grouping row with some leading metrics in section 4 order."""
    return dict(zip(DEFAULT_KEYS + METRICS, (oid, oname, tid, tname, gid, gname) + metrics, strict=False))


# ----------------------------------------------------------------------------- the cases

class Case:
    def __init__(self, id, *, rows=None, totals=None, columns=None, complete=True,
                 settings=None, error=None, message=None, **params):
        self.id = id
        self.params = dict(u=ADMIN, from_=FROM, till=TILL) | params
        self.settings = Settings(**(settings or {}))
        self.rows, self.totals, self.columns = rows, totals, columns
        self.complete, self.error, self.message = complete, error, message

    def verify(self, run) -> None:
        params = Params(**self.params)
        if self.error:
            with pytest.raises(self.error) as info:
                run(params, self.settings)
            if self.message:
                assert str(info.value) == self.message
            return
        rows, totals = run(params, self.settings)
        if self.columns is not None:
            assert list(rows.columns) == self.columns
            assert list(totals) == [c for c in self.columns if c not in KEY_SET]
        if self.rows is not None:
            check_rows(rows, self.rows, self.complete)
        if self.totals is not None:
            check_totals(totals, self.totals)


CASES: list[Case] = []


def case(id, **kw) -> None:
    CASES.append(Case(id, **kw))


# Default grouping (originator, terminator, destination group), admin, USD, UTC.
# columns: total, answered, billed_orig, billed_term, billsec_orig, billsec_term, duration,
#          asr, acd, pdd
DEFAULT_ROWS = [
    # c1,c2,c3,c5; answered c1,c2: 1.0+2.0, 0.5+1.2, 60+120, 60+120, 60+120; asr 2/4;
    # acd 180/2; pdd mean(1.5, 2.5, 3.0) = 7/3 (c3 has pdd 0)
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile",
      4, 2, 3.0, 1.7, 180, 180, 180, 50.0, 90.0, 7 / 3),
    # c4 (ProvB -> Carrier B, 3705 -> group 2)
    D(2, "John Smith", 2, "Carrier B", 2, "Lithuania Fixed",
      1, 1, 0.5, 0.2, 60, 30, 30, 100.0, 30.0, 0.0),
    # c6 (ProvB, 3706)
    D(2, "John Smith", 2, "Carrier B", 1, "Lithuania Mobile",
      1, 1, 1.5, 0.9, 90, 90, 90, 100.0, 90.0, 1.0),
    # c30 answered, c31 not (ProvA2, 3705)
    D(2, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed",
      2, 1, 0.2, 0.1, 60, 15, 15, 50.0, 15.0, 0.0),
    # the other John Smith (user 3): c7,c9,c10,c11; answered c9,c11: 0.25+0.5, 0.1+0.2,
    # 60+60, 12+24, 10+20; acd 30/2; pdd mean(2.0, 0.5)
    D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile",
      4, 2, 0.75, 0.3, 120, 36, 30, 50.0, 15.0, 1.25),
    # c8 via ProvLoose (terminator 0)
    D(3, "John Smith", 0, "(Unassigned Providers)", 1, "Lithuania Mobile",
      1, 1, 0.75, 0.45, 60, 45, 45, 100.0, 45.0, 1.0),
    # c12 (ANSWERED, hangupcause 31) and c13 (NO ANSWER, hangupcause 16)
    D(3, "John Smith", 2, "Carrier B", 2, "Lithuania Fixed",
      2, 1, 0.6, 0.3, 60, 40, 40, 50.0, 40.0, 0.0),
    # c32
    D(3, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed",
      1, 1, 0.3, 0.1, 60, 30, 25, 100.0, 25.0, 0.0),
    # user 4 has empty names -> username; c14 (ProvLoose, 447 -> group 3 UK_Mobile)
    D(4, "noname", 0, "(Unassigned Providers)", 3, "UK_Mobile",
      1, 1, 3.0, 2.0, 120, 100, 100, 100.0, 100.0, 4.0),
    # c15 (ProvA1, 4470 -> group 4 UKxMobile), exactly at till, card_id NULL
    D(4, "noname", 1, "Carrier A", 4, "UKxMobile",
      1, 1, 1.0, 0.6, 60, 50, 50, 100.0, 50.0, 0.0),
    # c18 (ProvLoose, 999 -> group 0) and c20 (missing provider 88 -> terminator 0, prefix
    # 12345 has no destination -> group 0): 0.4+0.0, 0.4+0.1, 60+60, 30+12, 30+12; acd 42/2
    D(4, "noname", 0, "(Unassigned Providers)", 0, "Unassigned Destination",
      2, 2, 0.4, 0.5, 120, 42, 42, 100.0, 21.0, 0.0),
    # c19: GhostTerm -> terminator 77 without a row; 888 -> group 55 without a row
    D(4, "noname", 77, "(Unassigned Providers)", 55, "Unassigned Destination",
      1, 1, 0.3, 0.0, 60, 30, 30, 100.0, 30.0, 0.0),
    # c21: user 99 has no users row
    D(99, "User #99", 1, "Carrier A", 1, "Lithuania Mobile",
      1, 1, 1.0, 0.5, 60, 60, 60, 100.0, 60.0, 0.0),
    # c25 (ResProv -> Reseller Term); admin sees provider_price 0.5
    D(7, "Rita", 3, "Reseller Term", 1, "Lithuania Mobile",
      1, 1, 1.2, 0.5, 60, 60, 60, 100.0, 60.0, 1.2),
    # c26 (admin's ProvB); admin sees provider_price 1.0
    D(7, "Rita", 2, "Carrier B", 2, "Lithuania Fixed",
      1, 1, 2.4, 1.0, 120, 120, 120, 100.0, 120.0, 0.0),
    # c27 not answered
    D(8, "Kowalski", 2, "Carrier B", 3, "UK_Mobile",
      1, 0, 0.0, 0.0, 0, 0, 0, 0.0, 0.0, 0.0),
    # c28
    D(8, "Kowalski", 3, "Reseller Term", 3, "UK_Mobile",
      1, 1, 0.9, 0.3, 30, 30, 30, 100.0, 30.0, 2.0),
    # c29 (the plain reseller's user; the admin sees every call)
    D(11, "Paul Customer", 1, "Carrier A", 1, "Lithuania Mobile",
      1, 1, 1.1, 0.5, 60, 60, 60, 100.0, 60.0, 0.0),
]
# Totals: 27 records, 20 answered (c1,c2,c4,c6,c8,c9,c11,c12,c14,c15,c18-c21,c25,c26,c28-c30,c32)
# billed_orig  3.0+0.5+1.5+0.2+0.75+0.75+0.6+0.3+3.0+1.0+0.4+0.3+1.0+1.2+2.4+0+0.9+1.1 = 18.9
# billed_term  1.7+0.2+0.9+0.1+0.3+0.45+0.3+0.1+2.0+0.6+0.5+0+0.5+0.5+1.0+0+0.3+0.5   = 9.95
# billsec_orig 180+60+90+60+120+60+60+60+120+60+120+60+60+60+120+0+30+60 = 1380
# billsec_term 180+30+90+15+36+45+40+30+100+50+42+30+60+60+120+0+30+60  = 1018
# duration     180+30+90+15+30+45+40+25+100+50+42+30+60+60+120+0+30+60  = 1007
# pdd: records with pdd > 0: c1 1.5, c2 2.5, c5 3.0, c6 1.0, c7 2.0, c8 1.0, c9 0.5,
#      c14 4.0, c25 1.2, c28 2.0 -> 18.7 / 10
DEFAULT_TOTALS = dict(total_calls=27, answered_calls=20, billed_originator=18.9,
                      billed_terminator=9.95, billed_duration_originator=1380,
                      billed_duration_terminator=1018, duration=1007, asr=20 / 27 * 100,
                      acd=1007 / 20, pdd=18.7 / 10)

case("default_grouping", rows=DEFAULT_ROWS, totals=DEFAULT_TOTALS,
     columns=DEFAULT_KEYS + METRICS)
# an accountant (stats permission on by default) sees what the admin sees
case("accountant", u="acc", rows=DEFAULT_ROWS, totals=DEFAULT_TOTALS,
     columns=DEFAULT_KEYS + METRICS)
# ... and without the financial permission no money column, even with profit_show
NO_MONEY = ["total_calls", "answered_calls", "billed_duration_originator",
            "billed_duration_terminator", "duration", "asr", "acd", "pdd"]
case("accountant_no_financial", u="acc", profit_show=True,
     settings=dict(accountant_financial=False), columns=DEFAULT_KEYS + NO_MONEY,
     totals=dict(total_calls=27, answered_calls=20, duration=1007, acd=1007 / 20))

# profit_show
case("profit_show", profit_show=True, columns=DEFAULT_KEYS + METRICS + PROFIT, complete=False,
     rows=[
         # 3.0 - 1.7 = 1.3; 1.3 / 3.0 * 100; 3.0 / 1.7 * 100 - 100
         D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile")
         | dict(profit=1.3, margin=1.3 / 3.0 * 100, markup=3.0 / 1.7 * 100 - 100),
         # loss: 0.4 - 0.5 = -0.1; -0.1 / 0.4 * 100 = -25; 0.4 / 0.5 * 100 - 100 = -20
         D(4, "noname", 0, "(Unassigned Providers)", 0, "Unassigned Destination")
         | dict(profit=-0.1, margin=-25.0, markup=-20.0),
         # billed_terminator 0 -> markup 0; margin 0.3 / 0.3 * 100
         D(4, "noname", 77, "(Unassigned Providers)", 55, "Unassigned Destination")
         | dict(profit=0.3, margin=100.0, markup=0.0),
         # nothing billed -> all 0
         D(8, "Kowalski", 2, "Carrier B", 3, "UK_Mobile") | dict(profit=0.0, margin=0.0, markup=0.0),
     ],
     # ratios of the sums: 18.9 - 9.95 = 8.95; 8.95 / 18.9 * 100; 18.9 / 9.95 * 100 - 100
     totals=DEFAULT_TOTALS | dict(profit=8.95, margin=8.95 / 18.9 * 100,
                                  markup=18.9 / 9.95 * 100 - 100))
# billed_originator 0 with billed_terminator > 0: provider 88 carries only c20
# (user_price 0, provider_price 0.1): profit -0.1, margin 0 (zero denominator),
# markup 0 / 0.1 * 100 - 100 = -100
case("profit_zero_originator", profit_show=True, group_by_provider=True, complete=False,
     rows=[dict(provider_id=88, provider="Provider #88", total_calls=1, billed_originator=0.0,
                billed_terminator=0.1, profit=-0.1, margin=0.0, markup=-100.0)])

# ---- each group_by flag alone
U = ["originator_id", "originator", "total_calls", "answered_calls", "billed_originator",
     "billed_terminator", "duration"]
case("group_by_user", group_by_user=True, columns=U[:2] + METRICS, rows=[
    # c1-c6, c30, c31; answered c1,c2,c4,c6,c30: 1.0+2.0+0.5+1.5+0.2, 0.5+1.2+0.2+0.9+0.1,
    # 60+120+30+90+15
    R(2, "John Smith", 8, 5, 5.2, 2.9, 315, cols=U),
    # c7-c13, c32; answered c8,c9,c11,c12,c32: 0.75+0.25+0.5+0.6+0.3, 0.45+0.1+0.2+0.3+0.1,
    # 45+10+20+40+25
    R(3, "John Smith", 8, 5, 2.4, 1.15, 140, cols=U),
    # c14,c15,c18,c19,c20: 3.0+1.0+0.4+0.3+0, 2.0+0.6+0.4+0+0.1, 100+50+30+30+12
    R(4, "noname", 5, 5, 4.7, 3.1, 222, cols=U),
    R(7, "Rita", 2, 2, 3.6, 1.5, 180, cols=U),          # c25, c26
    R(8, "Kowalski", 2, 1, 0.9, 0.3, 30, cols=U),       # c27, c28
    R(11, "Paul Customer", 1, 1, 1.1, 0.5, 60, cols=U),  # c29
    R(99, "User #99", 1, 1, 1.0, 0.5, 60, cols=U),      # c21
], totals=DEFAULT_TOTALS)

V = ["device_id", "device", "total_calls", "answered_calls", "billed_originator"]
case("group_by_device", group_by_device=True, columns=V[:2] + METRICS, rows=[
    R(1, "John office", 8, 5, 5.2, cols=V),       # = user 2's calls
    R(2, "SIP/1002", 8, 5, 2.4, cols=V),          # empty description; = user 3's calls
    R(3, "IAX2/nn", 5, 5, 4.7, cols=V),           # NULL description; = user 4's calls
    R(4, "Rita phone", 2, 2, 3.6, cols=V),
    R(5, "Kowalski desk", 2, 1, 0.9, cols=V),
    R(6, "Pcust dev", 1, 1, 1.1, cols=V),
    R(98, "Device #98", 1, 1, 1.0, cols=V),       # c21, no devices row
], totals=DEFAULT_TOTALS)

T = ["terminator_id", "terminator", "total_calls", "answered_calls", "billed_terminator"]
case("group_by_terminator", group_by_terminator=True, columns=T[:2] + METRICS, rows=[
    # ProvA1 (c1,c3,c5,c9,c10,c11,c15,c21,c29; answered c1,c9,c11,c15,c21,c29:
    # 0.5+0.1+0.2+0.6+0.5+0.5 = 2.4) + ProvA2 (c2,c7,c30,c31,c32; answered c2,c30,c32:
    # 1.2+0.1+0.1 = 1.4)
    R(1, "Carrier A", 14, 9, 3.8, cols=T),
    # ProvB: c4,c6,c12,c13,c26,c27; answered c4,c6,c12,c26: 0.2+0.9+0.3+1.0
    R(2, "Carrier B", 6, 4, 2.4, cols=T),
    # ProvLoose c8,c14,c18 (0.45+2.0+0.4) + missing provider 88 c20 (0.1)
    R(0, "(Unassigned Providers)", 4, 4, 2.95, cols=T),
    R(3, "Reseller Term", 2, 2, 0.8, cols=T),             # c25 0.5 + c28 0.3
    R(77, "(Unassigned Providers)", 1, 1, 0.0, cols=T),   # c19, terminator row missing
], totals=DEFAULT_TOTALS)

P = ["provider_id", "provider", "total_calls", "answered_calls", "billed_terminator"]
case("group_by_provider", group_by_provider=True, columns=P[:2] + METRICS, rows=[
    R(1, "ProvA1", 9, 6, 2.4, cols=P),
    R(2, "ProvA2", 5, 3, 1.4, cols=P),
    R(3, "ProvB", 6, 4, 2.4, cols=P),
    R(4, "ProvLoose", 3, 3, 2.85, cols=P),      # 0.45 + 2.0 + 0.4
    R(5, "ResProv", 2, 2, 0.8, cols=P),
    R(6, "GhostTerm", 1, 1, 0.0, cols=P),
    R(88, "Provider #88", 1, 1, 0.1, cols=P),
], totals=DEFAULT_TOTALS)

G = ["dst_group_id", "dst_group", "total_calls", "answered_calls", "billed_originator"]
case("group_by_dst_group", group_by_dst_group=True, columns=G[:2] + METRICS, rows=[
    # prefix 3706: c1,c2,c3,c5,c6,c7,c8,c9,c10,c11,c21,c25,c29; answered c1,c2,c6,c8,c9,c11,
    # c21,c25,c29: 1.0+2.0+1.5+0.75+0.25+0.5+1.0+1.2+1.1
    R(1, "Lithuania Mobile", 13, 9, 9.3, cols=G),
    # 3705: c4,c12,c13,c26,c30,c31,c32; answered c4,c12,c26,c30,c32: 0.5+0.6+2.4+0.2+0.3
    R(2, "Lithuania Fixed", 7, 5, 4.0, cols=G),
    R(3, "UK_Mobile", 3, 2, 3.9, cols=G),                  # 447: c14, c27, c28
    R(4, "UKxMobile", 1, 1, 1.0, cols=G),                  # 4470: c15
    R(0, "Unassigned Destination", 2, 2, 0.4, cols=G),     # c18 (group 0), c20 (no dest.)
    R(55, "Unassigned Destination", 1, 1, 0.3, cols=G),    # c19 (group row missing)
], totals=DEFAULT_TOTALS)

X = ["dst", "destination", "total_calls", "answered_calls"]
case("group_by_dst", group_by_dst=True, columns=X[:2] + METRICS, rows=[
    R("3706", "Lithuania Mobile", 13, 9, cols=X),
    R("3705", "Lithuania Vilnius", 7, 5, cols=X),
    R("447", "United Kingdom MOB", 3, 2, cols=X),   # empty name: direction + subcode
    R("4470", "UK special", 1, 1, cols=X),
    R("999", "Unknown land", 1, 1, cols=X),
    R("888", "Orphan group", 1, 1, cols=X),
    R("12345", "", 1, 1, cols=X),                   # no destinations row
], totals=DEFAULT_TOTALS)

Y = ["day", "total_calls", "answered_calls", "billed_originator"]
case("group_by_day_wide_window", group_by_day=True, from_=WIDE_FROM, till=WIDE_TILL,
     columns=["day"] + METRICS, rows=[
         R("2024-03-14", 1, 1, 1.0, cols=Y),     # c16
         R("2024-03-15", 27, 20, 18.9, cols=Y),
         R("2024-03-16", 1, 1, 1.0, cols=Y),     # c17
     ], totals=dict(total_calls=29, answered_calls=22, billed_originator=20.9))

H = ["hour", "total_calls", "answered_calls"]
case("group_by_hour", group_by_hour=True, columns=["hour"] + METRICS, rows=[
    R(0, 1, 1, cols=H),     # c14
    R(9, 2, 2, cols=H),     # c25, c26
    R(10, 3, 2, cols=H),    # c1, c2, c27 (not answered)
    R(11, 2, 1, cols=H),    # c3 (no), c28
    R(12, 2, 2, cols=H),    # c4, c29
    R(13, 2, 1, cols=H),    # c5 (failed), c6
    R(14, 2, 1, cols=H),    # c7 (busy), c8
    R(15, 3, 2, cols=H),    # c9, c10 (no), c11
    R(16, 2, 1, cols=H),    # c12, c13 (no)
    R(17, 2, 2, cols=H),    # c18, c19
    R(18, 2, 2, cols=H),    # c20, c21
    R(20, 3, 2, cols=H),    # c30, c31 (no), c32
    R(23, 1, 1, cols=H),    # c15
], totals=DEFAULT_TOTALS)

DH = ["day", "hour", "total_calls", "answered_calls"]
case("group_by_day_and_hour", group_by_day=True, group_by_hour=True, from_=WIDE_FROM,
     till=WIDE_TILL, columns=["day", "hour"] + METRICS, complete=False, rows=[
         R("2024-03-14", 23, 1, 1, cols=DH),
         R("2024-03-15", 0, 1, 1, cols=DH),
         R("2024-03-15", 10, 3, 2, cols=DH),
         R("2024-03-15", 23, 1, 1, cols=DH),
         R("2024-03-16", 0, 1, 1, cols=DH),
     ], totals=dict(total_calls=29, answered_calls=22))

UR = ["user_rate", "total_calls", "answered_calls"]
case("group_by_user_rate", group_by_user_rate=True, columns=["user_rate"] + METRICS, rows=[
    R(1.0, 9, 6, cols=UR),    # c1-c6, c21, c30, c31; answered c1,c2,c4,c6,c21,c30
    R(0.75, 8, 5, cols=UR),   # c7-c13, c32
    R(1.5, 2, 2, cols=UR),    # c14, c15
    R(0.8, 1, 1, cols=UR),    # c18
    R(0.6, 1, 1, cols=UR),    # c19
    R(0.0, 1, 1, cols=UR),    # c20
    R(1.2, 2, 2, cols=UR),    # c25, c26
    R(1.8, 2, 1, cols=UR),    # c27, c28
    R(1.1, 1, 1, cols=UR),    # c29
], totals=DEFAULT_TOTALS)

PR = ["provider_rate", "total_calls", "answered_calls"]
case("group_by_provider_rate", group_by_provider_rate=True,
     columns=["provider_rate"] + METRICS, rows=[
         R(0.5, 8, 6, cols=PR),    # c1,c3,c5,c20,c21,c25,c26,c29; not answered c3,c5
         R(0.6, 9, 6, cols=PR),    # c2,c6,c7,c8,c9,c10,c11,c27,c28; not answered c7,c10,c27
         R(0.4, 3, 2, cols=PR),    # c4, c30, c31
         R(0.45, 2, 1, cols=PR),   # c12, c13
         R(1.2, 1, 1, cols=PR),    # c14
         R(0.72, 1, 1, cols=PR),   # c15
         R(0.8, 1, 1, cols=PR),    # c18
         R(0.0, 1, 1, cols=PR),    # c19
         R(0.24, 1, 1, cols=PR),   # c32
     ], totals=DEFAULT_TOTALS)

ALL_FLAGS = {f"group_by_{g}": True for g in ("user", "device", "terminator", "provider",
                                             "dst_group", "dst", "day", "hour", "user_rate",
                                             "provider_rate")}
# Every key at once: only c9/c10/c11 (user 3, device 2, ProvA1, 3706, 15h, rates
# 0.75/0.6) and c30/c31 (user 2, device 1, ProvA2, 3705, 20h, rates 1.0/0.4) share keys:
# 27 - 2 - 1 = 24 rows
case("all_flags", **ALL_FLAGS, columns=ALL_KEYS + METRICS, complete=False, rows=[
    dict(originator_id=3, originator="John Smith", device_id=2, device="SIP/1002",
         terminator_id=1, terminator="Carrier A", provider_id=1, provider="ProvA1",
         dst_group_id=1, dst_group="Lithuania Mobile", dst="3706",
         destination="Lithuania Mobile", day="2024-03-15", hour=15, user_rate=0.75,
         provider_rate=0.6, total_calls=3, answered_calls=2, duration=30),
], totals=DEFAULT_TOTALS)


# ---- filters (default grouping unless said)
U3 = [D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2),
      D(3, "John Smith", 0, "(Unassigned Providers)", 1, "Lithuania Mobile", 1, 1),
      D(3, "John Smith", 2, "Carrier B", 2, "Lithuania Fixed", 2, 1),
      D(3, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 1, 1)]
case("s_originator_id", s_originator_id=3, rows=U3,
     totals=dict(total_calls=8, answered_calls=5, billed_originator=2.4))
# terminator 1 = ProvA1 + ProvA2: 14 records, 9 answered; billed_orig: ProvA1 c1 1.0, c9 0.25,
# c11 0.5, c15 1.0, c21 1.0, c29 1.1 (= 4.85) + ProvA2 c2 2.0, c30 0.2, c32 0.3 (= 2.5)
case("s_terminator_id", s_terminator_id=1,
     totals=dict(total_calls=14, answered_calls=9, billed_originator=7.35,
                 billed_terminator=3.8))
case("s_device", s_device=3, rows=[  # user 4's calls, all answered
    D(4, "noname", 0, "(Unassigned Providers)", 3, "UK_Mobile", 1, 1),
    D(4, "noname", 1, "Carrier A", 4, "UKxMobile", 1, 1),
    D(4, "noname", 0, "(Unassigned Providers)", 0, "Unassigned Destination", 2, 2),
    D(4, "noname", 77, "(Unassigned Providers)", 55, "Unassigned Destination", 1, 1),
], totals=dict(total_calls=5, answered_calls=5, billed_originator=4.7))
# ProvB: c4,c6,c12,c13,c26,c27; answered c4,c6,c12,c26: 0.5+1.5+0.6+2.4, 0.2+0.9+0.3+1.0
case("s_provider", s_provider=3,
     totals=dict(total_calls=6, answered_calls=4, billed_originator=5.0, billed_terminator=2.4))

C30 = [D(2, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 1, 1, 0.2)]
C30_31 = [D(2, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 2, 1, 0.2)]
# '_' literal and case ignored: 'ab_c' matches 'AB_C' (c30) but not 'ABxC' (c31)
case("a_src_underscore_literal", a_src="ab_c", rows=C30)
case("a_src_prefix_pattern", a_src="AB%", rows=C30_31)
case("a_src_suffix_pattern", a_src="%_c", rows=C30)
case("a_src_backslash", a_src="%\\%", rows=[   # c27's src is back\slash
    D(8, "Kowalski", 2, "Carrier B", 3, "UK_Mobile", 1, 0)])
# users 2 (c1-c6; answered c1,c2,c4,c6) and 3 (c7-c13; answered c8,c9,c11,c12)
case("a_src_pattern_two_users", a_src="3706000000%", totals=dict(total_calls=13,
                                                                 answered_calls=8))
case("a_src_exact", a_src="37060000001", totals=dict(total_calls=6, answered_calls=4))
case("a_src_only_percent_is_no_filter", a_src="%%", totals=DEFAULT_TOTALS)
case("a_dst_underscore_literal", a_dst="3705_%", rows=C30)
case("a_dst_suffix", a_dst="%123", rows=C30_31)
case("a_dst_exact", a_dst="37061111111", rows=[
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 1, 1, 1.0)])
# billsec = 60 exactly: c1, c21, c25, c29: 1.0 + 1.0 + 1.2 + 1.1
case("s_duration_60", s_duration=60, totals=dict(total_calls=4, answered_calls=4,
                                                  billed_originator=4.3))
# billsec = 0 is a filter too: c3, c5, c7, c10, c27, c31 (c13 has billsec 5)
case("s_duration_0", s_duration=0, totals=dict(total_calls=6, answered_calls=0))
# groups 1 + 2: 13 + 7 records, 9 + 5 answered
case("dst_group_pattern", dst_group="lithuania%", totals=dict(total_calls=20,
                                                             answered_calls=14))
UKM = [D(4, "noname", 0, "(Unassigned Providers)", 3, "UK_Mobile", 1, 1),
       D(8, "Kowalski", 2, "Carrier B", 3, "UK_Mobile", 1, 0),
       D(8, "Kowalski", 3, "Reseller Term", 3, "UK_Mobile", 1, 1)]
# exact, '_' literal: UK_Mobile but not UKxMobile
case("dst_group_exact_underscore", dst_group="UK_Mobile", rows=UKM)
case("dst_group_exact_case", dst_group="uk_mobile", rows=UKM)
case("dst_group_prefix", dst_group="UK%", totals=dict(total_calls=4, answered_calls=3))
# (decided) calls without a group row have no group name: the label
# 'Unassigned Destination' is not matched by the filter
case("dst_group_unassigned_label_not_matched", dst_group="Unassigned%", rows=[],
     totals=dict(total_calls=0, answered_calls=0, billed_originator=0, asr=0, acd=0, pdd=0))
# clid: case-insensitive substring: '"John" <...>' on c1-c13
case("clid_substring_case", clid="john", totals=dict(total_calls=13, answered_calls=8))
# '%' and '_' literal: only c30's '100%_done'; '100xxdone' (c31) does not match
case("clid_percent_underscore_literal", clid="%_", rows=C30)
case("clid_underscore", clid="_", rows=C30)
case("clid_percent", clid="%", rows=C30)
case("clid_formula", clid="=1+2", rows=[
    D(3, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 1, 1, 0.3)])

# use_real_billsec: duration sums real_billsec of answered records
case("use_real_billsec", use_real_billsec=True, complete=False, rows=[
    # c1 59.5 + c2 119.2; acd / 2
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2, 3.0, 1.7, 180, 180,
      178.7, 50.0, 89.35),
    # c9 9.4 + c11 19.6
    D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2, 0.75, 0.3, 120, 36,
      29.0, 50.0, 14.5),
    # c12 40.0 (c13's 4.5 is not answered)
    D(3, "John Smith", 2, "Carrier B", 2, "Lithuania Fixed", 2, 1, 0.6, 0.3, 60, 40, 40.0),
    D(7, "Rita", 3, "Reseller Term", 1, "Lithuania Mobile", 1, 1, 1.2, 0.5, 60, 60, 58.0),
], # 59.5+119.2+30+90+44.1+9.4+19.6+40+99.9+50+30+30+12+60+58+118+30+60+15+25 = 999.7
    totals=DEFAULT_TOTALS | dict(duration=999.7, acd=999.7 / 20))

# from_user_perspective: fo-1 keeps c6 (drops c5), fo-2 keeps c8 (drops c7); c9/c10 (empty
# uniqueid) and c11 (NULL) stay separate calls
case("from_user_perspective", from_user_perspective=True, complete=False, rows=[
    # c1, c2, c3: pdd mean(1.5, 2.5)
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 3, 2, 3.0, 1.7, 180, 180, 180,
      2 / 3 * 100, 90.0, 2.0),
    # c9, c10, c11: pdd 0.5
    D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 3, 2, 0.75, 0.3, 120, 36, 30,
      2 / 3 * 100, 15.0, 0.5),
    D(2, "John Smith", 2, "Carrier B", 1, "Lithuania Mobile", 1, 1),   # c6
    D(3, "John Smith", 0, "(Unassigned Providers)", 1, "Lithuania Mobile", 1, 1),  # c8
], # 27 - 2 records; pdd: (18.7 - 3.0 - 2.0) / 8
    totals=DEFAULT_TOTALS | dict(total_calls=25, asr=20 / 25 * 100, pdd=13.7 / 8))
# the last attempt of fo-2 (c8, ProvLoose) is filtered out, so c7 (ProvA2) counts:
# ProvA2 = c2, c7, c30, c31, c32
FUP_A2 = [D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 1, 1),   # c2
          D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 1, 0),   # c7
          D(2, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 2, 1),    # c30, c31
          D(3, "John Smith", 1, "Carrier A", 2, "Lithuania Fixed", 1, 1)]    # c32
case("fup_last_attempt_filtered", from_user_perspective=True, s_provider=2, rows=FUP_A2)
case("no_fup_same_provider", s_provider=2, rows=FUP_A2)
# ProvA1 with FUP: c5 counts (c6 went through ProvB); c9 and c10 both have uniqueid '' and
# stay two calls: c1,c3,c5,c9,c10,c11,c15,c21,c29
case("fup_empty_uniqueid_not_merged", from_user_perspective=True, s_provider=1,
     totals=dict(total_calls=9, answered_calls=6))
# c5 and c6 both dialled 37064444444: one user call
case("fup_same_dst", from_user_perspective=True, a_dst="37064444444", rows=[
    D(2, "John Smith", 2, "Carrier B", 1, "Lithuania Mobile", 1, 1, 1.5)])
case("no_fup_same_dst", a_dst="37064444444", totals=dict(total_calls=2, answered_calls=1))

# answered_calls threshold: rows with >= 2 answered: (2,1,1), (3,1,1), (4,0,0)
case("answered_threshold_2", answered_calls=2, rows=[
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2),
    D(3, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2),
    D(4, "noname", 0, "(Unassigned Providers)", 0, "Unassigned Destination", 2, 2),
], # totals over the shown rows only: 4+4+2, 2+2+2, 3.0+0.75+0.4, 1.7+0.3+0.5,
   # 180+30+42; asr 6/10; acd 252/6; pdd (1.5+2.5+3.0 + 2.0+0.5) / 5
    totals=dict(total_calls=10, answered_calls=6, billed_originator=4.15,
                billed_terminator=2.5, duration=252, asr=60.0, acd=42.0, pdd=9.5 / 5))
case("answered_threshold_0", answered_calls=0, rows=DEFAULT_ROWS, totals=DEFAULT_TOTALS)
case("answered_threshold_3_empty", answered_calls=3, rows=[],
     totals=dict(total_calls=0, answered_calls=0, billed_originator=0, billed_terminator=0,
                 duration=0, asr=0, acd=0, pdd=0))

# currency: money x exchange_rate; ratios unchanged
case("currency_eur", a_currency="EUR", profit_show=True, complete=False, rows=[
    D(2, "John Smith", 1, "Carrier A", 1, "Lithuania Mobile", 4, 2, 3.0 * 0.9, 1.7 * 0.9)
    | dict(profit=1.3 * 0.9, margin=1.3 / 3.0 * 100, markup=3.0 / 1.7 * 100 - 100)],
    totals=dict(billed_originator=18.9 * 0.9, billed_terminator=9.95 * 0.9,
                profit=8.95 * 0.9, margin=8.95 / 18.9 * 100, markup=18.9 / 9.95 * 100 - 100,
                duration=1007, acd=1007 / 20))
case("currency_lowercase_gbp", a_currency="gbp",
     totals=dict(billed_originator=18.9 * 0.8, billed_terminator=9.95 * 0.8))

# time zone: calldate is Vilnius wall clock (UTC+2 in March)
# UTC-midnight epochs read in Vilnius = 2024-03-15 02:00:00 .. 2024-03-16 01:59:59:
# c14 (00:00) drops out, c17 (16th 00:00) comes in
case("vilnius_shifts_window", group_by_day=True, settings=dict(timezone=VILNIUS), rows=[
    R("2024-03-15", 26, 19, 18.9 - 3.0, cols=Y),
    R("2024-03-16", 1, 1, 1.0, cols=Y),
])
# Vilnius-midnight epochs in Vilnius: exactly the fixture day
case("vilnius_local_day", settings=dict(timezone=VILNIUS),
     from_=epoch("2024-03-15 00:00:00", VILNIUS), till=epoch("2024-03-15 23:59:59", VILNIUS),
     rows=DEFAULT_ROWS, totals=DEFAULT_TOTALS)
# the same epochs read in UTC = 2024-03-14 22:00:00 .. 2024-03-15 21:59:59: c16 comes in,
# c15 (23:59:59) drops out
case("vilnius_epochs_in_utc", group_by_day=True,
     from_=epoch("2024-03-15 00:00:00", VILNIUS), till=epoch("2024-03-15 23:59:59", VILNIUS),
     rows=[R("2024-03-14", 1, 1, 1.0, cols=Y), R("2024-03-15", 26, 19, 18.9 - 1.0, cols=Y)])

# answered rule hangupcause = 16: c12 (ANSWERED, 31) is not answered, c13 (NO ANSWER, 16) is
case("answered_rule_hangupcause", settings=dict(answered_rule="hangupcause"), complete=False,
     rows=[D(3, "John Smith", 2, "Carrier B", 2, "Lithuania Fixed",
             2, 1, 0.05, 0.02, 5, 5, 5, 50.0, 5.0, 0.0)],
     # 18.9 - 0.6 + 0.05; 9.95 - 0.3 + 0.02; 1380 - 60 + 5; 1018 - 40 + 5; 1007 - 40 + 5
     totals=dict(total_calls=27, answered_calls=20, billed_originator=18.35,
                 billed_terminator=9.67, billed_duration_originator=1325,
                 billed_duration_terminator=983, duration=972, acd=972 / 20))

# Reseller PRO 'respro' (id 5): only users 7 and 8; his own ResProv at provider_price,
# the admin's ProvB at reseller_price
RESELLER_ROWS = [
    D(7, "Rita", 3, "Reseller Term", 1, "Lithuania Mobile", 1, 1, 1.2, 0.5),   # c25 own: 0.5
    D(7, "Rita", 2, "Carrier B", 2, "Lithuania Fixed", 1, 1, 2.4, 1.8),        # c26 admin's: 1.8
    D(8, "Kowalski", 2, "Carrier B", 3, "UK_Mobile", 1, 0, 0.0, 0.0),          # c27
    D(8, "Kowalski", 3, "Reseller Term", 3, "UK_Mobile", 1, 1, 0.9, 0.3),      # c28 own: 0.3
]
case("reseller_pro", u="respro", rows=RESELLER_ROWS, profit_show=True,
     # 1.2+2.4+0.9; 0.5+1.8+0.3; profit 4.5-2.6
     totals=dict(total_calls=4, answered_calls=3, billed_originator=4.5, billed_terminator=2.6,
                 profit=1.9, margin=1.9 / 4.5 * 100, markup=4.5 / 2.6 * 100 - 100))
case("reseller_pro_by_provider", u="respro", group_by_provider=True, rows=[
    R(5, "ResProv", 2, 2, 0.8, cols=P),    # 0.5 + 0.3 (provider_price)
    R(3, "ProvB", 2, 1, 1.8, cols=P),      # c26 reseller_price 1.8, c27 not answered
])
case("reseller_pro_eur", u="respro", a_currency="EUR",
     totals=dict(billed_originator=4.5 * 0.9, billed_terminator=2.6 * 0.9))
case("reseller_pro_own_user", u="respro", s_originator_id=7,
     rows=RESELLER_ROWS[:2])
case("reseller_pro_own_device", u="respro", s_device=5, rows=RESELLER_ROWS[2:])
case("reseller_pro_foreign_user", u="respro", s_originator_id=2, error=NotFound,
     message="User was not found")
case("reseller_pro_foreign_device", u="respro", s_device=1, error=NotFound,
     message="Device was not found")
case("reseller_pro_own_device_of_himself", u="respro", s_device=7, error=NotFound,
     message="Device was not found")

# who may not
case("plain_reseller_denied", u="resplain", error=AccessDenied)
case("user_denied", u="jsmith1", error=AccessDenied)
case("partner_denied", u="partner1", error=AccessDenied)
case("accountant_without_stats_denied", u="acc", settings=dict(accountant_stats=False),
     error=AccessDenied)
case("unknown_acting_user", u="nobody", error=NotFound, message="User was not found")

# every "X was not found"
NOT_FOUND = [
    ("missing_user", dict(s_originator_id=12345), "User was not found"),
    ("user_with_calls_but_no_row", dict(s_originator_id=99), "User was not found"),
    ("missing_terminator", dict(s_terminator_id=999), "Terminator was not found"),
    ("terminator_referenced_but_no_row", dict(s_terminator_id=77), "Terminator was not found"),
    ("missing_device", dict(s_device=98), "Device was not found"),
    ("missing_provider", dict(s_provider=88), "Provider was not found"),
    ("unknown_currency", dict(a_currency="XYZ"), "Currency was not found"),
]
for _id, _params, _msg in NOT_FOUND:
    case(f"not_found_{_id}", error=NotFound, message=_msg, **_params)


# ----------------------------------------------------------------------------- running

def run_reference(params, settings):
    return reference_report(TABLES, params, settings)


def run_sql(engine):
    from core.sources.db import DatabaseSource

    def run(params, settings):
        report = DatabaseSource(engine).run(params, settings)
        return report.rows, report.totals
    return run


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_reference(c):
    c.verify(run_reference)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_sql(c, make_db):
    c.verify(run_sql(make_db(TABLES)))


# ----------------------------------------------------------------------------- more checks

def _ratio_of_sums(rows, totals):
    # asr: 20/27*100 = 74.07 while the mean of the 18 row ASRs is
    # (4 x 50 + 13 x 100 + 0) / 18 = 83.33
    assert math.isclose(totals["asr"], 20 / 27 * 100, rel_tol=1e-9)
    assert math.isclose(float(rows["asr"].mean()), 1500 / 18, rel_tol=1e-9)
    # pdd: 18.7/10 = 1.87 over the records, while the mean of the row pdds is
    # (7/3 + 1.0 + 1.25 + 1.0 + 4.0 + 1.2 + 2.0) / 18 = 0.71
    assert math.isclose(totals["pdd"], 1.87, rel_tol=1e-9)
    assert math.isclose(float(rows["pdd"].mean()), (7 / 3 + 10.45) / 18, rel_tol=1e-9)
    # acd: 1007/20 = 50.35 vs the mean of row ACDs
    assert not math.isclose(float(rows["acd"].mean()), totals["acd"], rel_tol=1e-3)
    # margin: 8.95/18.9*100 = 47.35 vs the mean of row margins
    assert math.isclose(totals["margin"], 8.95 / 18.9 * 100, rel_tol=1e-9)
    assert not math.isclose(float(rows["margin"].mean()), totals["margin"], rel_tol=1e-3)


def test_totals_are_ratios_of_sums_reference():
    rows, totals = reference_report(TABLES, Params(u=ADMIN, from_=FROM, till=TILL,
                                                   profit_show=True), Settings())
    _ratio_of_sums(rows, totals)


def test_totals_are_ratios_of_sums_sql(make_db):
    from core.sources.db import DatabaseSource
    report = DatabaseSource(make_db(TABLES)).run(
        Params(u=ADMIN, from_=FROM, till=TILL, profit_show=True), Settings())
    _ratio_of_sums(report.rows, report.totals)
    assert report.currency == "USD"


def test_currency_code_sql(make_db):
    from core.sources.db import DatabaseSource
    report = DatabaseSource(make_db(TABLES)).run(
        Params(u=ADMIN, from_=FROM, till=TILL, a_currency="eur"), Settings())
    assert report.currency == "EUR"


@pytest.mark.parametrize("params, message", [(p, m) for _, p, m in NOT_FOUND],
                         ids=[i for i, _, _ in NOT_FOUND])
def test_not_found_before_any_call_query(make_db, params, message):
    """No query on calls runs when an id filter or the currency names nothing."""
    from core.sources.db import DatabaseSource
    engine = make_db(TABLES)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: statements.append(statement))
    with pytest.raises(NotFound) as info:
        DatabaseSource(engine).run(Params(u=ADMIN, from_=FROM, till=TILL, **params),
                                   Settings())
    assert str(info.value) == message
    on_calls = [s for s in statements if re.search(r"\bcalls\b", s, re.IGNORECASE)]
    assert not on_calls, on_calls


@pytest.mark.parametrize("u, settings", [("resplain", {}), ("jsmith1", {}), ("partner1", {}),
                                         ("acc", {"accountant_stats": False})])
def test_access_denied_message(make_db, u, settings):
    from core.sources.db import DatabaseSource
    with pytest.raises(AccessDenied) as info:
        DatabaseSource(make_db(TABLES)).run(Params(u=u, from_=FROM, till=TILL),
                                            Settings(**settings))
    assert str(info.value) == "Access Denied"


# ---- section 1 parse errors (core.params), before any source is involved
BASE = {"u": "admin", "from": str(FROM), "till": str(TILL)}


@pytest.mark.parametrize("pairs, param", [
    (BASE | {"group_by_user": "2"}, "group_by_user"),
    (BASE | {"profit_show": "yes"}, "profit_show"),
    (BASE | {"use_real_billsec": "-1"}, "use_real_billsec"),
    (BASE | {"from": "abc"}, "from"),
    (BASE | {"from": "1710460800.5"}, "from"),
    (BASE | {"till": "-5"}, "till"),
    (BASE | {"from": str(TILL), "till": str(FROM)}, "till"),
    (BASE | {"s_originator_id": "two"}, "s_originator_id"),
    (BASE | {"answered_calls": "-1"}, "answered_calls"),
    (BASE | {"foo": "1"}, "foo"),
    (BASE | {"hash": "not-a-sha1"}, "hash"),
    (BASE | {"hash": "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f"}, "hash"),   # 39 digits
    ({"from": str(FROM), "till": str(TILL)}, "u"),
], ids=["flag_2", "flag_yes", "flag_minus", "from_text", "from_fraction", "till_negative",
        "from_after_till", "id_text", "threshold_negative", "unknown_param", "bad_hash",
        "short_hash", "no_user"])
def test_parse_errors(pairs, param):
    with pytest.raises(ParamError) as info:
        parse_params(pairs)
    assert info.value.param == param
    assert str(info.value).startswith(f"{param}: ")


def test_parse_accepts_good_input():
    p = parse_params(BASE | {"group_by_user": "1", "hash": "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
                            "a_currency": "eur", "answered_calls": "0"})
    assert p.group_by_user and p.a_currency == "EUR" and p.answered_calls == 0
    assert p.groups == ("user",)


# ---- SQL injection through the text filters
INJECTIONS = ["x' OR '1'='1", "'; DROP TABLE calls; --", "%' OR 1=1 -- ", '" OR ""="',
              "\\'; DELETE FROM calls; -- ", "3706%') OR ('1'='1"]


@pytest.mark.parametrize("field", ["a_src", "a_dst", "dst_group", "clid"])
def test_injection_reference(field):
    for value in INJECTIONS:
        rows, totals = reference_report(
            TABLES, Params(u=ADMIN, from_=FROM, till=TILL, **{field: value}), Settings())
        assert rows.empty and totals["total_calls"] == 0, (field, value)


@pytest.mark.parametrize("field", ["a_src", "a_dst", "dst_group", "clid"])
def test_injection_sql(make_db, field):
    from core.sources.db import DatabaseSource
    engine = make_db(TABLES)
    source = DatabaseSource(engine)
    for value in INJECTIONS:
        report = source.run(Params(u=ADMIN, from_=FROM, till=TILL, **{field: value}),
                            Settings())
        assert report.rows.empty and report.totals["total_calls"] == 0, (field, value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM calls")).scalar() == len(CALLS)
        assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar() == len(TABLES["users"])
    # and the database still answers the default report
    report = source.run(Params(u=ADMIN, from_=FROM, till=TILL), Settings())
    check_totals(report.totals, DEFAULT_TOTALS)


# ---- daylight-saving changes: each bound is converted with its own UTC offset
DST_TABLES = {
    "users": [dict(id=0, username="admin", usertype="admin"),
              dict(id=10, username="u10", usertype="user")],
    "currencies": [dict(id=1, name="USD", exchange_rate=1.0)],
    "calls": [dict(id=1, calldate="2024-03-31 14:30:00", user_id=10, disposition="ANSWERED"),
              dict(id=2, calldate="2024-03-30 13:59:59", user_id=10, disposition="ANSWERED"),
              dict(id=3, calldate="2024-10-27 03:30:00", user_id=10, disposition="ANSWERED"),
              dict(id=4, calldate="2024-03-31 03:30:00", user_id=10, disposition="ANSWERED")],
}
DST_CASES = [
    # Vilnius goes UTC+2 -> UTC+3 on 2024-03-31 at 03:00 local. 2024-03-30 12:00 UTC is
    # 14:00 local (+2), 2024-03-31 12:00 UTC is 15:00 local (+3): c1 (14:30) and c4 in,
    # c2 (13:59:59) out. With one offset for both bounds c1 would fall out.
    ("2024-03-30 12:00:00", "2024-03-31 12:00:00", 2),
    # back to +2 on 2024-10-27 at 04:00 local (01:00 UTC): 00:30-00:45 UTC is 03:30-03:45
    # local summer time: c3 (03:30) in
    ("2024-10-27 00:30:00", "2024-10-27 00:45:00", 1),
    # 01:10-01:20 UTC is 03:10-03:20 local winter time: c3 out
    ("2024-10-27 01:10:00", "2024-10-27 01:20:00", 0),
    # 2024-03-31 00:00-01:00 UTC is 02:00-04:00 local (the hour 03:xx does not exist): c4 in
    ("2024-03-31 00:00:00", "2024-03-31 01:00:00", 1),
]


@pytest.mark.parametrize("start, end, count", DST_CASES)
def test_dst_reference(start, end, count):
    _, totals = reference_report(DST_TABLES, Params(u=ADMIN, from_=epoch(start), till=epoch(end)),
                                 Settings(timezone=VILNIUS))
    assert totals["total_calls"] == count


@pytest.mark.parametrize("start, end, count", DST_CASES)
def test_dst_sql(make_db, start, end, count):
    from core.sources.db import DatabaseSource
    report = DatabaseSource(make_db(DST_TABLES)).run(
        Params(u=ADMIN, from_=epoch(start), till=epoch(end)), Settings(timezone=VILNIUS))
    assert report.totals["total_calls"] == count
