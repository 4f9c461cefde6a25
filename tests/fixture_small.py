"""A small hand-written MOR database that exercises every aggregate_get parameter.

`TABLES` maps a table name to its rows (dicts of core.schema columns; absent columns take
the schema defaults). Every expectation in tests/test_core_fixture.py is computed by hand
from the tables below, so change nothing here without redoing that arithmetic.
`build_small_sqlite(path)` writes them to an SQLite file, for tests that run the app
(AppTest, a browser).

The day is 2024-03-15 (Europe/Vilnius is UTC+2 then). With the UTC window
[2024-03-15 00:00:00, 2024-03-15 23:59:59] the counted records are calls 1-15, 18-21 and
25-32 (27 records): 16 and 17 lie one second outside, 22 is a card call, 23 incoming
(user -1), 24 the admin's own (user 0).

Who is who
- users: 0 admin, 1 accountant 'acc', 2 and 3 are both "John Smith" (two rows!), 4 has
  empty names (label = username 'noname'), 5 the Reseller PRO 'respro' with customers 7
  ('Rita', empty last name) and 8 ('Kowalski', empty first name), 6 a plain reseller
  with customer 11 ('Paul Customer'), 9 a partner, 99 has calls but no users row.
- devices: 1 'John office'; 2 empty description -> 'SIP/1002'; 3 NULL description ->
  'IAX2/nn'; 4, 5 Rita's and Kowalski's; 6 Paul's; 7 the reseller's own; 98 is missing.
- terminators: 1 'Carrier A', 2 'Carrier B', 3 'Reseller Term' (owned by 5).
- providers: 1 ProvA1 and 2 ProvA2 in terminator 1; 3 ProvB in terminator 2 (admin's,
  common use); 4 ProvLoose in no terminator; 5 ResProv in terminator 3, owned by the
  Reseller PRO; 6 GhostTerm points at terminator 77, which has no row; 88 is missing.
- destinations: 3706 'Lithuania Mobile' (group 1), 3705 'Lithuania Vilnius' (group 2),
  447 empty name -> 'United Kingdom MOB' (group 3 'UK_Mobile'), 4470 'UK special'
  (group 4 'UKxMobile', to prove '_' is literal), 999 'Unknown land' (group 0),
  888 'Orphan group' (group 55, no row); prefix 12345 has no destination at all.
- currencies: USD 1, EUR 0.9, GBP 0.8.
- sign-in: every user's password is `demo` (users.password holds its SHA1 hex, written out
  below by hand, as MOR stores it); partner1 is blocked.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.engines import populate

DAY = "2024-03-15"


def epoch(wall: str, tz: str = "UTC") -> int:
    """Unix epoch of a 'YYYY-MM-DD HH:MM:SS' wall-clock time in zone `tz`."""
    return int(datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(tz)).timestamp())


FROM = epoch(f"{DAY} 00:00:00")   # 1710460800
TILL = epoch(f"{DAY} 23:59:59")   # 1710547199

PASSWORD = "demo"
DEMO_SHA1 = "89e495e7941cf9e40e6980d14a16bf023ccd4c91"   # sha1("demo"), as in users.password

USERS = [
    dict(id=0, username="admin", first_name="System", last_name="Admin", usertype="admin"),
    dict(id=1, username="acc", first_name="Anna", last_name="Count", usertype="accountant"),
    dict(id=2, username="jsmith1", first_name="John", last_name="Smith", usertype="user"),
    dict(id=3, username="jsmith2", first_name="John", last_name="Smith", usertype="user"),
    dict(id=4, username="noname", first_name="", last_name="", usertype="user"),
    dict(id=5, username="respro", first_name="Reseller", last_name="Pro", usertype="reseller",
         own_providers=1),
    dict(id=6, username="resplain", first_name="Plain", last_name="Reseller",
         usertype="reseller", own_providers=0),
    dict(id=7, username="rcust1", first_name="Rita", last_name="", usertype="user", owner_id=5),
    dict(id=8, username="rcust2", first_name="", last_name="Kowalski", usertype="user",
         owner_id=5),
    dict(id=9, username="partner1", first_name="Pat", last_name="Partner", usertype="partner"),
    dict(id=11, username="pcust", first_name="Paul", last_name="Customer", usertype="user",
         owner_id=6),
]
for _user in USERS:     # sign-in columns only: no report reads them
    _user.update(password=DEMO_SHA1, blocked=int(_user["username"] == "partner1"))

DEVICES = [
    dict(id=1, user_id=2, name="1001", device_type="SIP", description="John office"),
    dict(id=2, user_id=3, name="1002", device_type="SIP", description=""),
    dict(id=3, user_id=4, name="nn", device_type="IAX2", description=None),
    dict(id=4, user_id=7, name="r7", device_type="SIP", description="Rita phone"),
    dict(id=5, user_id=8, name="r8", device_type="SIP", description="Kowalski desk"),
    dict(id=6, user_id=11, name="p11", device_type="SIP", description="Pcust dev"),
    dict(id=7, user_id=5, name="res", device_type="SIP", description="Reseller own"),
]

TERMINATORS = [
    dict(id=1, name="Carrier A", user_id=0),
    dict(id=2, name="Carrier B", user_id=0),
    dict(id=3, name="Reseller Term", user_id=5),
]

PROVIDERS = [
    dict(id=1, name="ProvA1", terminator_id=1, user_id=0),
    dict(id=2, name="ProvA2", terminator_id=1, user_id=0),
    dict(id=3, name="ProvB", terminator_id=2, user_id=0, common_use=1),
    dict(id=4, name="ProvLoose", terminator_id=0, user_id=0),
    dict(id=5, name="ResProv", terminator_id=3, user_id=5),
    dict(id=6, name="GhostTerm", terminator_id=77, user_id=0),
]

DESTINATIONGROUPS = [
    dict(id=1, name="Lithuania Mobile", desttype="MOB", flag="ltu"),
    dict(id=2, name="Lithuania Fixed", desttype="FIX", flag="ltu"),
    dict(id=3, name="UK_Mobile", desttype="MOB", flag="gbr"),
    dict(id=4, name="UKxMobile", desttype="MOB", flag="gbr"),
]

DIRECTIONS = [
    dict(id=1, name="Lithuania", code="LTU"),
    dict(id=2, name="United Kingdom", code="GBR"),
]

DESTINATIONS = [
    dict(id=1, prefix="3706", direction_code="LTU", subcode="MOB", name="Lithuania Mobile",
         destinationgroup_id=1),
    dict(id=2, prefix="3705", direction_code="LTU", subcode="FIX", name="Lithuania Vilnius",
         destinationgroup_id=2),
    dict(id=3, prefix="447", direction_code="GBR", subcode="MOB", name="",
         destinationgroup_id=3),
    dict(id=4, prefix="4470", direction_code="GBR", subcode="MOB", name="UK special",
         destinationgroup_id=4),
    dict(id=5, prefix="999", direction_code="", subcode="", name="Unknown land",
         destinationgroup_id=0),
    dict(id=6, prefix="888", direction_code="", subcode="", name="Orphan group",
         destinationgroup_id=55),
]

CURRENCIES = [
    dict(id=1, name="USD", full_name="US Dollar", exchange_rate=1.0),
    dict(id=2, name="EUR", full_name="Euro", exchange_rate=0.9),
    dict(id=3, name="GBP", full_name="Pound", exchange_rate=0.8),
]

CONFLINES = [dict(id=1, name="API_Secret_Key", value="secret", owner_id=0)]

A, NA, BUSY, FAIL = "ANSWERED", "NO ANSWER", "BUSY", "FAILED"
J1 = '"John" <37060000001>'
J2 = '"John" <37060000002>'

# id, calldate, user, device, provider, prefix, disposition, hangupcause,
# billsec, real_billsec, user_billsec, provider_billsec,
# user_price, provider_price, reseller_price, user_rate, provider_rate,
# uniqueid, card_id, pdd, src, dst, clid
_CALLS = [
    (1, "10:00:00", 2, 1, 1, "3706", A, 16, 60, 59.5, 60, 60, 1.00, 0.50, 0.70, 1.0, 0.5,
     "u-1", 0, 1.5, "37060000001", "37061111111", J1),
    (2, "10:05:00", 2, 1, 2, "3706", A, 16, 120, 119.2, 120, 120, 2.00, 1.20, 1.50, 1.0, 0.6,
     "u-2", 0, 2.5, "37060000001", "37062222222", J1),
    (3, "11:00:00", 2, 1, 1, "3706", NA, 19, 0, 0, 0, 0, 0, 0, 0, 1.0, 0.5,
     "u-3", 0, 0, "37060000001", "37063333333", J1),
    (4, "12:00:00", 2, 1, 3, "3705", A, 16, 30, 30.0, 60, 30, 0.50, 0.20, 0.30, 1.0, 0.4,
     "u-4", 0, 0, "37060000001", "37052000000", J1),
    # failover: 5 (FAILED via ProvA1) then 6 (ANSWERED via ProvB), one user call "fo-1"
    (5, "13:00:00", 2, 1, 1, "3706", FAIL, 34, 0, 0, 0, 0, 0, 0, 0, 1.0, 0.5,
     "fo-1", 0, 3.0, "37060000001", "37064444444", J1),
    (6, "13:00:05", 2, 1, 3, "3706", A, 16, 90, 90.0, 90, 90, 1.50, 0.90, 1.20, 1.0, 0.6,
     "fo-1", 0, 1.0, "37060000001", "37064444444", J1),
    # failover: 7 (BUSY via ProvA2) then 8 (ANSWERED via ProvLoose), one user call "fo-2"
    (7, "14:00:00", 3, 2, 2, "3706", BUSY, 17, 0, 0, 0, 0, 0, 0, 0, 0.75, 0.6,
     "fo-2", 0, 2.0, "37060000002", "37065555555", J2),
    (8, "14:00:03", 3, 2, 4, "3706", A, 16, 45, 44.1, 60, 45, 0.75, 0.45, 0.60, 0.75, 0.6,
     "fo-2", 0, 1.0, "37060000002", "37065555555", J2),
    # empty / NULL uniqueid: never merged
    (9, "15:00:00", 3, 2, 1, "3706", A, 16, 10, 9.4, 60, 12, 0.25, 0.10, 0.15, 0.75, 0.6,
     "", 0, 0.5, "37060000002", "37066666666", J2),
    (10, "15:10:00", 3, 2, 1, "3706", NA, 19, 0, 0, 0, 0, 0, 0, 0, 0.75, 0.6,
     "", 0, 0, "37060000002", "37067777777", J2),
    (11, "15:20:00", 3, 2, 1, "3706", A, 16, 20, 19.6, 60, 24, 0.50, 0.20, 0.30, 0.75, 0.6,
     None, 0, 0, "37060000002", "37068888888", J2),
    # disposition and hangupcause disagree: 12 ANSWERED/31, 13 NO ANSWER/16
    (12, "16:00:00", 3, 2, 3, "3705", A, 31, 40, 40.0, 60, 40, 0.60, 0.30, 0.40, 0.75, 0.45,
     "u-12", 0, 0, "37060000002", "37052111111", J2),
    (13, "16:10:00", 3, 2, 3, "3705", NA, 16, 5, 4.5, 5, 5, 0.05, 0.02, 0.03, 0.75, 0.45,
     "u-13", 0, 0, "37060000002", "37052222222", J2),
    # exactly at from and at till
    (14, "00:00:00", 4, 3, 4, "447", A, 16, 100, 99.9, 120, 100, 3.00, 2.00, 2.50, 1.5, 1.2,
     "u-14", 0, 4.0, "447000001", "447911111", ""),
    (15, "23:59:59", 4, 3, 1, "4470", A, 16, 50, 50.0, 60, 50, 1.00, 0.60, 0.80, 1.5, 0.72,
     "u-15", None, 0, "447000001", "44701111", ""),
    # one second outside, before and after
    (16, "2024-03-14 23:59:59", 4, 3, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70,
     1.0, 0.5, "u-16", 0, 0, "447000001", "37069999999", ""),
    (17, "2024-03-16 00:00:00", 4, 3, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70,
     1.0, 0.5, "u-17", 0, 0, "447000001", "37069999998", ""),
    # group 0, dangling group 55, missing provider 88 and missing destination 12345
    (18, "17:00:00", 4, 3, 4, "999", A, 16, 30, 30.0, 60, 30, 0.40, 0.40, 0.40, 0.8, 0.8,
     "u-18", 0, 0, "447000001", "9991111", ""),
    (19, "17:30:00", 4, 3, 6, "888", A, 16, 30, 30.0, 60, 30, 0.30, 0.00, 0.00, 0.6, 0.0,
     "u-19", 0, 0, "447000001", "8881111", ""),
    (20, "18:00:00", 4, 3, 88, "12345", A, 16, 12, 12.0, 60, 12, 0.00, 0.10, 0.10, 0.0, 0.5,
     "u-20", 0, 0, "447000001", "123451111", ""),
    # a user (99) and a device (98) without rows
    (21, "18:30:00", 99, 98, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70, 1.0, 0.5,
     "u-21", 0, 0, "37069000099", "37061212121", ""),
    # never counted: a card call, an incoming call, the admin's own call
    (22, "19:00:00", 2, 1, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70, 1.0, 0.5,
     "u-22", 5, 0, "37060000001", "37061313131", J1),
    (23, "19:10:00", -1, 0, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70, 1.0, 0.5,
     "u-23", 0, 0, "37060000009", "37061414141", ""),
    (24, "19:20:00", 0, 0, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.00, 0.50, 0.70, 1.0, 0.5,
     "u-24", 0, 0, "37060000000", "37061515151", ""),
    # the Reseller PRO's users: 25, 28 through his own ResProv; 26, 27 through admin's ProvB
    (25, "09:00:00", 7, 4, 5, "3706", A, 16, 60, 58.0, 60, 60, 1.20, 0.50, 0.90, 1.2, 0.5,
     "r-25", 0, 1.2, "37069000007", "37061616161", '"Rita" <37069000007>'),
    (26, "09:30:00", 7, 4, 3, "3705", A, 16, 120, 118.0, 120, 120, 2.40, 1.00, 1.80, 1.2, 0.5,
     "r-26", 0, 0, "37069000007", "37051717171", '"Rita" <37069000007>'),
    (27, "10:30:00", 8, 5, 3, "447", NA, 19, 0, 0, 0, 0, 0, 0, 0, 1.8, 0.6,
     "r-27", 0, 0, "back\\slash", "447922222", "37069000008"),
    (28, "11:30:00", 8, 5, 5, "447", A, 16, 30, 30.0, 30, 30, 0.90, 0.30, 0.60, 1.8, 0.6,
     "r-28", 0, 2.0, "37069000008", "447933333", "37069000008"),
    # the plain reseller's user
    (29, "12:30:00", 11, 6, 1, "3706", A, 16, 60, 60.0, 60, 60, 1.10, 0.50, 0.80, 1.1, 0.5,
     "p-29", 0, 0, "37069000011", "37061818181", ""),
    # '_' and '%' in src / dst / clid, and a formula as caller ID
    (30, "20:00:00", 2, 1, 2, "3705", A, 16, 15, 15.0, 60, 15, 0.20, 0.10, 0.15, 1.0, 0.4,
     "u-30", 0, 0, "AB_C", "3705_123", "100%_done"),
    (31, "20:10:00", 2, 1, 2, "3705", NA, 19, 0, 0, 0, 0, 0, 0, 0, 1.0, 0.4,
     "u-31", 0, 0, "ABxC", "3705x123", "100xxdone"),
    (32, "20:20:00", 3, 2, 2, "3705", A, 16, 25, 25.0, 60, 30, 0.30, 0.10, 0.20, 0.75, 0.24,
     "u-32", 0, 0, "=1+2", "37053000000", "=1+2"),
]

_FIELDS = ("id", "calldate", "user_id", "src_device_id", "provider_id", "prefix",
           "disposition", "hangupcause", "billsec", "real_billsec", "user_billsec",
           "provider_billsec", "user_price", "provider_price", "reseller_price", "user_rate",
           "provider_rate", "uniqueid", "card_id", "pdd", "src", "dst", "clid")


def _call(values: tuple) -> dict:
    row = dict(zip(_FIELDS, values, strict=True))
    when = row["calldate"]
    row["calldate"] = when if len(when) > 8 else f"{DAY} {when}"
    reseller = {7: 5, 8: 5, 11: 6}.get(row["user_id"], 0)
    row.update(duration=row["billsec"] + 7, real_duration=float(row["real_billsec"]) + 7.0,
               reseller_id=reseller, dst_device_id=0, callertype="Local")
    return row


CALLS = [_call(c) for c in _CALLS]

TABLES: dict[str, list[dict]] = {
    "users": USERS,
    "devices": DEVICES,
    "terminators": TERMINATORS,
    "providers": PROVIDERS,
    "destinationgroups": DESTINATIONGROUPS,
    "directions": DIRECTIONS,
    "destinations": DESTINATIONS,
    "currencies": CURRENCIES,
    "conflines": CONFLINES,
    "calls": CALLS,
}


def build_small_sqlite(path: Path) -> Path:
    """Write the small MOR dataset to a fresh SQLite file at `path` and return the path."""
    path = Path(path)
    if path.exists():
        path.unlink()
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        populate(engine, TABLES)
    finally:
        engine.dispose()
    return path
