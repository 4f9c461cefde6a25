"""Params + acting user -> one SELECT that computes a whole aggregate report.

The statement has four layers, each built by small functions, one per concern:

1. `counted_calls`: the call set of spec section 2 (period, call-set rules, filters,
   the acting user's scope, failover attempts dropped for `from_user_perspective`), with
   per-record raw keys (call columns only) and measure inputs. It reads `calls` alone:
   filters on looked-up values (terminator, destination group) are semi-joins.
2. `raw_sums`: the big GROUP BY over the calls, by raw keys and the answered flag, with
   plain sums: the provider and the prefix stand in for the terminator and the
   destination group, which are looked up later.
3. `aggregated`: the (few) raw rows joined to providers/destinations, GROUP BY the
   report's keys, the sums summed again (the answered ones from answered rows), and
   HAVING for the `answered_calls` threshold. A Reseller PRO's terminator price is
   chosen here, per provider.
4. the final select: labels joined onto the aggregated rows, ordered by key.

Joining after the aggregation gives the same sums (each raw row carries one provider and
one prefix, and a join distributes over a sum) and keeps the per-call path free of joins:
on DuckDB at 10M calls the month report drops from ~1.3 s to ~0.9 s (docs/benchmarks.md).

Only sums leave the database; every ratio (ASR, ACD, PDD, margin, markup) is taken from
them in core.report, so no division happens in SQL.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import (Integer, String, and_, case, cast, func, literal, or_, select,
                        true)
from sqlalchemy.sql import Select

from . import dialects
from .access import ActingUser
from .params import Params
from .periods import to_wall_clock
from .schema import (calls, destinationgroups, destinations, devices, directions,
                     providers, terminators, users)
from .settings import Settings

log = logging.getLogger(__name__)

# The additive columns every report row carries, in spec section 4 order, plus the two
# PDD parts from which a mean over any set of rows can be rebuilt.
SUM_COLUMNS = ("total_calls", "answered_calls", "billed_originator", "billed_terminator",
               "billed_duration_originator", "billed_duration_terminator", "duration",
               "pdd_sum", "pdd_count")


# --- 1. the counted calls ------------------------------------------------------------

def period(params: Params, settings: Settings):
    # `till` is inclusive and calldate has whole seconds: calldate < till + 1 s says the
    # same and stays right should a column carry fractions.
    start = to_wall_clock(params.from_, settings.timezone)
    end = to_wall_clock(params.till, settings.timezone) + timedelta(seconds=1)
    return and_(calls.c.calldate >= start, calls.c.calldate < end)


def call_set_rules():
    # Incoming (-1) and the admin's own (0) calls, and calling-card calls, are not reported.
    return and_(calls.c.user_id > 0, or_(calls.c.card_id == 0, calls.c.card_id.is_(None)))


def filters(params: Params) -> list:
    where = []
    if params.s_originator_id is not None:
        where.append(calls.c.user_id == params.s_originator_id)
    if params.s_device is not None:
        where.append(calls.c.src_device_id == params.s_device)
    if params.s_provider is not None:
        where.append(calls.c.provider_id == params.s_provider)
    if params.s_terminator_id is not None:
        where.append(calls.c.provider_id.in_(terminator_providers(params.s_terminator_id)))
    if params.a_src is not None:
        where.append(dialects.matches(calls.c.src, params.a_src))
    if params.a_dst is not None:
        where.append(dialects.matches(calls.c.dst, params.a_dst))
    if params.s_duration is not None:
        where.append(calls.c.billsec == params.s_duration)
    if params.dst_group is not None:
        where.append(calls.c.prefix.in_(group_prefixes(params.dst_group)))
    if params.clid is not None:
        where.append(dialects.contains(calls.c.clid, params.clid))
    return where


# Filters on looked-up values are semi-joins: they keep the per-record path on `calls`
# alone and apply before `from_user_perspective` picks the newest attempt. A call whose
# provider row is missing has no terminator and so never matches `s_terminator_id`; a
# prefix without a destination (or group) row never matches `dst_group` (destinations.prefix
# is unique, so the semi-join counts each call once, as the join did).
def terminator_providers(terminator_id: int):
    return select(providers.c.id).where(providers.c.terminator_id == terminator_id)


def group_prefixes(pattern: str):
    return (select(destinations.c.prefix)
            .join(destinationgroups, destinationgroups.c.id == destinations.c.destinationgroup_id)
            .where(dialects.matches(destinationgroups.c.name, pattern)))


def scope(user: ActingUser):
    """The acting user's calls: a Reseller PRO sees his own users' calls only."""
    if user.is_reseller:
        own_users = select(users.c.id).where(users.c.owner_id == user.id)
        return calls.c.user_id.in_(own_users.scalar_subquery())
    return true()


def answered(settings: Settings):
    if settings.answered_rule == "hangupcause":
        return calls.c.hangupcause == 16
    return calls.c.disposition == "ANSWERED"


# Per-record keys: raw call columns only, so the big GROUP BY over `calls` needs no join.
# The provider and the prefix stand in for what is looked up from them (terminator,
# destination group, a Reseller PRO's price choice) after the aggregation.
def raw_keys(params: Params, user: ActingUser) -> dict:
    groups = params.groups
    keys = {
        "user": {"originator_id": calls.c.user_id},
        "device": {"device_id": func.coalesce(calls.c.src_device_id, 0)},
        "day": {"day": dialects.day_of(calls.c.calldate)},
        "hour": {"hour": dialects.hour_of(calls.c.calldate)},
        "user_rate": {"user_rate": calls.c.user_rate},
        "provider_rate": {"provider_rate": calls.c.provider_rate},
    }
    chosen: dict = {}
    for group in groups:
        chosen.update(keys.get(group, {}))
    if {"terminator", "provider"} & set(groups) or user.is_reseller:
        chosen["provider_ref"] = calls.c.provider_id
    if {"dst_group", "dst"} & set(groups):
        chosen["prefix_ref"] = calls.c.prefix
    return chosen


def measures(params: Params, user: ActingUser, settings: Settings) -> dict:
    """What the sums need, per record. A Reseller PRO's terminator price depends on whose
    provider carried the call: both candidates are summed, the choice is made per provider
    after the aggregation (`terminator_price`)."""
    out = {
        "is_answered": case((answered(settings), 1), else_=0),
        "price_originator": func.coalesce(calls.c.user_price, 0),
        "price_terminator": func.coalesce(calls.c.provider_price, 0),
    }
    if user.is_reseller:
        out["price_reseller"] = func.coalesce(calls.c.reseller_price, 0)
    out.update({
        "billsec_originator": func.coalesce(calls.c.user_billsec, 0),
        "billsec_terminator": func.coalesce(calls.c.provider_billsec, 0),
        "billsec": func.coalesce(calls.c.real_billsec if params.use_real_billsec
                                 else calls.c.billsec, 0),
        "pdd": func.coalesce(calls.c.pdd, 0),
    })
    return out


def counted_calls(params: Params, user: ActingUser, settings: Settings):
    """One row per counted record: its raw keys and what the sums need. Reads `calls`
    alone: filters on looked-up values are semi-joins (see `filters`)."""
    keys = raw_keys(params, user)
    inputs = measures(params, user, settings)
    columns = [expr.label(name) for name, expr in {**keys, **inputs}.items()]
    conditions = [period(params, settings), call_set_rules(), scope(user), *filters(params)]
    if params.from_user_perspective:
        # Keep the newest counted attempt of each user call; a record with no uniqueid is
        # a call of its own. Filters apply first, so a filtered-out last attempt lets the
        # one before it count.
        newest_first = func.row_number().over(partition_by=dialects.exact_text(calls.c.uniqueid),
                                              order_by=calls.c.id.desc())
        columns += [newest_first.label("attempt_rank"), calls.c.uniqueid.label("uniqueid")]
        attempts = select(*columns).select_from(calls).where(*conditions).subquery("attempts")
        keep = or_(attempts.c.attempt_rank == 1, attempts.c.uniqueid.is_(None),
                   attempts.c.uniqueid == "")
        names = list(keys) + list(inputs)
        return select(*(attempts.c[n] for n in names)).where(keep).subquery("counted")
    return select(*columns).select_from(calls).where(*conditions).subquery("counted")


# --- 2. the sums ----------------------------------------------------------------------

def raw_sums(params: Params, user: ActingUser, settings: Settings):
    """The big aggregation over `calls` alone: plain sums per raw key and answered flag.
    The flag is a key rather than a CASE in every sum: one comparison per record instead
    of one per measure; the answered sums are picked from these rows in `aggregated`."""
    counted = counted_calls(params, user, settings)
    key_cols = [counted.c[k] for k in raw_keys(params, user)] + [counted.c.is_answered]
    sums = [func.count().label("records")]
    sums += [func.sum(counted.c[name]).label(name)
             for name in measures(params, user, settings) if name not in ("is_answered", "pdd")]
    sums += [func.sum(case((counted.c.pdd > 0, counted.c.pdd), else_=0)).label("pdd_sum"),
             func.sum(case((counted.c.pdd > 0, 1), else_=0)).label("pdd_count")]
    return select(*key_cols, *sums).group_by(*key_cols).subquery("raw_sums")


def lookups(raw, params: Params, user: ActingUser):
    """The small tables that map raw keys to report keys, joined onto the raw sums."""
    source = raw
    if "terminator" in params.groups or user.is_reseller:
        source = source.outerjoin(providers, providers.c.id == raw.c.provider_ref)
    if "dst_group" in params.groups:
        source = source.outerjoin(destinations, destinations.c.prefix == raw.c.prefix_ref)
    return source


def grouping_keys(params: Params, raw) -> dict:
    """The report's keys (spec section 3), from the raw sums and the lookups."""
    looked_up = {
        "terminator": func.coalesce(providers.c.terminator_id, 0),
        "provider": func.coalesce(raw.c.get("provider_ref"), 0),
        "dst_group": func.coalesce(destinations.c.destinationgroup_id, 0),
        "dst": func.coalesce(raw.c.get("prefix_ref"), ""),
    }
    return {KEY_COLUMNS[g][0]: looked_up[g] if g in looked_up else raw.c[KEY_COLUMNS[g][0]]
            for g in params.groups}


def key_names(params: Params) -> list[str]:
    return [KEY_COLUMNS[g][0] for g in params.groups]


def terminator_price(raw, user: ActingUser):
    """What the acting user pays: a Reseller PRO pays provider prices only on his own
    providers and the admin's reseller price on the admin's."""
    if user.is_reseller:
        return case((providers.c.user_id == user.id, raw.c.price_terminator),
                    else_=raw.c.price_reseller)
    return raw.c.price_terminator


def aggregated(params: Params, user: ActingUser, settings: Settings):
    """The raw sums mapped to the report's keys and summed again; HAVING for the
    `answered_calls` threshold."""
    raw = raw_sums(params, user, settings)
    keys = grouping_keys(params, raw)
    key_cols = [expr.label(name) for name, expr in keys.items()]

    def when_answered(column):
        return func.sum(case((raw.c.is_answered == 1, column), else_=0))

    answered_calls = when_answered(raw.c.records)
    sums = [
        func.sum(raw.c.records).label("total_calls"),
        answered_calls.label("answered_calls"),
        when_answered(raw.c.price_originator).label("billed_originator"),
        when_answered(terminator_price(raw, user)).label("billed_terminator"),
        when_answered(raw.c.billsec_originator).label("billed_duration_originator"),
        when_answered(raw.c.billsec_terminator).label("billed_duration_terminator"),
        when_answered(raw.c.billsec).label("duration"),
        func.sum(raw.c.pdd_sum).label("pdd_sum"),
        func.sum(raw.c.pdd_count).label("pdd_count"),
    ]
    stmt = (select(*key_cols, *sums).select_from(lookups(raw, params, user))
            .group_by(*keys.values()))
    if params.answered_calls is not None:
        stmt = stmt.having(answered_calls >= params.answered_calls)
    return stmt.subquery("sums")


# --- 3. labels ----------------------------------------------------------------------

def _text(column):
    return func.coalesce(column, "")


def _numbered(prefix: str, key):
    return literal(prefix, String()) + cast(key, String())


def labels(sums, params: Params):
    """Label columns for the keys in force, and the joins they need (spec section 3)."""
    joins, cols = [], []
    groups = params.groups
    if "user" in groups:
        u = users.alias("originators")
        full_name = func.trim(_text(u.c.first_name) + literal(" ", String()) + _text(u.c.last_name))
        joins.append((u, u.c.id == sums.c.originator_id))
        cols.append(case((u.c.id.is_(None), _numbered("User #", sums.c.originator_id)),
                         (full_name != "", full_name),
                         else_=u.c.username).label("originator"))
    if "device" in groups:
        d = devices.alias("src_devices")
        joins.append((d, d.c.id == sums.c.device_id))
        cols.append(case((d.c.id.is_(None), _numbered("Device #", sums.c.device_id)),
                         (_text(d.c.description) != "", d.c.description),
                         else_=_text(d.c.device_type) + literal("/", String()) + _text(d.c.name)
                         ).label("device"))
    if "terminator" in groups:
        t = terminators.alias("route_terminators")
        joins.append((t, t.c.id == sums.c.terminator_id))
        cols.append(func.coalesce(t.c.name, "(Unassigned Providers)").label("terminator"))
    if "provider" in groups:
        p = providers.alias("route_providers")
        joins.append((p, p.c.id == sums.c.provider_id))
        cols.append(func.coalesce(p.c.name, _numbered("Provider #", sums.c.provider_id))
                    .label("provider"))
    if "dst_group" in groups:
        g = destinationgroups.alias("groups")
        joins.append((g, g.c.id == sums.c.dst_group_id))
        cols.append(func.coalesce(g.c.name, "Unassigned Destination").label("dst_group"))
    if "dst" in groups:
        d = destinations.alias("dsts")
        c = directions.alias("countries")
        joins.append((d, d.c.prefix == sums.c.dst))
        joins.append((c, c.c.code == d.c.direction_code))
        by_country = func.trim(_text(c.c.name) + literal(" ", String()) + _text(d.c.subcode))
        cols.append(case((_text(d.c.name) != "", d.c.name), else_=by_country)
                    .label("destination"))
    return joins, cols


# Result column order: keys and their labels in spec section 3 order.
KEY_COLUMNS = {
    "user": ("originator_id", "originator"),
    "device": ("device_id", "device"),
    "terminator": ("terminator_id", "terminator"),
    "provider": ("provider_id", "provider"),
    "dst_group": ("dst_group_id", "dst_group"),
    "dst": ("dst", "destination"),
    "day": ("day",),
    "hour": ("hour",),
    "user_rate": ("user_rate",),
    "provider_rate": ("provider_rate",),
}


def key_columns(params: Params) -> list[str]:
    return [c for g in params.groups for c in KEY_COLUMNS[g]]


def report_select(params: Params, user: ActingUser, settings: Settings) -> Select:
    """The one statement of a report: its rows, keys, labels and additive sums."""
    sums = aggregated(params, user, settings)
    joins, label_cols = labels(sums, params)
    source = sums
    for table, on in joins:
        source = source.outerjoin(table, on)
    by_name = {c.name: c for c in label_cols}
    ordered = [by_name[c] if c in by_name else sums.c[c] for c in key_columns(params)]
    stmt = (select(*ordered, *(sums.c[c] for c in SUM_COLUMNS))
            .select_from(source)
            .order_by(*(sums.c[k] for k in key_names(params))))
    return stmt

