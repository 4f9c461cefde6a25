"""The demo's fixed catalogue: staff, users, devices, carriers, tariffs, destinations.

The same ids and names for every seed, so docs and tests can name "jsmith" or the
Reseller PRO's id; only the call records (core.demo.simulator) depend on the seed.
`catalogue()` holds the rows of the lookup tables and the numpy arrays the call
simulator indexes (rates per tariff and destination, LCR orders, devices per user).
"""
from __future__ import annotations

import numpy as np

from ..signin import mor_password_digest

ADMIN_ID = 0
ACCOUNTANT_ID = 2
RESELLER_PRO_ID = 3
RESELLER_ID = 4
API_SECRET = "secret"
# Every demo user signs in with this password; users.password holds it as MOR stores it.
DEMO_PASSWORD = "demo"

NUMBER_WIDTH = 16     # the longest number the catalogue makes, as a fixed-width array

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
PREFIX_INDEX = {d[0]: i for i, d in enumerate(DESTINATIONS)}

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


class Catalogue:
    """The fixed lookup tables as rows plus the numpy arrays the call generator indexes."""

    def __init__(self) -> None:
        rng = np.random.default_rng(20240601)   # fixed: the catalogue ignores the seed
        ndest = len(DESTINATIONS)
        self.dest_len = np.array([d[8] for d in DESTINATIONS])
        self.dest_q = np.array([d[9] for d in DESTINATIONS])
        base = np.array([d[6] for d in DESTINATIONS])
        retail = base * np.array([d[7] for d in DESTINATIONS])
        retail[PREFIX_INDEX["1800"]] = 0.0
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
        password = mor_password_digest(DEMO_PASSWORD)
        for uid, uname, first, last, utype, owner, own in _STAFF:
            self.user_rows.append(dict(id=uid, username=uname, first_name=first,
                                       last_name=last, usertype=utype, owner_id=owner,
                                       own_providers=own, responsible_accountant_id=-1,
                                       currency_id=1, hidden=0, password=password, blocked=0))
        for i, (uname, first, last, owner, _tariff, _lcr, _home, cur, _w) in enumerate(_USERS):
            uid = USER_IDS[i]
            self.user_rows.append(dict(
                id=uid, username=uname, first_name=first, last_name=last,
                usertype="user", owner_id=owner, own_providers=0,
                responsible_accountant_id=ACCOUNTANT_ID if i % 3 == 0 else -1,
                currency_id=cur, hidden=1 if uname == "lpaulauskas" else 0,
                password=password, blocked=0))
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


_CATALOGUE: Catalogue | None = None


def catalogue() -> Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = Catalogue()
    return _CATALOGUE
