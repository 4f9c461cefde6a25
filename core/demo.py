"""A deterministic, vectorised generator of a realistic MOR database (the demo).

`build_demo(url)` creates the tables of `core.schema` in an empty SQLite, DuckDB or
MySQL/MariaDB database and fills them: an admin, a Reseller PRO with his own users,
provider and terminator, a plain reseller, an accountant, ~50 users with devices,
providers in terminators, real country prefixes in destination groups, currencies, the
API conflines, and `calls` call records that end a couple of minutes before `now`.

Everything but the call records is a fixed catalogue (the same ids and names for every
seed, so docs and tests can name "jsmith" or the Reseller PRO's id). The call records
depend only on (seed, calls, days, now) and are generated with numpy, column by column.

What the records look like (what a report over them shows):
- one user call = 1-3 failover attempts (records) sharing `uniqueid`, ids increasing;
  only the last attempt can be answered; ASR per record is about 50 %, ACD ~3 min;
- `billsec = ceil(real_billsec)`, zero unless ANSWERED; prices are rate x billsec after
  the tariff's or provider's billing increment / 60, zero unless ANSWERED;
- a few loss-making routes (cheap tariffs on thin-margin destinations);
- Reseller PRO users route through his own provider and the admin's common-use ones;
  `reseller_price` (what a reseller pays the admin) is set on calls through admin providers;
- noise the report must cope with: incoming calls (user_id -1), the admin's own calls
  (user_id 0), calling-card calls (card_id > 0, with a real user_id), a few failed
  records with no provider (provider_id 0, MOR's own hang-up causes 2xx), pdd 0 on some
  records, caller ids with spreadsheet formulas, quotes, `&`, `<` and non-ASCII names.
"""
from __future__ import annotations

import math
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateTable

from core.schema import CALL_COLUMNS, metadata, users
from core.schema import calls as calls_t

__all__ = ["build_demo", "ensure_demo", "demo_tables", "DemoSummary", "DemoExists",
           "DEFAULT_DEMO_PATH", "ADMIN_ID", "ACCOUNTANT_ID", "RESELLER_PRO_ID",
           "RESELLER_ID", "API_SECRET"]

DEFAULT_DEMO_PATH = Path("data/demo.sqlite")

ADMIN_ID = 0
ACCOUNTANT_ID = 2
RESELLER_PRO_ID = 3
RESELLER_ID = 4
API_SECRET = "secret"

# The index only our own demo database gets (not part of core.schema, so create_all
# elsewhere never creates it): led by calldate, it covers the period filter and the
# commonest grouping keys.
EXTRA_INDEXES = (
    ("demo_calls_calldate_user_provider", ("calldate", "user_id", "provider_id")),
)

OUR_TABLES = tuple(metadata.sorted_tables)
_LOOKUP_TABLES = tuple(t for t in OUR_TABLES if t is not calls_t)


class DemoExists(ValueError):
    """The target database already holds call records (or is not ours to replace)."""


@dataclass(frozen=True)
class DemoSummary:
    url: str
    calls: int
    first_calldate: datetime | None
    last_calldate: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    seed: int = 7
    days: int = 30
    now: datetime | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        per = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return (f"demo database {self.url}: {self.calls:,} call records from "
                f"{self.first_calldate} to {self.last_calldate} ({per}); "
                f"built in {self.seconds:.1f} s")


# ---------------------------------------------------------------------------------------
# The fixed catalogue
# ---------------------------------------------------------------------------------------

CURRENCIES = [
    # id, name, full_name, exchange_rate (units per 1 USD), active
    (1, "USD", "United States dollar", 1.0, 1),
    (2, "EUR", "Euro", 0.92, 1),
    (3, "GBP", "British pound", 0.79, 1),
    (4, "LTL", "Lithuanian litas", 3.1776, 0),   # replaced by the euro in 2015
    (5, "PLN", "Polish zloty", 3.98, 1),
]

CONFLINES = [
    ("API_Secret_Key", API_SECRET, 0),
    ("Allow_API", "1", 0),
    ("Allow_GET_API", "0", 0),
    ("API_Disable_hash_checking", "0", 0),
    ("Default_Currency", "USD", 0),
    ("Company", "Demo Telecom", 0),
]

# code, name, ISO 3166-1 alpha-2 (the destination groups' flag)
DIRECTIONS = [
    ("LTU", "Lithuania", "lt"), ("LVA", "Latvia", "lv"), ("EST", "Estonia", "ee"),
    ("GBR", "United Kingdom", "gb"), ("USA", "United States", "us"),
    ("DEU", "Germany", "de"), ("FRA", "France", "fr"), ("POL", "Poland", "pl"),
    ("IND", "India", "in"), ("ESP", "Spain", "es"), ("ITA", "Italy", "it"),
    ("NLD", "Netherlands", "nl"), ("UKR", "Ukraine", "ua"), ("SWE", "Sweden", "se"),
]
_FLAG = {code: flag for code, _, flag in DIRECTIONS}

# id, name, desttype, flag; group 16 has no destinations (as real catalogues do)
DESTINATION_GROUPS = [
    (1, "Lithuania Fixed", "FIX", "lt"), (2, "Lithuania Mobile", "MOB", "lt"),
    (3, "UK Fixed", "FIX", "gb"), (4, "UK Mobile", "MOB", "gb"),
    (5, "USA", "FIX", "us"), (6, "Germany Fixed", "FIX", "de"),
    (7, "Germany Mobile", "MOB", "de"), (8, "France Fixed", "FIX", "fr"),
    (9, "France Mobile", "MOB", "fr"), (10, "Poland Fixed", "FIX", "pl"),
    (11, "Poland Mobile", "MOB", "pl"), (12, "Baltics Fixed", "FIX", ""),
    (13, "Baltics Mobile", "MOB", ""), (14, "India Mobile", "MOB", "in"),
    (15, "Spain & Italy Mobile", "MOB", ""), (16, "Satellite", "SAT", ""),
]

# prefix, direction, subcode, name ('' = the report shows direction + subcode), group,
# traffic weight, provider cost per minute (USD), retail markup, full number length,
# answer factor
DESTINATIONS = [
    ("370", "LTU", "FIX", "Lithuania", 1, 0.050, 0.0120, 2.1, 11, 1.00),
    ("3705", "LTU", "FIX", "Lithuania Vilnius", 1, 0.075, 0.0100, 2.2, 11, 1.02),
    ("3706", "LTU", "MOB", "Lithuania Mobile", 2, 0.190, 0.0450, 1.9, 11, 1.00),
    ("371", "LVA", "FIX", "", 12, 0.025, 0.0200, 2.0, 11, 0.98),
    ("3712", "LVA", "MOB", "Latvia Mobile", 13, 0.040, 0.0500, 1.8, 11, 0.97),
    ("372", "EST", "FIX", "", 12, 0.018, 0.0200, 2.0, 10, 0.98),
    ("3725", "EST", "MOB", "Estonia Mobile", 13, 0.028, 0.0600, 1.8, 11, 0.97),
    ("44", "GBR", "FIX", "United Kingdom", 3, 0.040, 0.0040, 2.5, 12, 1.00),
    ("4420", "GBR", "FIX", "United Kingdom London", 3, 0.030, 0.0035, 2.6, 12, 1.02),
    ("447", "GBR", "MOB", "United Kingdom Mobile", 4, 0.065, 0.0090, 2.3, 12, 0.98),
    ("1", "USA", "FIX", "USA", 5, 0.050, 0.0030, 2.5, 11, 0.95),
    ("1212", "USA", "FIX", "USA New York", 5, 0.018, 0.0030, 2.5, 11, 0.96),
    ("1800", "USA", "FIX", "USA Toll Free", 0, 0.004, 0.0, 1.0, 11, 1.00),
    ("49", "DEU", "FIX", "Germany", 6, 0.030, 0.0040, 2.4, 12, 1.00),
    ("4930", "DEU", "FIX", "Germany Berlin", 6, 0.014, 0.0040, 2.4, 12, 1.00),
    ("4915", "DEU", "MOB", "Germany Mobile", 7, 0.030, 0.0350, 1.9, 13, 0.98),
    ("4917", "DEU", "MOB", "", 7, 0.020, 0.0300, 1.9, 13, 0.98),
    ("33", "FRA", "FIX", "France", 8, 0.020, 0.0060, 2.3, 11, 0.99),
    ("336", "FRA", "MOB", "France Mobile", 9, 0.025, 0.0250, 2.0, 11, 0.97),
    ("337", "FRA", "MOB", "", 9, 0.010, 0.0250, 2.0, 11, 0.97),
    ("48", "POL", "FIX", "Poland", 10, 0.015, 0.0080, 2.2, 11, 0.99),
    ("485", "POL", "MOB", "Poland Mobile", 11, 0.030, 0.0150, 2.0, 11, 0.98),
    ("91", "IND", "FIX", "India", 0, 0.010, 0.0300, 1.6, 12, 0.80),
    ("919", "IND", "MOB", "India Mobile", 14, 0.030, 0.0180, 1.15, 12, 0.78),
    ("34", "ESP", "FIX", "Spain", 0, 0.010, 0.0050, 2.3, 11, 0.99),
    ("346", "ESP", "MOB", "Spain Mobile", 15, 0.015, 0.0200, 2.0, 11, 0.97),
    ("39", "ITA", "FIX", "Italy", 0, 0.010, 0.0060, 2.3, 12, 0.99),
    ("393", "ITA", "MOB", "", 15, 0.015, 0.0200, 2.0, 12, 0.97),
    ("31", "NLD", "FIX", "Netherlands", 0, 0.010, 0.0080, 2.2, 11, 0.99),
    ("316", "NLD", "MOB", "Netherlands Mobile", 0, 0.012, 0.0400, 1.8, 11, 0.97),
    ("380", "UKR", "FIX", "Ukraine", 0, 0.010, 0.0600, 1.7, 12, 0.85),
    ("38067", "UKR", "MOB", "Ukraine Mobile Kyivstar", 0, 0.020, 0.0900, 1.1, 12, 0.88),
    ("46", "SWE", "FIX", "Sweden", 0, 0.008, 0.0040, 2.4, 11, 1.00),
    ("467", "SWE", "MOB", "", 0, 0.010, 0.0120, 2.0, 11, 0.98),
]
_PREFIX_INDEX = {d[0]: i for i, d in enumerate(DESTINATIONS)}

# Tariffs: name, factor on the retail price, billing min_time and increment (seconds).
TARIFFS = [
    ("Retail", 1.00, 60, 60),
    ("Business", 0.90, 30, 6),
    ("Wholesale", 0.70, 1, 1),
    ("Reseller PRO retail", 1.15, 60, 60),
    ("Reseller retail", 1.10, 30, 6),
    ("Calling cards", 1.30, 60, 60),
]
T_RETAIL, T_BUSINESS, T_WHOLESALE, T_RP, T_RES, T_CARD = range(len(TARIFFS))
# What resellers pay the admin: a wholesale tariff on the retail price, 1/1 billing.
RESELLER_FACTOR = 0.82

# id, name, user_id (owner)
TERMINATORS = [
    (1, "Baltic Transit", 0), (2, "EuroVoice Wholesale", 0), (3, "Atlantic Gateway", 0),
    (4, "Mobile Direct", 0), (5, "ResellerPRO Routes", RESELLER_PRO_ID),
]
# id, name, tech, terminator_id, user_id, common_use, cost factor, min_time, increment,
# answer probability of a last attempt
PROVIDERS = [
    (1, "BalticTransit-A", "SIP", 1, 0, 1, 0.95, 1, 1, 0.74),
    (2, "BalticTransit-B", "SIP", 1, 0, 0, 1.00, 30, 6, 0.70),
    (3, "EuroVoice-Premium", "SIP", 2, 0, 0, 1.20, 1, 1, 0.80),
    (4, "EuroVoice-CLI", "IAX2", 2, 0, 1, 1.05, 60, 60, 0.75),
    (5, "Atlantic-US", "SIP", 3, 0, 0, 0.90, 6, 6, 0.72),
    (6, "Atlantic-UK", "SIP", 3, 0, 0, 0.92, 1, 1, 0.72),
    (7, "MobileDirect-LT", "SIP", 4, 0, 0, 1.10, 30, 6, 0.77),
    (8, "MobileDirect-EU", "SIP", 4, 0, 0, 1.00, 1, 1, 0.68),
    (9, "SpotRoute", "SIP", 0, 0, 0, 0.80, 60, 60, 0.55),
    (10, "RP-SIPTrunk", "SIP", 5, RESELLER_PRO_ID, 0, 0.90, 1, 1, 0.70),
]
P_INCOMING = 7          # the DID carrier incoming calls arrive through
P_RP_OWN = 10

# LCRs: provider order; by_price sorts them per destination by the provider's rate.
LCRS = [
    ("Default", True, [1, 2, 3, 4, 9]),
    ("Quality", False, [3, 7, 6, 1]),
    ("Cheap", True, [9, 8, 2, 5, 6]),
    ("ResellerPRO", False, [P_RP_OWN, 1, 4]),
]

_STAFF = [
    # id, username, first, last, usertype, owner, own_providers
    (ADMIN_ID, "admin", "System", "Admin", "admin", 0, 0),
    (ACCOUNTANT_ID, "accountant", "Rasa", "Kairienė", "accountant", 0, 0),
    (RESELLER_PRO_ID, "reseller_pro", "Marius", "Lukoševičius", "reseller", 0, 1),
    (RESELLER_ID, "reseller", "Sandra", "Vilkienė", "reseller", 0, 0),
]
# username, first_name, last_name, owner, tariff, lcr, home country, currency_id, weight
_USERS = [
    ("jsmith", "John", "Smith", 0, T_RETAIL, 1, "GBR", 3, 3.0),
    ("john.smith", "John", "Smith", 0, T_BUSINESS, 0, "USA", 1, 1.2),
    ("ppetraitis", "Petras", "Petraitis", 0, T_RETAIL, 0, "LTU", 2, 2.5),
    ("ajonaitiene", "Aušra", "Jonaitienė", 0, T_BUSINESS, 1, "LTU", 2, 1.5),
    ("mkazlauskas", "Mindaugas", "Kazlauskas", 0, T_BUSINESS, 0, "LTU", 2, 2.0),
    ("rcepuliene", "Rūta", "Čepulienė", 0, T_RETAIL, 1, "LTU", 2, 0.8),
    ("zsimkus", "Žilvinas", "Šimkus", 0, T_RETAIL, 0, "LTU", 2, 0.6),
    ("acme_pbx", "", "", 0, T_WHOLESALE, 2, "GBR", 3, 6.0),
    ("callcenter_vilnius", "", "", 0, T_WHOLESALE, 2, "LTU", 2, 8.0),
    ("ebrown", "Emily", "Brown", 0, T_RETAIL, 1, "GBR", 3, 0.7),
    ("oliver.jones", "Oliver", "Jones", 0, T_BUSINESS, 0, "GBR", 3, 1.1),
    ("hmueller", "Hans", "Müller", 0, T_BUSINESS, 0, "DEU", 2, 1.6),
    ("kschneider", "Katrin", "Schneider", 0, T_RETAIL, 1, "DEU", 2, 0.9),
    ("jdupont", "Jean", "Dupont", 0, T_RETAIL, 0, "FRA", 2, 1.0),
    ("mlefebvre", "Marie", "Lefebvre", 0, T_BUSINESS, 1, "FRA", 2, 0.8),
    ("akowalski", "Adam", "Kowalski", 0, T_RETAIL, 0, "POL", 5, 1.3),
    ("anowak", "Anna", "Nowak", 0, T_BUSINESS, 0, "POL", 5, 0.9),
    ("jberzins", "Jānis", "Bērziņš", 0, T_RETAIL, 0, "LVA", 2, 1.2),
    ("ltamm", "Liis", "Tamm", 0, T_RETAIL, 1, "EST", 2, 0.7),
    ("rsharma", "Rahul", "Sharma", 0, T_WHOLESALE, 2, "IND", 1, 2.4),
    ("pgupta", "Priya", "Gupta", 0, T_RETAIL, 0, "IND", 1, 0.6),
    ("mgarcia", "María", "García", 0, T_BUSINESS, 0, "ESP", 2, 0.9),
    ("grossi", "Giulia", "Rossi", 0, T_RETAIL, 1, "ITA", 2, 0.8),
    ("dvries", "Daan", "de Vries", 0, T_BUSINESS, 0, "NLD", 2, 0.7),
    ("tkovalenko", "Taras", "Kovalenko", 0, T_RETAIL, 0, "UKR", 1, 1.0),
    ("eandersson", "Erik", "Andersson", 0, T_BUSINESS, 1, "SWE", 2, 0.6),
    ("trunk_7788", "", "", 0, T_WHOLESALE, 2, "USA", 1, 5.0),
    ("sip_wholesale_01", "", "", 0, T_WHOLESALE, 2, "DEU", 2, 4.0),
    ("mwilson", "Michael", "Wilson", 0, T_RETAIL, 1, "USA", 1, 0.9),
    ("sjohnson", "Sarah", "Johnson", 0, T_RETAIL, 0, "USA", 1, 0.5),
    ("dbutkus", "Darius", "Butkus", 0, T_BUSINESS, 0, "LTU", 2, 1.4),
    ("ivaitkute", "Ieva", "Vaitkutė", 0, T_RETAIL, 1, "LTU", 2, 0.5),
    ("tstankevicius", "Tomas", "Stankevičius", 0, T_BUSINESS, 0, "LTU", 2, 1.1),
    ("lpaulauskas", "Lukas", "Paulauskas", 0, T_RETAIL, 0, "LTU", 2, 0.4),
    ("gbalciunaite", "Gabija", "Balčiūnaitė", 0, T_RETAIL, 1, "LTU", 2, 0.3),
    ("madonna", "Madonna", "", 0, T_RETAIL, 0, "USA", 1, 0.2),
    ("okafor", "", "Okafor", 0, T_RETAIL, 0, "GBR", 3, 0.3),
    ("blank_name", " ", " ", 0, T_RETAIL, 0, "LTU", 2, 0.3),
    ("hotel_palanga", "Hotel", "Palanga", 0, T_BUSINESS, 0, "LTU", 2, 1.0),
    # the Reseller PRO's users
    ("vjankauskas", "Vytautas", "Jankauskas", RESELLER_PRO_ID, T_RP, 3, "LTU", 2, 1.5),
    ("lzukauskiene", "Laura", "Žukauskienė", RESELLER_PRO_ID, T_RP, 3, "LTU", 2, 1.0),
    ("rp_office", "", "", RESELLER_PRO_ID, T_RP, 3, "LTU", 2, 2.0),
    ("staylor", "Simon", "Taylor", RESELLER_PRO_ID, T_RP, 3, "GBR", 3, 0.8),
    ("apetrauskaite", "Agnė", "Petrauskaitė", RESELLER_PRO_ID, T_RP, 3, "LTU", 2, 0.7),
    ("murbonas", "Mantas", "Urbonas", RESELLER_PRO_ID, T_RP, 3, "LTU", 2, 0.9),
    ("krimkute", "Kristina", "Rimkutė", RESELLER_PRO_ID, T_RP, 3, "LVA", 2, 0.6),
    ("pwalker", "Paul", "Walker", RESELLER_PRO_ID, T_RP, 3, "USA", 1, 0.5),
    # the plain reseller's users
    ("jmockus", "Julius", "Mockus", RESELLER_ID, T_RES, 0, "LTU", 2, 1.0),
    ("esaboniene", "Eglė", "Sabonienė", RESELLER_ID, T_RES, 0, "LTU", 2, 0.7),
    ("res_trunk", "", "", RESELLER_ID, T_RES, 0, "POL", 5, 1.5),
]
FIRST_USER_ID = 5
USER_IDS = list(range(FIRST_USER_ID, FIRST_USER_ID + len(_USERS)))

# Caller names users' PBXs send (the caller chooses them): the report must show them
# verbatim and exports must keep spreadsheets from running them.
HOSTILE_NAMES = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+370 600 12345 call me",
    "-2+3+cmd|' /C calc'!A0",
    '=HYPERLINK("http://example.com/x","Click me")',
    "\t=1+1",
    "Tom & Jerry's <Café>",
]
_DEVICE_DESCRIPTIONS = ["Office desk phone", "Reception", "Softphone", "PBX trunk",
                        "Mobile app", "Conference room", "Fax line", "Home office"]
_CLI_PREFIXES = {
    "LTU": ["3705", "3706", "37037"], "LVA": ["3712", "3716"], "EST": ["3725", "3726"],
    "GBR": ["4420", "447", "44161"], "USA": ["1212", "1415", "1646"],
    "DEU": ["4930", "4915", "4989"], "FRA": ["331", "336"], "POL": ["4822", "485"],
    "IND": ["9111", "919"], "ESP": ["3491", "346"], "ITA": ["3906", "393"],
    "NLD": ["3120", "316"], "UKR": ["38044", "38067"], "SWE": ["468", "467"],
}
_COUNTRY_LEN = {"LTU": 11, "LVA": 11, "EST": 11, "GBR": 12, "USA": 11, "DEU": 12,
                "FRA": 11, "POL": 11, "IND": 12, "ESP": 11, "ITA": 12, "NLD": 11,
                "UKR": 12, "SWE": 11}

HOUR_WEIGHTS = np.array([0.12, 0.08, 0.06, 0.05, 0.05, 0.08, 0.20, 0.45, 0.80, 1.00, 1.00,
                         0.95, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.55, 0.45, 0.40, 0.35,
                         0.28, 0.18])
WEEKDAY_WEIGHTS = np.array([1.00, 1.02, 1.00, 0.98, 0.92, 0.45, 0.35])   # Monday first

DISPOSITIONS = np.array(["ANSWERED", "NO ANSWER", "BUSY", "FAILED"])
ANSWERED, NO_ANSWER, BUSY, FAILED = range(4)
KIND_USER, KIND_INCOMING, KIND_ADMIN, KIND_CARD = range(4)


class _Catalogue:
    """The fixed lookup tables as rows plus the numpy arrays the call generator indexes."""

    def __init__(self) -> None:
        rng = np.random.default_rng(20240601)   # fixed: the catalogue ignores the seed
        ndest = len(DESTINATIONS)
        self.dest_len = np.array([d[8] for d in DESTINATIONS])
        self.dest_q = np.array([d[9] for d in DESTINATIONS])
        base = np.array([d[6] for d in DESTINATIONS])
        retail = base * np.array([d[7] for d in DESTINATIONS])
        retail[_PREFIX_INDEX["1800"]] = 0.0
        dest_country = [d[1] for d in DESTINATIONS]
        # children: for each destination, the longer prefixes inside it (a number
        # generated for "370" must not start with "3706", or it would be that destination)
        self.children = [[j for j, o in enumerate(DESTINATIONS)
                          if o[0] != d[0] and o[0].startswith(d[0])] for d in DESTINATIONS]

        # user rates per tariff and destination (per minute, 4 decimals)
        self.tariff_factor = np.array([t[1] for t in TARIFFS])
        self.user_rate = np.round(self.tariff_factor[:, None] * retail[None, :], 4)
        self.tariff_min = np.array([t[2] for t in TARIFFS])
        self.tariff_inc = np.array([t[3] for t in TARIFFS])
        self.reseller_rate = np.round(retail * RESELLER_FACTOR, 4)

        # provider rates: row 0 is "no provider"
        nprov = len(PROVIDERS) + 1
        factor = np.zeros(nprov)
        factor[1:] = [p[6] for p in PROVIDERS]
        jitter = rng.uniform(0.88, 1.15, size=(nprov, ndest))
        prate = base[None, :] * factor[:, None] * jitter
        for j, c in enumerate(dest_country):     # specialised routes are cheaper
            if c == "USA":
                prate[5, j] *= 0.6
            if c == "GBR":
                prate[6, j] *= 0.65
            if DESTINATIONS[j][0] == "3706":
                prate[7, j] *= 0.7
        prate[0, :] = 0.0
        self.provider_rate = np.round(prate, 5)
        self.prov_min = np.zeros(nprov, dtype=np.int64)
        self.prov_inc = np.ones(nprov, dtype=np.int64)
        self.prov_q = np.zeros(nprov)
        self.prov_min[1:] = [p[7] for p in PROVIDERS]
        self.prov_inc[1:] = [p[8] for p in PROVIDERS]
        self.prov_q[1:] = [p[9] for p in PROVIDERS]

        # LCR order per destination
        maxlen = max(len(lcr[2]) for lcr in LCRS)
        self.lcr_len = np.array([len(lcr[2]) for lcr in LCRS])
        self.lcr_order = np.zeros((len(LCRS), ndest, maxlen), dtype=np.int64)
        for i, (_, by_price, plist) in enumerate(LCRS):
            for j in range(ndest):
                order = (sorted(plist, key=lambda p: (self.provider_rate[p, j], p))
                         if by_price else plist)
                self.lcr_order[i, j, :len(order)] = order

        # users
        self.user_rows = []
        for uid, uname, first, last, utype, owner, own in _STAFF:
            self.user_rows.append(dict(id=uid, username=uname, first_name=first,
                                       last_name=last, usertype=utype, owner_id=owner,
                                       own_providers=own, responsible_accountant_id=-1,
                                       currency_id=1, hidden=0))
        for i, (uname, first, last, owner, tariff, lcr, home, cur, w) in enumerate(_USERS):
            uid = USER_IDS[i]
            self.user_rows.append(dict(
                id=uid, username=uname, first_name=first, last_name=last,
                usertype="user", owner_id=owner, own_providers=0,
                responsible_accountant_id=ACCOUNTANT_ID if i % 3 == 0 else -1,
                currency_id=cur, hidden=1 if uname == "lpaulauskas" else 0))
        nu = len(_USERS)
        self.u_id = np.array(USER_IDS)
        self.u_owner = np.array([u[3] for u in _USERS])
        self.u_tariff = np.array([u[4] for u in _USERS])
        self.u_lcr = np.array([u[5] for u in _USERS])
        self.u_weight = np.array([u[8] for u in _USERS]) / sum(u[8] for u in _USERS)
        countries = [d[0] for d in DIRECTIONS]
        self.u_home = np.array([countries.index(u[6]) for u in _USERS])

        # destination choice per home country: domestic traffic is 5x more likely
        weight = np.array([d[5] for d in DESTINATIONS])
        dcountry = np.array([countries.index(c) for c in dest_country])
        w = np.tile(weight, (len(countries), 1))
        for h in range(len(countries)):
            w[h, dcountry == h] *= 5.0
        self.dest_cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        self.dest_cum[:, -1] = 1.0

        # devices: the admin's one, then 1-3 per user, contiguous per user
        self.device_rows = []
        dev_cli, dev_name = [], []
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))

        def add_device(user_id: int, home: str, caller_name: str) -> int:
            did = len(self.device_rows) + 1
            dtype = "IAX2" if rng.random() < 0.15 else "SIP"
            name = "".join(rng.choice(letters, 10))
            desc = ("" if rng.random() < 0.35
                    else _DEVICE_DESCRIPTIONS[int(rng.integers(len(_DEVICE_DESCRIPTIONS)))])
            ip = "" if rng.random() < 0.4 else f"198.51.100.{int(rng.integers(2, 254))}"
            self.device_rows.append(dict(id=did, user_id=user_id, name=name,
                                         device_type=dtype, extension=str(1000 + did),
                                         description=desc, ipaddr=ip))
            pfx = _CLI_PREFIXES[home][int(rng.integers(len(_CLI_PREFIXES[home])))]
            rest = _COUNTRY_LEN[home] - len(pfx)
            dev_cli.append(pfx + str(int(rng.integers(1, 9))) +
                           "".join(str(int(x)) for x in rng.integers(0, 10, rest - 1)))
            dev_name.append(caller_name)
            return did

        self.admin_device = add_device(ADMIN_ID, "LTU", "Admin")
        self.u_dev_start = np.zeros(nu, dtype=np.int64)
        self.u_dev_count = np.zeros(nu, dtype=np.int64)
        for i, (uname, first, last, *_rest) in enumerate(_USERS):
            home = _USERS[i][6]
            full = f"{first} {last}".strip()
            n = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.20]))
            for k in range(n):
                caller = full or ("" if k == 0 and i % 2 else uname.replace("_", " ").title())
                did = add_device(int(USER_IDS[i]), home, caller)
                if k == 0:
                    self.u_dev_start[i] = did
            self.u_dev_count[i] = n
        self.dev_cli = np.array([""] + dev_cli, dtype=f"U{NUMBER_WIDTH}")  # index = device id
        self.dev_caller = np.array([""] + dev_name, dtype=object)
        self.dev_clid_head = np.array([f'"{c}" <' for c in self.dev_caller], dtype=object)
        self.hostile_clid_head = np.array([f'"{c}" <' for c in HOSTILE_NAMES], dtype=object)
        self.dest_prefix_u = np.array([d[0] for d in DESTINATIONS])

    def lookup_rows(self) -> dict[str, list[dict]]:
        return {
            "users": self.user_rows,
            "devices": self.device_rows,
            "terminators": [dict(id=i, name=n, user_id=u) for i, n, u in TERMINATORS],
            "providers": [dict(id=p[0], name=p[1], tech=p[2], terminator_id=p[3],
                               user_id=p[4], common_use=p[5]) for p in PROVIDERS],
            "destinationgroups": [dict(id=i, name=n, desttype=t, flag=f)
                                  for i, n, t, f in DESTINATION_GROUPS],
            "directions": [dict(id=i + 1, name=n, code=c)
                           for i, (c, n, _) in enumerate(DIRECTIONS)],
            "destinations": [dict(id=i + 1, prefix=d[0], direction_code=d[1], subcode=d[2],
                                  name=d[3], destinationgroup_id=d[4])
                             for i, d in enumerate(DESTINATIONS)],
            "currencies": [dict(id=i, name=n, full_name=f, exchange_rate=r, active=a)
                           for i, n, f, r, a in CURRENCIES],
            "conflines": [dict(id=i + 1, name=n, value=v, owner_id=o)
                          for i, (n, v, o) in enumerate(CONFLINES)],
        }


_CATALOGUE: _Catalogue | None = None


def _catalogue() -> _Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = _Catalogue()
    return _CATALOGUE


# ---------------------------------------------------------------------------------------
# Call records
# ---------------------------------------------------------------------------------------

def _utc_naive(now: datetime | None) -> datetime:
    if now is None:
        now = datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=0)


_EPOCH = datetime(1970, 1, 1)


def _epoch(dt: datetime) -> int:
    return int((dt - _EPOCH).total_seconds())


NUMBER_WIDTH = 16     # the longest number the catalogue makes, as a fixed-width array


def _numbers(rng: np.random.Generator, dest: np.ndarray, cat: _Catalogue) -> np.ndarray:
    """A dialled number for each destination index: its prefix, then random digits up
    to the country's length, never falling into a longer prefix of the catalogue.
    Returns a fixed-width unicode array (fast to index; .tolist() gives str)."""
    out = np.zeros(len(dest), dtype=f"U{NUMBER_WIDTH}")
    for d in range(len(DESTINATIONS)):          # fixed order: deterministic
        rows = np.flatnonzero(dest == d)
        if not len(rows):
            continue
        out[rows] = _digit_strings(rng, DESTINATIONS[d][0], int(cat.dest_len[d]), len(rows),
                                   [DESTINATIONS[c][0] for c in cat.children[d]])
    return out


def _digit_strings(rng: np.random.Generator, prefix: str, length: int, n: int,
                   avoid: list[str] = ()) -> np.ndarray:
    length = min(max(length, len(prefix) + 4), NUMBER_WIDTH)
    mat = np.empty((n, length), dtype=np.uint8)
    mat[:, :len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rest = length - len(prefix)
    mat[:, len(prefix):] = rng.integers(48, 58, size=(n, rest), dtype=np.uint8)
    mat[:, len(prefix)] = rng.integers(49, 58, size=n, dtype=np.uint8)   # no leading 0
    for _ in range(50):
        bad = np.zeros(n, dtype=bool)
        for child in avoid:
            cb = np.frombuffer(child.encode(), dtype=np.uint8)
            bad |= (mat[:, :len(cb)] == cb).all(axis=1)
        nb = int(bad.sum())
        if not nb:
            break
        mat[bad, len(prefix):] = rng.integers(48, 58, size=(nb, rest), dtype=np.uint8)
        mat[bad, len(prefix)] = rng.integers(49, 58, size=nb, dtype=np.uint8)
    return _ascii(mat)


def _ascii(mat: np.ndarray) -> np.ndarray:
    """A (n, w) matrix of ASCII codes as an array of n unicode strings of width w."""
    w = mat.shape[1]
    return np.ascontiguousarray(mat).view(f"S{w}").ravel().astype(f"U{w}")


def _decimal(x: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as a (n, width) matrix of ASCII digits, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((x[:, None] // powers) % 10 + 48).astype(np.uint8)


def _billed(billsec: np.ndarray, min_time: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Seconds billed after a (min_time, increment) rule; 0 stays 0."""
    b = -(-billsec // inc) * inc
    return np.where(billsec > 0, np.maximum(b, min_time), 0)


def _generate_calls(n: int, days: int, seed: int, now: datetime) -> dict[str, np.ndarray]:
    cat = _catalogue()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4D4F52]))
    now_s = _epoch(now)

    # --- user calls: kind and attempts (drawn for n calls, then cut to n records)
    kind = rng.choice(4, size=n, p=[0.93, 0.04, 0.01, 0.02])
    att = rng.choice([1, 2, 3], size=n, p=[0.68, 0.22, 0.10])
    att[(kind == KIND_INCOMING) | (kind == KIND_CARD)] = 1
    cs = np.cumsum(att)
    ncalls = int(np.searchsorted(cs, n) + 1)
    kind, att = kind[:ncalls], att[:ncalls].copy()
    att[-1] -= int(cs[ncalls - 1]) - n
    u_draw = rng.random(size=(ncalls, 8))   # per-call uniforms, one column per purpose

    # --- start times: diurnal and weekly shape over the window, plus the last hour
    since_midnight = now_s % 86400
    end_gap = min(120, since_midnight // 2)
    hi = now_s - end_gap
    lo = now_s - days * 86400
    # a few calls are always in the last hour, and today even just after midnight
    # (within today's first minutes, proportionally fewer)
    recent_lo = max(hi - 3600, now_s - since_midnight, lo)
    n_recent = min(ncalls, max(10, math.ceil(0.0025 * ncalls * (hi - recent_lo) / 3600)))
    n_bulk = ncalls - n_recent
    minutes = np.arange(lo // 60, hi // 60 + 1, dtype=np.int64) * 60
    hour = (minutes // 3600) % 24
    wday = (minutes // 86400 + 3) % 7
    day_noise = rng.lognormal(0.0, 0.12, size=days + 3)
    dayi = np.clip((minutes - lo) // 86400, 0, days + 2)
    w = HOUR_WEIGHTS[hour] * WEEKDAY_WEIGHTS[wday] * day_noise[dayi]
    cw = np.cumsum(w)
    pick = np.searchsorted(cw, rng.random(n_bulk) * cw[-1], side="right")
    pick = np.minimum(pick, len(minutes) - 1)
    bulk = minutes[pick] + rng.integers(0, 60, size=n_bulk)
    bulk = np.clip(bulk, lo, hi)
    recent = rng.integers(recent_lo, hi + 1, size=n_recent)
    start = np.sort(np.concatenate([bulk, recent]))
    start[-1] = hi                                   # the newest call: end_gap before now

    # --- who calls what
    user_row = rng.choice(len(cat.u_id), size=ncalls, p=cat.u_weight)
    is_user = (kind == KIND_USER) | (kind == KIND_CARD)
    home = np.where(kind == KIND_ADMIN, 0, cat.u_home[user_row])
    dest = np.zeros(ncalls, dtype=np.int64)
    for h in range(len(DIRECTIONS)):
        rows = np.flatnonzero(home == h)
        dest[rows] = np.searchsorted(cat.dest_cum[h], u_draw[rows, 0], side="right")
    dest = np.minimum(dest, len(DESTINATIONS) - 1)
    dest[kind == KIND_INCOMING] = _PREFIX_INDEX["3705"]
    user_id = np.where(is_user, cat.u_id[user_row], 0)
    user_id[kind == KIND_INCOMING] = -1
    dev_off = np.minimum((u_draw[:, 1] ** 1.8 * cat.u_dev_count[user_row]).astype(np.int64),
                         cat.u_dev_count[user_row] - 1)
    user_dev = cat.u_dev_start[user_row] + dev_off
    src_device = np.where(kind == KIND_USER, user_dev, 0)
    src_device[kind == KIND_ADMIN] = cat.admin_device
    dst_device = np.where(kind == KIND_INCOMING, user_dev, 0)
    tariff = np.where(kind == KIND_CARD, T_CARD, cat.u_tariff[user_row])
    lcr = np.where(kind == KIND_USER, cat.u_lcr[user_row], 0)
    owner = np.where(is_user, cat.u_owner[user_row], 0)
    outside = (((kind != KIND_USER) & (kind != KIND_ADMIN))
               | ((kind == KIND_USER) & (u_draw[:, 2] < 0.05)))
    card_id = np.where(kind == KIND_CARD, rng.integers(1, 250, size=ncalls), 0)
    did_id = np.where(kind == KIND_INCOMING, rng.integers(1, 31, size=ncalls), 0)
    first_pos = np.searchsorted([0.75, 0.93], u_draw[:, 3], side="right")

    # numbers: the device's own number for local calls, a stranger's for the others
    dst = _numbers(rng, dest, cat)
    src = cat.dev_cli[np.where(kind == KIND_ADMIN, cat.admin_device, user_dev)]
    ext_rows = np.flatnonzero(outside)
    ext_dest = rng.choice(len(DESTINATIONS), size=len(ext_rows))
    ext_dest[ext_dest == _PREFIX_INDEX["1800"]] = _PREFIX_INDEX["1"]
    src[ext_rows] = _numbers(rng, ext_dest, cat)

    # caller ids: '"name" <number>' mostly, some nameless, bare or empty, a few hostile
    form = np.searchsorted([0.80, 0.86, 0.92, 0.985], u_draw[:, 4], side="right")
    hostile = rng.integers(0, len(HOSTILE_NAMES), size=ncalls)
    name_dev = np.where(kind == KIND_USER, user_dev, 0)     # device 0: no name
    src_o = src.astype(object)
    clid = np.full(ncalls, "", dtype=object)                # form 3: empty caller id
    for f, head in ((0, cat.dev_clid_head[name_dev]), (1, '"" <'), (2, None),
                    (4, cat.hostile_clid_head[hostile])):
        rows = np.flatnonzero(form == f)
        if f == 2:
            clid[rows] = src_o[rows]
        else:
            h = head[rows] if isinstance(head, np.ndarray) else head
            clid[rows] = h + src_o[rows] + ">"

    # Asterisk-style uniqueid: start epoch '.' a channel counter (fixed width here)
    cwidth = len(str(ncalls)) + 1
    call_no = np.arange(ncalls, dtype=np.int64)
    uid_mat = np.empty((ncalls, 11 + cwidth), dtype=np.uint8)
    uid_mat[:, :10] = _decimal(start, 10)
    uid_mat[:, 10] = ord(".")
    uid_mat[:, 11:] = _decimal(call_no + 10 ** (cwidth - 1), cwidth)
    uniqueid = _ascii(uid_mat)

    # --- expand to records (failover attempts)
    call = np.repeat(call_no, att)
    first_rec = np.cumsum(att) - att
    attempt = np.arange(n, dtype=np.int64) - first_rec[call]
    is_last = attempt == att[call] - 1
    r = rng.random(size=(n, 10))                    # per-record uniforms
    d = dest[call]
    k = kind[call]
    lc = lcr[call]
    provider = cat.lcr_order[lc, d, (first_pos[call] + attempt) % cat.lcr_len[lc]]
    provider = np.where(k == KIND_INCOMING, P_INCOMING, provider)

    q = cat.prov_q[provider] * cat.dest_q[d]
    answered = is_last & (r[:, 0] < q)
    disp = np.full(n, ANSWERED, dtype=np.int64)
    last_fail = np.searchsorted([0.50, 0.80], r[:, 1], side="right") + 1   # NA, BUSY, FAILED
    mid_fail = np.array([FAILED, BUSY, NO_ANSWER])[
        np.searchsorted([0.70, 0.90], r[:, 1], side="right")]
    disp = np.where(answered, ANSWERED, np.where(is_last, last_fail, mid_fail))
    # a few calls MOR itself refused before routing: no provider, MOR's own cause
    no_route = (disp == FAILED) & (att[call] == 1) & (k == KIND_USER) & (r[:, 2] < 0.12)
    provider = np.where(no_route, 0, provider)

    cause = np.zeros(n, dtype=np.int64)
    c_ans = np.array([16, 31, 0])[np.searchsorted([0.97, 0.99], r[:, 3], side="right")]
    c_na = np.array([19, 18, 16, 31])[np.searchsorted([0.80, 0.92, 0.97], r[:, 3],
                                                      side="right")]
    c_busy = np.array([17, 21])[(r[:, 3] > 0.98).astype(np.int64)]
    fail_causes = np.array([34, 38, 41, 1, 3, 27, 28, 102, 127, 42])
    fail_cum = np.cumsum([0.30, 0.15, 0.10, 0.12, 0.05, 0.05, 0.08, 0.05, 0.05, 0.05])
    c_fail = fail_causes[np.minimum(np.searchsorted(fail_cum / fail_cum[-1], r[:, 3],
                                                    side="right"), 9)]
    c_mor = np.array([211, 212, 218, 228])[np.minimum((r[:, 3] * 4).astype(np.int64), 3)]
    cause = np.select([disp == ANSWERED, disp == NO_ANSWER, disp == BUSY, no_route],
                      [c_ans, c_na, c_busy, c_mor], c_fail)

    # --- times
    pdd = np.clip(rng.lognormal(np.log(2.0), 0.45, size=n), 0.5, 6.0)
    pdd = np.where((r[:, 4] < 0.10) | ((disp == FAILED) & (r[:, 5] < 0.5)), 0.0, pdd)
    pdd = np.round(pdd, 3)
    ring = np.select(
        [disp == ANSWERED, disp == NO_ANSWER, disp == BUSY],
        [np.clip(rng.lognormal(np.log(7.0), 0.6, size=n), 0.5, 45.0),
         np.where(r[:, 6] < 0.4, 60.0 + r[:, 7], 15.0 + 45.0 * r[:, 7]),
         0.2 + 2.8 * r[:, 7]],
        2.5 * r[:, 7]) + pdd
    ring = np.round(ring, 3)
    talk = np.clip(rng.lognormal(np.log(110.0), 1.05, size=n), 0.3, 3 * 3600.0)
    real_billsec = np.where(disp == ANSWERED, np.round(talk, 3), 0.0)
    real_duration = np.round(ring + real_billsec, 3)
    duration = np.ceil(real_duration).astype(np.int64)
    cum = np.cumsum(duration)
    before = cum - duration - (cum - duration)[first_rec][call]
    calldate = start[call] + before

    # calls end at `now`: shorten talks that would still be going on, then move the
    # few calls whose failed attempts still overrun a little earlier
    late = (disp == ANSWERED) & (calldate + duration > now_s)
    if late.any():
        allowed = (now_s - calldate[late]) - ring[late]
        real_billsec[late] = np.round(np.clip(np.minimum(real_billsec[late], allowed - 0.5),
                                              0.3, None), 3)
        real_duration = np.round(ring + real_billsec, 3)   # answered = last attempt:
        duration = np.ceil(real_duration).astype(np.int64)  # no later calldate moves
    last_rec = first_rec + att - 1
    overrun = np.maximum(calldate[last_rec] + duration[last_rec] - now_s, 0)
    calldate = calldate - overrun[call]
    billsec = np.ceil(real_billsec).astype(np.int64)

    # --- money
    ans = disp == ANSWERED
    t = tariff[call]
    rated = (k == KIND_USER) | (k == KIND_CARD)
    user_rate = np.where(rated, cat.user_rate[t, d], 0.0)
    user_billsec = np.where(ans, _billed(billsec, cat.tariff_min[t], cat.tariff_inc[t]), 0)
    user_price = np.where(ans, user_rate * user_billsec / 60.0, 0.0)
    incoming = k == KIND_INCOMING
    provider_rate = np.where(incoming, 0.0, cat.provider_rate[provider, d])
    provider_billsec = np.where(ans & ~incoming,
                                _billed(billsec, cat.prov_min[provider],
                                        cat.prov_inc[provider]), 0)
    provider_price = np.where(ans, provider_rate * provider_billsec / 60.0, 0.0)
    reseller_id = owner[call]
    via_admin = (reseller_id > 0) & (provider != P_RP_OWN) & (provider != 0)
    reseller_rate = np.where(via_admin, cat.reseller_rate[d], 0.0)
    reseller_billsec = np.where(via_admin & ans, billsec, 0)
    reseller_price = np.where(via_admin & ans, reseller_rate * reseller_billsec / 60.0, 0.0)
    did_inc_price = np.where(incoming & ans, 0.004 * billsec / 60.0, 0.0)
    did_prov_price = np.where(incoming & ans, 0.002 * billsec / 60.0, 0.0)

    return {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "calldate": calldate,                      # epoch seconds; converted per dialect
        "clid": clid[call],
        "src": src[call],
        "dst": dst[call],
        "duration": duration,
        "billsec": billsec,
        "real_duration": real_duration,
        "real_billsec": real_billsec,
        "disposition": DISPOSITIONS[disp],
        "hangupcause": cause,
        "uniqueid": uniqueid[call],
        "src_device_id": src_device[call],
        "dst_device_id": dst_device[call],
        "user_id": user_id[call],
        "user_rate": user_rate,
        "user_billsec": user_billsec,
        "user_price": user_price,
        "reseller_id": reseller_id,
        "reseller_rate": reseller_rate,
        "reseller_billsec": reseller_billsec,
        "reseller_price": reseller_price,
        "provider_id": provider,
        "provider_rate": provider_rate,
        "provider_billsec": provider_billsec,
        "provider_price": provider_price,
        "prefix": cat.dest_prefix_u[d],
        "card_id": card_id[call],
        "did_id": did_id[call],
        "did_inc_price": did_inc_price,
        "did_prov_price": did_prov_price,
        "pdd": pdd,
        "callertype": np.array(["Local", "Outside"])[outside[call].astype(np.int64)],
    }


def _datetime_strings(epoch: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' for each epoch second, vectorised: the date text of each
    distinct day, then the time of day digit by digit, as UCS-4 code points."""
    day, sod = np.divmod(epoch, 86400)
    days, inv = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype("U10")
    m = np.empty((len(epoch), 19), dtype=np.uint32)
    m[:, :10] = dates.view(np.uint32).reshape(-1, 10)[inv.ravel()]
    m[:, 10] = ord(" ")
    m[:, 13] = m[:, 16] = ord(":")
    for col, value in ((11, sod // 3600), (14, sod // 60 % 60), (17, sod % 60)):
        m[:, col] = 48 + value // 10
        m[:, col + 1] = 48 + value % 10
    return m.view("U19").ravel()


def _validate(calls_n: int, days: int, seed: int) -> None:
    if not isinstance(calls_n, (int, np.integer)) or calls_n < 1:
        raise ValueError(f"calls: {calls_n!r} is not a positive number of call records")
    if not isinstance(days, (int, np.integer)) or not 1 <= days <= 3660:
        raise ValueError(f"days: {days!r} is not a number of days between 1 and 3660")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: {seed!r} is not a non-negative integer")


def demo_tables(calls: int = 200_000, *, days: int = 30, seed: int = 7,
                now: datetime | None = None):
    """The demo database as pandas DataFrames (table name -> frame), without writing it.

    The same content `build_demo` writes for the same arguments; `calldate` is a naive
    datetime64[s] column.
    """
    import pandas as pd

    _validate(calls, days, seed)
    cat = _catalogue()
    out = {name: pd.DataFrame(rows, columns=[c.name for c in metadata.tables[name].columns])
           for name, rows in cat.lookup_rows().items()}
    cols = _generate_calls(int(calls), int(days), int(seed), _utc_naive(now))
    cols["calldate"] = cols["calldate"].astype("datetime64[s]")
    out["calls"] = pd.DataFrame({c: cols[c] for c in CALL_COLUMNS})
    return out


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

def build_demo(url: str, *, calls: int = 200_000, days: int = 30, seed: int = 7,
               now: datetime | None = None, progress: Callable[[str], None] | None = None,
               replace: bool = False) -> DemoSummary:
    """Create the MOR tables in the database at `url` and fill them with demo data.

    Raises DemoExists when the database already has call records and `replace` is false,
    and always when its `calls` or `users` table has columns the demo does not create
    (a real MOR database is never dropped).
    """
    _validate(calls, days, seed)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    now_dt = _utc_naive(now)
    u = sa.engine.make_url(url)
    backend = u.get_backend_name()
    if backend not in ("sqlite", "duckdb", "mysql", "mariadb"):
        raise ValueError(f"demo database: unsupported database URL '{u.render_as_string()}' "
                         "(use sqlite:///path, duckdb:///path or mysql+pymysql://...)")

    file_db = backend in ("sqlite", "duckdb") and u.database not in (None, "", ":memory:")
    if file_db:
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    # refuse before spending time generating (and again while writing, for a race)
    foreign = _precheck(u, backend, file_db, replace)

    say(f"generating {calls:,} call records over {days} days up to {now_dt:%Y-%m-%d %H:%M:%S}")
    cat = _catalogue()
    lookups = cat.lookup_rows()
    cols = _generate_calls(int(calls), int(days), int(seed), now_dt)
    say(f"generated in {time.perf_counter() - t0:.1f} s")

    if backend == "sqlite" and file_db:
        _build_sqlite_file(u, lookups, cols, foreign, say)
    else:
        engine = sa.create_engine(u, poolclass=NullPool)
        try:
            with engine.begin() as conn:     # DuckDB: one transaction, DDL included
                _check_existing(conn, replace)
                _write(conn, backend, lookups, cols, say)
        finally:
            engine.dispose()

    first = datetime.fromtimestamp(int(cols["calldate"].min()), timezone.utc).replace(tzinfo=None)
    last = datetime.fromtimestamp(int(cols["calldate"].max()), timezone.utc).replace(tzinfo=None)
    counts = {t.name: (int(calls) if t is calls_t else len(lookups[t.name]))
              for t in OUR_TABLES}
    secs = time.perf_counter() - t0
    say(f"demo database ready in {secs:.1f} s")
    return DemoSummary(url=u.render_as_string(hide_password=True), calls=int(calls),
                       first_calldate=first, last_calldate=last, counts=counts,
                       seed=int(seed), days=int(days), now=now_dt, seconds=secs)


def _precheck(u, backend: str, file_db: bool, replace: bool) -> bool:
    """Raise DemoExists if the target must not be (over)written; say whether an SQLite
    target holds tables that are not ours (to be kept)."""
    if backend == "sqlite":
        target = Path(u.database).expanduser() if file_db else None
        if target is None or not target.exists() or target.stat().st_size == 0:
            return False
    engine = sa.create_engine(u, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _check_existing(conn, replace)
            names = set(sa.inspect(conn).get_table_names())
            return bool(names - {t.name for t in OUR_TABLES})
    except sa.exc.DatabaseError as exc:
        if backend != "sqlite":
            raise
        raise DemoExists(f"'{u.database}' exists and is not an SQLite database "
                         f"({exc.orig}); refusing to overwrite it") from None
    finally:
        engine.dispose()


def _check_existing(conn, replace: bool) -> None:
    insp = sa.inspect(conn)
    for name, ours in (("calls", set(CALL_COLUMNS)),
                       ("users", {c.name for c in users.columns})):
        if insp.has_table(name):
            # not Inspector.get_columns: duckdb-engine's fails on SQLAlchemy 2.1
            present = conn.execute(sa.text(f"SELECT * FROM {name} WHERE 1 = 0")).keys()
            extra = set(present) - ours
            if extra:
                raise DemoExists(
                    f"the database already has a '{name}' table with columns the demo "
                    f"does not create ({', '.join(sorted(extra)[:5])}...): it looks like a "
                    "real MOR database, which the demo never drops; use another database")
    if insp.has_table("calls"):
        has_rows = conn.execute(sa.select(calls_t.c.id).limit(1)).first() is not None
        if has_rows and not replace:
            raise DemoExists("the database already holds call records; refusing to mix "
                             "demo data into them (pass replace=True to drop and rebuild "
                             "the demo tables)")


def _write(conn, backend: str, lookups, cols, say) -> None:
    """Drop our old tables, create and fill them, on an open transaction (the checks of
    _check_existing have passed)."""
    existing = set(sa.inspect(conn).get_table_names())
    doomed = [t for t in reversed(OUR_TABLES) if t.name in existing]
    if doomed:
        say("dropping the old demo tables")
        for t in doomed:
            t.drop(conn)
    metadata.create_all(conn, tables=list(_LOOKUP_TABLES))
    conn.execute(CreateTable(calls_t))            # indexes after the bulk load: faster
    # Our mark on a database we built: only such a database is ever rebuilt by ensure_demo.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {DEMO_MARK}")
    conn.exec_driver_sql(f"CREATE TABLE {DEMO_MARK} (calls BIGINT, seed INTEGER, days INTEGER)")
    conn.exec_driver_sql(f"INSERT INTO {DEMO_MARK} VALUES ({len(cols['id'])}, 0, 0)")
    say("writing lookup tables")
    for t in _LOOKUP_TABLES:
        rows = lookups[t.name]
        if rows:
            conn.execute(t.insert(), rows)
    n = len(cols["id"])
    say(f"writing {n:,} call records ({backend})")
    t0 = time.perf_counter()
    raw = conn.connection.driver_connection
    if backend == "duckdb":
        _insert_duckdb(raw, cols)
    else:
        _insert_dbapi(raw, backend, cols, say)
    say(f"wrote call records in {time.perf_counter() - t0:.1f} s; creating indexes")
    t0 = time.perf_counter()
    for idx in sorted(calls_t.indexes, key=lambda i: i.name):
        idx.create(conn)
    for name, columns in EXTRA_INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX {name} ON calls ({', '.join(columns)})")
    if backend == "sqlite":       # planner statistics from a sample: a full scan is slow
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    if backend in ("sqlite", "duckdb"):
        conn.exec_driver_sql("ANALYZE")
    say(f"indexes in {time.perf_counter() - t0:.1f} s")


def _insert_dbapi(raw, backend: str, cols, say) -> None:
    """executemany with tuples of plain Python values, a slice of rows at a time (the
    tuples of a million rows at once would take ~2 GB)."""
    names = list(CALL_COLUMNS)
    mark = "?" if backend == "sqlite" else "%s"
    sql = (f"INSERT INTO calls ({', '.join(names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    arrays = [_datetime_strings(cols[c]) if c == "calldate" else cols[c] for c in names]
    n = len(cols["id"])
    chunk = 100_000 if backend == "sqlite" else 5_000
    cur = raw.cursor()
    try:
        for lo in range(0, n, chunk):
            rows = zip(*[a[lo:lo + chunk].tolist() for a in arrays])
            cur.executemany(sql, rows if backend == "sqlite" else list(rows))
            done = min(lo + chunk, n)
            if done == n or done % 200_000 < chunk:
                say(f"  {done:,} / {n:,} call records")
    finally:
        cur.close()


def _insert_duckdb(raw, cols) -> None:
    try:
        import pyarrow as pa
        source = pa.table({c: pa.array(cols[c].astype("datetime64[s]") if c == "calldate"
                                       else cols[c]) for c in CALL_COLUMNS})
    except ImportError:       # pyarrow comes with streamlit; pandas will do without it
        import pandas as pd
        source = pd.DataFrame({c: (cols[c].astype("datetime64[s]") if c == "calldate"
                                   else cols[c]) for c in CALL_COLUMNS})
    names = ", ".join(CALL_COLUMNS)
    raw.execute("SET enable_progress_bar = false")
    raw.register("demo_calls_source", source)
    try:
        raw.execute(f"INSERT INTO calls ({names}) SELECT {names} FROM demo_calls_source")
    finally:
        raw.unregister("demo_calls_source")


def _build_sqlite_file(u, lookups, cols, foreign: bool, say) -> None:
    """Build into a temporary file beside the target and rename it into place, so an
    interrupted build never leaves a half-written database behind. With `foreign`, the
    target's other tables are kept: the build starts from a copy of it."""
    target = Path(u.database).expanduser()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".building",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:      # mkstemp makes it 0600; give it the mode a plain new file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, (target.stat().st_mode & 0o777) if target.exists()
                 else 0o666 & ~umask)
    except OSError:
        pass
    try:
        if foreign:      # keep the tables that are not ours: start from a copy
            say(f"copying the other tables of {target}")
            src = sqlite3.connect(target.resolve().as_uri() + "?mode=ro", uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        engine = sa.create_engine(u.set(database=str(tmp)), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
                conn.commit()
                with conn.begin():
                    _write(conn, "sqlite", lookups, cols, say)
        finally:
            engine.dispose()
        for suffix in ("-journal", "-wal", "-shm"):   # an old database's, never ours
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


DEMO_MARK = "demo_build"


def ensure_demo(path: str | os.PathLike = DEFAULT_DEMO_PATH,
                progress: Callable[[str], None] | None = None) -> str:
    """The SQLite URL of the demo database at `path`, built when missing or empty.

    The demo promises that today's report is never empty, so a demo whose newest call is
    from before today (UTC) is rebuilt, with as many calls, to end now. It is our own
    database: build_demo refuses anything that looks like a real MOR database.
    """
    p = Path(path).expanduser().resolve()
    url = f"sqlite:///{p}"
    newest, calls = None, 0
    if p.exists() and p.stat().st_size > 0:
        try:
            con = sqlite3.connect(p.as_uri() + "?mode=ro", uri=True)
            try:
                # MAX(calldate) reads the calldate index; the count only matters for a rebuild.
                newest = con.execute("SELECT MAX(calldate) FROM calls").fetchone()[0]
                ours = con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (DEMO_MARK,)).fetchone()
                if newest is not None and not ours:
                    return url  # a database we did not build: used as it is, never rebuilt
                if newest is not None and str(newest)[:10] < datetime.now(timezone.utc).strftime("%Y-%m-%d"):
                    calls = con.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            pass     # not a demo database yet: build_demo decides (and refuses if foreign)
    if newest is not None and not calls:
        return url
    if calls:
        if progress:
            progress(f"The demo database ends {str(newest)[:10]}; rebuilding it to end now.")
        build_demo(url, calls=calls, progress=progress, replace=True)
    else:
        build_demo(url, progress=progress)
    return url
