"""MOR's tables as declared SQLAlchemy Core tables: the columns the report reads.

Declared, not reflected: a real MOR database has many more tables and columns, which
are simply never named. `create_all` is only ever called on our own databases (the demo
database, the analytics copy, test fixtures), never on an operator's MOR database.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, Numeric, String, Table
from sqlalchemy.dialects import sqlite

metadata = MetaData()

Money = Numeric(30, 15, asdecimal=False)
# MOR's calldate is a naive DATETIME with whole seconds. On SQLite it is text; keep it in
# the 'YYYY-MM-DD HH:MM:SS' form MOR's own exports use, so bound bounds compare correctly.
CallDate = DateTime().with_variant(
    sqlite.DATETIME(storage_format="%(year)04d-%(month)02d-%(day)02d "
                                   "%(hour)02d:%(minute)02d:%(second)02d"), "sqlite")

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(255), nullable=False),
    Column("first_name", String(255), default=""),
    Column("last_name", String(255), default=""),
    Column("usertype", String(20), nullable=False),
    Column("owner_id", Integer, default=0),
    Column("own_providers", Integer, default=0),
    Column("responsible_accountant_id", Integer, default=-1),
    Column("currency_id", Integer, default=1),
    Column("hidden", Integer, default=0),
    # Sign-in (core/signin.py): MOR keeps the unsalted SHA1 hex digest of the password.
    Column("password", String(40), default=""),
    Column("blocked", Integer, default=0),
    Column("email", String(255), default=""),
)

devices = Table(
    "devices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("name", String(255), default=""),
    Column("device_type", String(20), default="SIP"),
    Column("extension", String(255), default=""),
    Column("description", String(255), default=""),
    Column("ipaddr", String(255), default=""),
)

terminators = Table(
    "terminators", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("user_id", Integer, default=0),
)

providers = Table(
    "providers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("tech", String(20), default="SIP"),
    Column("terminator_id", Integer, default=0),
    Column("user_id", Integer, default=0),
    Column("common_use", Integer, default=0),
)

destinationgroups = Table(
    "destinationgroups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("desttype", String(20), default=""),
    Column("flag", String(10), default=""),
)

directions = Table(
    "directions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("code", String(10), nullable=False),
)

destinations = Table(
    "destinations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("prefix", String(100), nullable=False, unique=True),
    Column("direction_code", String(10), default=""),
    Column("subcode", String(100), default=""),
    Column("name", String(255), default=""),
    Column("destinationgroup_id", Integer, default=0),
)

currencies = Table(
    "currencies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(5), nullable=False),
    Column("full_name", String(255), default=""),
    Column("exchange_rate", Numeric(30, 15, asdecimal=False), nullable=False),
    Column("active", Integer, default=1),
)

conflines = Table(
    "conflines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("value", String(255), default=""),
    Column("owner_id", Integer, default=0),
)

calls = Table(
    "calls", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("calldate", CallDate, nullable=False),
    Column("clid", String(255), default=""),
    Column("src", String(255), default=""),
    Column("dst", String(255), default=""),
    Column("duration", Integer, default=0),
    Column("billsec", Integer, default=0),
    Column("real_duration", Money, default=0),
    Column("real_billsec", Money, default=0),
    Column("disposition", String(20), default=""),
    Column("hangupcause", Integer, default=0),
    Column("uniqueid", String(255), default=""),
    Column("src_device_id", Integer, default=0),
    Column("dst_device_id", Integer, default=0),
    Column("user_id", Integer, default=0),
    Column("user_rate", Money, default=0),
    Column("user_billsec", Integer, default=0),
    Column("user_price", Money, default=0),
    Column("reseller_id", Integer, default=0),
    Column("reseller_rate", Money, default=0),
    Column("reseller_billsec", Integer, default=0),
    Column("reseller_price", Money, default=0),
    Column("provider_id", Integer, default=0),
    Column("provider_rate", Money, default=0),
    Column("provider_billsec", Integer, default=0),
    Column("provider_price", Money, default=0),
    Column("prefix", String(100), default=""),
    Column("card_id", Integer, default=0),
    Column("did_id", Integer, default=0),
    Column("did_inc_price", Money, default=0),
    Column("did_prov_price", Money, default=0),
    Column("pdd", Money, default=0),
    Column("callertype", String(20), default="Local"),
)
Index("calls_calldate", calls.c.calldate)
Index("calls_user_id", calls.c.user_id)
Index("calls_provider_id", calls.c.provider_id)
Index("calls_uniqueid", calls.c.uniqueid)

CALL_COLUMNS = tuple(c.name for c in calls.columns)

# The analytics copy's own bookkeeping (core.sync), in the copy only, never in MOR's
# database. Its own MetaData: create_all on the demo or a test fixture never makes a
# database look like a copy.
copy_metadata = MetaData()
sync_state = Table(
    "sync_state", copy_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("source", String(1000), nullable=False),   # source URL, password masked
    Column("last_id", BigInteger, nullable=False),    # largest calls.id copied
    Column("calls_copied", BigInteger, nullable=False, default=0),
    Column("last_sync", DateTime, nullable=False),    # UTC, end of the last committed batch
    Column("lookups_synced", DateTime),               # UTC, last full refresh of the lookups
    # The source's largest calls.id when the last run started, and whether that run copied
    # up to it: false while a run is under way or after one that stopped (Ctrl-C, a kill,
    # a failing source); NULL in copies made before runs were recorded.
    Column("target_id", BigInteger),
    Column("complete", Boolean),
)
