"""Known traffic on three adjacent days, for compare and losses (tests/test_compare.py,
tests/test_losses.py). Every expectation in those tests is worked out by hand from here.

- 2024-03-14 (the previous day), 2024-03-15 (the current day): compare's traffic;
- 2024-03-16: losses' traffic.
Users: 0 admin, 1 accountant 'acc', 2 and 3 users of the admin, 5 the Reseller PRO
'respro' with customer 7. Terminators 1 (provider 1) and 2 (provider 2). Destination
groups: 1 'Lithuania Mobile' (prefix 3706), 2 'Lithuania Fixed' (3705), 3 'UK Mobile' (447).
Prices are in USD; every billed second equals the call's billsec.
"""
from __future__ import annotations

from tests.fixture_small import epoch

USERS = [
    dict(id=0, username="admin", first_name="System", last_name="Admin", usertype="admin"),
    dict(id=1, username="acc", first_name="Anna", last_name="Count", usertype="accountant"),
    dict(id=2, username="ann", first_name="Ann", last_name="One", usertype="user"),
    dict(id=3, username="bob", first_name="Bob", last_name="Two", usertype="user"),
    dict(id=5, username="respro", first_name="Reseller", last_name="Pro", usertype="reseller",
         own_providers=1),
    dict(id=7, username="rcust", first_name="Rita", last_name="Cust", usertype="user", owner_id=5),
]
DEVICES = [dict(id=i, user_id=i, name=f"d{i}", device_type="SIP", description=f"dev {i}")
           for i in (2, 3, 7)]
TERMINATORS = [dict(id=1, name="Carrier A", user_id=0), dict(id=2, name="Carrier B", user_id=0)]
PROVIDERS = [dict(id=1, name="ProvA", terminator_id=1, user_id=0, common_use=1),
             dict(id=2, name="ProvB", terminator_id=2, user_id=0, common_use=1)]
DESTINATIONGROUPS = [dict(id=1, name="Lithuania Mobile", desttype="MOB", flag="ltu"),
                     dict(id=2, name="Lithuania Fixed", desttype="FIX", flag="ltu"),
                     dict(id=3, name="UK Mobile", desttype="MOB", flag="gbr")]
DIRECTIONS = [dict(id=1, name="Lithuania", code="LTU"), dict(id=2, name="United Kingdom", code="GBR")]
DESTINATIONS = [
    dict(id=1, prefix="3706", direction_code="LTU", subcode="MOB", name="LT mobile", destinationgroup_id=1),
    dict(id=2, prefix="3705", direction_code="LTU", subcode="FIX", name="LT fixed", destinationgroup_id=2),
    dict(id=3, prefix="447", direction_code="GBR", subcode="MOB", name="UK mobile", destinationgroup_id=3),
]
CURRENCIES = [dict(id=1, name="USD", full_name="US Dollar", exchange_rate=1.0)]

A, NA = "ANSWERED", "NO ANSWER"
# id, when, user, provider, prefix, disposition, billsec, user_price, provider_price
_CALLS = [
    # the previous day
    (1, "2024-03-14 10:00:00", 2, 1, "3706", A, 60, 1.00, 0.40),
    (2, "2024-03-14 11:00:00", 2, 1, "3706", NA, 0, 0, 0),
    (3, "2024-03-14 12:00:00", 3, 2, "3705", A, 30, 0.50, 0.60),
    (4, "2024-03-14 13:00:00", 7, 1, "3706", A, 30, 0.60, 0.20),
    # the current day
    (5, "2024-03-15 10:00:00", 2, 1, "3706", A, 120, 2.00, 0.80),
    (6, "2024-03-15 11:00:00", 2, 1, "3706", A, 60, 1.00, 0.40),
    (7, "2024-03-15 12:00:00", 2, 1, "3706", NA, 0, 0, 0),
    (8, "2024-03-15 13:00:00", 7, 1, "447", A, 90, 1.50, 0.90),
    # losses' day
    (11, "2024-03-16 10:00:00", 3, 2, "3705", A, 60, 0.20, 0.50),
    (12, "2024-03-16 11:00:00", 2, 1, "447", A, 30, 0.10, 0.15),
    (13, "2024-03-16 12:00:00", 2, 1, "3706", A, 60, 1.00, 0.95),
    (14, "2024-03-16 13:00:00", 7, 1, "3705", A, 60, 0.30, 0.40),
    (15, "2024-03-16 14:00:00", 2, 1, "3705", NA, 0, 0, 0),
]


def _call(values) -> dict:
    cid, when, user, provider, prefix, disposition, billsec, up, pp = values
    return dict(id=cid, calldate=when, user_id=user, src_device_id=user, provider_id=provider,
                prefix=prefix, disposition=disposition, hangupcause=16 if disposition == A else 19,
                billsec=billsec, real_billsec=float(billsec), user_billsec=billsec,
                provider_billsec=billsec, duration=billsec + 5, real_duration=billsec + 5.0,
                user_price=up, provider_price=pp, reseller_price=pp, user_rate=1.0,
                provider_rate=0.5, uniqueid=f"c-{cid}", card_id=0, pdd=0,
                src="370600000", dst=prefix + "1234", clid="", dst_device_id=0,
                callertype="Local", reseller_id=5 if user == 7 else 0)


TABLES = {"users": USERS, "devices": DEVICES, "terminators": TERMINATORS, "providers": PROVIDERS,
          "destinationgroups": DESTINATIONGROUPS, "directions": DIRECTIONS,
          "destinations": DESTINATIONS, "currencies": CURRENCIES,
          "calls": [_call(c) for c in _CALLS]}

PREV_FROM, PREV_TILL = epoch("2024-03-14 00:00:00"), epoch("2024-03-14 23:59:59")
FROM, TILL = epoch("2024-03-15 00:00:00"), epoch("2024-03-15 23:59:59")
LOSS_FROM, LOSS_TILL = epoch("2024-03-16 00:00:00"), epoch("2024-03-16 23:59:59")
