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
from types import SimpleNamespace

from sqlalchemy import String, and_, case, cast, func, literal, or_, select, true
from sqlalchemy.sql import Select

from . import dialects
from .access import ActingUser
from .groupings import BY_FLAG
from .params import Params
from .periods import to_wall_clock
from .report import SUM_COLUMNS
from .schema import calls, destinationgroups, destinations, devices, directions, providers, terminators, users
from .settings import Settings

log = logging.getLogger(__name__)


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


# What a grouping's `raw(calls, sql)` may use (core/groupings.py imports no SQL itself).
RAW_KEY_SQL = SimpleNamespace(coalesce=func.coalesce, day_of=dialects.day_of,
                              hour_of=dialects.hour_of)


# Per-record keys: raw call columns only, so the big GROUP BY over `calls` needs no join.
# The provider and the prefix stand in for what is looked up from them (terminator,
# destination group, a Reseller PRO's price choice) after the aggregation.
def raw_keys(params: Params, user: ActingUser) -> dict:
    groups = params.groups
    chosen = {BY_FLAG[g].key: BY_FLAG[g].raw(calls, RAW_KEY_SQL)
              for g in groups if BY_FLAG[g].raw is not None}
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


def looked_up_keys(raw) -> dict:
    """The keys that the groupings' table cannot take from `calls` alone: found through
    each raw row's provider and prefix (see `lookups`)."""
    return {
        "terminator": func.coalesce(providers.c.terminator_id, 0),
        "provider": func.coalesce(raw.c.get("provider_ref"), 0),
        "dst_group": func.coalesce(destinations.c.destinationgroup_id, 0),
        "dst": func.coalesce(raw.c.get("prefix_ref"), ""),
    }


def grouping_keys(params: Params, raw) -> dict:
    """The report's keys (spec section 3), from the raw sums and the lookups."""
    looked_up = looked_up_keys(raw)
    return {BY_FLAG[g].key: looked_up[g] if BY_FLAG[g].raw is None else raw.c[BY_FLAG[g].key]
            for g in params.groups}


def key_names(params: Params) -> list[str]:
    return [BY_FLAG[g].key for g in params.groups]


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


# One function per label column (spec section 3): the joins it needs and the column.
def originator_label(sums):
    u = users.alias("originators")
    full_name = func.trim(_text(u.c.first_name) + literal(" ", String()) + _text(u.c.last_name))
    return [(u, u.c.id == sums.c.originator_id)], \
        case((u.c.id.is_(None), _numbered("User #", sums.c.originator_id)),
             (full_name != "", full_name),
             else_=u.c.username)


def device_label(sums):
    d = devices.alias("src_devices")
    return [(d, d.c.id == sums.c.device_id)], \
        case((d.c.id.is_(None), _numbered("Device #", sums.c.device_id)),
             (_text(d.c.description) != "", d.c.description),
             else_=_text(d.c.device_type) + literal("/", String()) + _text(d.c.name))


def terminator_label(sums):
    t = terminators.alias("route_terminators")
    return [(t, t.c.id == sums.c.terminator_id)], \
        func.coalesce(t.c.name, "(Unassigned Providers)")


def provider_label(sums):
    p = providers.alias("route_providers")
    return [(p, p.c.id == sums.c.provider_id)], \
        func.coalesce(p.c.name, _numbered("Provider #", sums.c.provider_id))


def dst_group_label(sums):
    g = destinationgroups.alias("groups")
    return [(g, g.c.id == sums.c.dst_group_id)], \
        func.coalesce(g.c.name, "Unassigned Destination")


def destination_label(sums):
    d = destinations.alias("dsts")
    c = directions.alias("countries")
    by_country = func.trim(_text(c.c.name) + literal(" ", String()) + _text(d.c.subcode))
    return [(d, d.c.prefix == sums.c.dst), (c, c.c.code == d.c.direction_code)], \
        case((_text(d.c.name) != "", d.c.name), else_=by_country)


# Label column (core/groupings.py) -> the function that joins it.
LABELS = {"originator": originator_label, "device": device_label,
          "terminator": terminator_label, "provider": provider_label,
          "dst_group": dst_group_label, "destination": destination_label}


def labels(sums, params: Params):
    """Label columns for the keys in force, and the joins they need."""
    joins, cols = [], []
    for label in (BY_FLAG[g].label for g in params.groups if BY_FLAG[g].label):
        needed, column = LABELS[label](sums)
        joins += needed
        cols.append(column.label(label))
    return joins, cols


def key_columns(params: Params) -> list[str]:
    """Result column order: keys and their labels in spec section 3 order."""
    return [c for g in params.groups for c in BY_FLAG[g].columns]


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

