"""The fixed set of benchmark reports, the bare-engine and naive-pandas equivalents, and
the alternative `from_user_perspective` (MAX(id) per uniqueid) formulation."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select

# The demo databases end at NOW and span DAYS days; the month is the 30 days before NOW.
NOW = datetime(2024, 7, 1, 0, 0, 0)
DAYS = 30
MONTH_FROM = int((NOW - timedelta(days=DAYS)).replace(tzinfo=timezone.utc).timestamp())
MONTH_TILL = int(NOW.replace(tzinfo=timezone.utc).timestamp()) - 1
DAY_FROM = int(datetime(2024, 6, 14, tzinfo=timezone.utc).timestamp())   # a Friday
DAY_TILL = DAY_FROM + 86399

# name -> (description, aggregate_get parameters)
REPORTS = {
    "default_day": ("default grouping (originator × terminator × destination group), one day",
                    dict(from_=DAY_FROM, till=DAY_TILL)),
    "default_month": ("default grouping, whole month", dict(from_=MONTH_FROM, till=MONTH_TILL)),
    "by_day": ("by day, month", dict(from_=MONTH_FROM, till=MONTH_TILL, group_by_day=1)),
    "by_hour": ("by hour, month", dict(from_=MONTH_FROM, till=MONTH_TILL, group_by_hour=1)),
    "by_dst": ("by destination, month", dict(from_=MONTH_FROM, till=MONTH_TILL, group_by_dst=1)),
    "a_dst": ("default grouping, a_dst=3706% (text filter), month",
              dict(from_=MONTH_FROM, till=MONTH_TILL, a_dst="3706%")),
    "fup": ("default grouping, from_user_perspective=1 (window function), month",
            dict(from_=MONTH_FROM, till=MONTH_TILL, from_user_perspective=1)),
    "fup_maxid": ("default grouping, from_user_perspective=1 as MAX(id) per uniqueid, month",
                  dict(from_=MONTH_FROM, till=MONTH_TILL, from_user_perspective=1)),
}


def params_for(report: str):
    from core.params import Params
    return Params(u="admin", **REPORTS[report][1])


# --- from_user_perspective as MAX(id) per uniqueid ---------------------------------------

def counted_calls_maxid(original):
    """A drop-in for core.query.counted_calls that keeps the newest attempt of a user call
    with `id IN (SELECT MAX(id) … GROUP BY uniqueid)` instead of ROW_NUMBER() OVER (…)."""
    from core.schema import calls

    def counted_calls(params, user, settings):
        if not params.from_user_perspective:
            return original(params, user, settings)
        base = original(params.with_(from_user_perspective=False), user, settings).element
        has_uid = (calls.c.uniqueid.is_not(None), calls.c.uniqueid != "")
        from core import dialects
        # Grouped by the exact bytes, as the core's window partitions (MySQL collations
        # would fold case and merge 'AB' with 'ab').
        exact = getattr(dialects, "exact_text", lambda c: c)(calls.c.uniqueid)
        newest = (base.with_only_columns(func.max(calls.c.id), maintain_column_froms=False)
                  .where(*has_uid).group_by(exact).correlate(None))
        keep = or_(calls.c.id.in_(newest), calls.c.uniqueid.is_(None), calls.c.uniqueid == "")
        return base.where(keep).subquery("counted")

    return counted_calls


def use_maxid_fup() -> None:
    import core.query as q
    if not getattr(q.counted_calls, "_bench_maxid", False):
        replacement = counted_calls_maxid(q.counted_calls)
        replacement._bench_maxid = True
        q.counted_calls = replacement


# --- the bare engine: the very SQL the core generates, through the DBAPI -----------------

def captured_sql(engine, source, params, settings):
    """(statement, parameters) exactly as the core hands the report query to the DBAPI:
    captured from one DatabaseSource.run (the longest statement it executes)."""
    from sqlalchemy import event
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        source.run(params, settings)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return max(seen, key=lambda sp: len(sp[0]))


def run_bare(raw, backend: str, sql: str, parameters=None) -> int:
    """Execute on the raw DBAPI connection and fetch every row; the row count."""
    if backend == "duckdb":
        result = raw.execute(sql, parameters) if parameters else raw.execute(sql)
        return len(result.fetchall())
    cur = raw.cursor()
    try:
        if parameters is None and backend in ("mysql", "mariadb"):
            parameters = ()   # pymysql undoes the '%%' doubling only when given arguments
        cur.execute(sql, parameters) if parameters is not None else cur.execute(sql)
        return len(cur.fetchall())
    finally:
        cur.close()


# --- naive pandas: read the period's calls, then filter, join and group in pandas --------

NAIVE_COLUMNS = ("id", "calldate", "user_id", "card_id", "provider_id", "prefix", "dst",
                 "uniqueid", "disposition", "billsec", "user_billsec", "provider_billsec",
                 "user_price", "provider_price", "pdd")


def run_naive(engine, report: str):
    import pandas as pd

    from core.query import period
    from core.schema import calls, destinations, providers
    from core.settings import Settings

    params = params_for(report)
    cols = [calls.c[c] for c in NAIVE_COLUMNS]
    with engine.connect() as conn:
        df = pd.read_sql(select(*cols).where(period(params, Settings())), conn)
        provs = pd.read_sql(select(providers.c.id, providers.c.terminator_id), conn)
        dests = pd.read_sql(select(destinations.c.prefix, destinations.c.destinationgroup_id), conn)
    df = df[(df.user_id > 0) & ((df.card_id == 0) | df.card_id.isna())]
    if params.a_dst:
        rx = "^" + ".*".join(re.escape(p) for p in params.a_dst.lower().split("%")) + "$"
        df = df[df.dst.fillna("").str.lower().str.match(rx)]
    if params.from_user_perspective:
        blank = df.uniqueid.isna() | (df.uniqueid == "")
        df = pd.concat([df[blank], df[~blank].sort_values("id").drop_duplicates("uniqueid", keep="last")])
    keys = []
    if params.is_default_grouping:
        df = df.merge(provs.rename(columns={"id": "provider_id"}), on="provider_id", how="left")
        df = df.merge(dests.rename(columns={"destinationgroup_id": "dst_group_id"}), on="prefix", how="left")
        df["terminator_id"] = df.terminator_id.fillna(0)
        df["dst_group_id"] = df.dst_group_id.fillna(0)
        keys = ["user_id", "terminator_id", "dst_group_id"]
    if params.group_by_day:
        df["day"] = pd.to_datetime(df.calldate).dt.strftime("%Y-%m-%d")
        keys.append("day")
    if params.group_by_hour:
        df["hour"] = pd.to_datetime(df.calldate).dt.hour
        keys.append("hour")
    if params.group_by_dst:
        df["prefix"] = df.prefix.fillna("")
        keys.append("prefix")
    ans = df.disposition == "ANSWERED"
    out = pd.DataFrame({k: df[k] for k in keys})
    out["total_calls"] = 1
    out["answered_calls"] = ans.astype("int64")
    for src, dst in (("user_price", "billed_originator"), ("provider_price", "billed_terminator"),
                     ("user_billsec", "billed_duration_originator"),
                     ("provider_billsec", "billed_duration_terminator"), ("billsec", "duration")):
        out[dst] = df[src].fillna(0).where(ans, 0)
    pdd = df.pdd.fillna(0)
    out["pdd_sum"] = pdd.where(pdd > 0, 0)
    out["pdd_count"] = (pdd > 0).astype("int64")
    return out.groupby(keys, sort=True).sum().reset_index()
