"""The call simulator: the demo's call records, generated with numpy column by column.

The records depend only on (seed, calls, days, now). `generate_calls` runs the stages in
a fixed order on one random generator, so each stage's draws come in the same sequence
for the same seed: who places how many attempts, when, who calls what, the numbers and
caller ids, the outcome of each attempt, its times, then its money.
"""
from __future__ import annotations

import math
import os
from datetime import datetime, timezone

import numpy as np

from ..params import ParamError
from ..schema import CALL_COLUMNS, metadata
from .catalogue import (
    DESTINATIONS,
    DIRECTIONS,
    HOSTILE_NAMES,
    NUMBER_WIDTH,
    P_INCOMING,
    P_RP_OWN,
    PREFIX_INDEX,
    T_CARD,
    Catalogue,
    catalogue,
)

HOUR_WEIGHTS = np.array([0.12, 0.08, 0.06, 0.05, 0.05, 0.08, 0.20, 0.45, 0.80, 1.00, 1.00,
                         0.95, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.55, 0.45, 0.40, 0.35,
                         0.28, 0.18])
WEEKDAY_WEIGHTS = np.array([1.00, 1.02, 1.00, 0.98, 0.92, 0.45, 0.35])   # Monday first

DISPOSITIONS = np.array(["ANSWERED", "NO ANSWER", "BUSY", "FAILED"])
ANSWERED, NO_ANSWER, BUSY, FAILED = range(4)
KIND_USER, KIND_INCOMING, KIND_ADMIN, KIND_CARD = range(4)

# Every record is held in memory while it is generated and written: ~1.25 KB at the
# generator's peak (measured at 1M records), more while a writer converts them.
MAX_CALLS = 50_000_000
BYTES_PER_CALL = 1_500
MAX_DAYS = 3660
MAX_SEED = 2**63 - 1          # the demo_build mark keeps it in a BIGINT


# ---------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------

def max_calls() -> int:
    """The most call records one build may generate: 50M, fewer on a machine with less memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return MAX_CALLS
    return max(1, min(MAX_CALLS, memory // BYTES_PER_CALL))


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def validate(calls: int, days: int, seed: int) -> None:
    """One clear ParamError (exit code 2) for a number the demo cannot build from."""
    limit = max_calls()
    if not _whole(calls) or calls < 1:
        raise ParamError("--calls", f"{calls!r} is not a positive number of call records")
    if calls > limit:
        raise ParamError("--calls", f"{calls:,} call records are more than the demo builds: at most "
                                    f"{limit:,}, since every record is held in memory while it is "
                                    f"generated (about {BYTES_PER_CALL:,} bytes each)")
    if not _whole(days) or not 1 <= days <= MAX_DAYS:
        raise ParamError("--days", f"{days!r} is not a number of days between 1 and {MAX_DAYS}")
    if not _whole(seed) or not 0 <= seed <= MAX_SEED:
        raise ParamError("--seed", f"{seed!r} is not a seed; use a whole number from 0 to {MAX_SEED}")


def utc_naive(now: datetime | None) -> datetime:
    """`now` (default: the current time) as a naive UTC datetime in whole seconds."""
    if now is None:
        now = datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=0)


_EPOCH = datetime(1970, 1, 1)


def _epoch(dt: datetime) -> int:
    return int((dt - _EPOCH).total_seconds())


def epoch_datetime(seconds) -> datetime:
    """Epoch seconds as a naive UTC datetime."""
    return datetime.fromtimestamp(int(seconds), timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------
# Vectorised text and billing helpers
# ---------------------------------------------------------------------------------------

def _numbers(rng: np.random.Generator, dest: np.ndarray, cat: Catalogue) -> np.ndarray:
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


def datetime_strings(epoch: np.ndarray) -> np.ndarray:
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


# ---------------------------------------------------------------------------------------
# The stages: per user call first, then per record (failover attempt)
# ---------------------------------------------------------------------------------------

def _calls_and_attempts(rng: np.random.Generator, n: int):
    """What kind each user call is and how many records (1-3 failover attempts) it makes,
    drawn for n calls and cut to exactly n records; plus per-call uniforms, one column
    per purpose."""
    kind = rng.choice(4, size=n, p=[0.93, 0.04, 0.01, 0.02])
    att = rng.choice([1, 2, 3], size=n, p=[0.68, 0.22, 0.10])
    att[(kind == KIND_INCOMING) | (kind == KIND_CARD)] = 1
    cs = np.cumsum(att)
    ncalls = int(np.searchsorted(cs, n) + 1)
    kind, att = kind[:ncalls], att[:ncalls].copy()
    att[-1] -= int(cs[ncalls - 1]) - n
    u_draw = rng.random(size=(ncalls, 8))
    return kind, att, u_draw


def _start_times(rng: np.random.Generator, ncalls: int, days: int, now_s: int) -> np.ndarray:
    """Sorted start epochs: a diurnal and weekly shape over the window, plus a few calls
    always in the last hour (and today even just after midnight, proportionally fewer);
    the newest call starts a little before now."""
    since_midnight = now_s % 86400
    end_gap = min(120, since_midnight // 2)
    hi = now_s - end_gap
    lo = now_s - days * 86400
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
    start[-1] = hi
    return start


def _parties(rng: np.random.Generator, cat: Catalogue, kind: np.ndarray,
             u_draw: np.ndarray) -> dict[str, np.ndarray]:
    """Who calls what, per user call: the originator and his device, the destination
    (domestic traffic more likely), tariff, LCR, reseller, card and DID."""
    ncalls = len(kind)
    user_row = rng.choice(len(cat.u_id), size=ncalls, p=cat.u_weight)
    is_user = (kind == KIND_USER) | (kind == KIND_CARD)
    home = np.where(kind == KIND_ADMIN, 0, cat.u_home[user_row])
    dest = np.zeros(ncalls, dtype=np.int64)
    for h in range(len(DIRECTIONS)):
        rows = np.flatnonzero(home == h)
        dest[rows] = np.searchsorted(cat.dest_cum[h], u_draw[rows, 0], side="right")
    dest = np.minimum(dest, len(DESTINATIONS) - 1)
    dest[kind == KIND_INCOMING] = PREFIX_INDEX["3705"]
    user_id = np.where(is_user, cat.u_id[user_row], 0)
    user_id[kind == KIND_INCOMING] = -1
    dev_off = np.minimum((u_draw[:, 1] ** 1.8 * cat.u_dev_count[user_row]).astype(np.int64),
                         cat.u_dev_count[user_row] - 1)
    user_dev = cat.u_dev_start[user_row] + dev_off
    src_device = np.where(kind == KIND_USER, user_dev, 0)
    src_device[kind == KIND_ADMIN] = cat.admin_device
    return {
        "dest": dest,
        "user_id": user_id,
        "user_dev": user_dev,
        "src_device": src_device,
        "dst_device": np.where(kind == KIND_INCOMING, user_dev, 0),
        "tariff": np.where(kind == KIND_CARD, T_CARD, cat.u_tariff[user_row]),
        "lcr": np.where(kind == KIND_USER, cat.u_lcr[user_row], 0),
        "owner": np.where(is_user, cat.u_owner[user_row], 0),
        "outside": (((kind != KIND_USER) & (kind != KIND_ADMIN))
                    | ((kind == KIND_USER) & (u_draw[:, 2] < 0.05))),
        "card_id": np.where(kind == KIND_CARD, rng.integers(1, 250, size=ncalls), 0),
        "did_id": np.where(kind == KIND_INCOMING, rng.integers(1, 31, size=ncalls), 0),
        "first_pos": np.searchsorted([0.75, 0.93], u_draw[:, 3], side="right"),
    }


def _numbers_and_caller_ids(rng: np.random.Generator, cat: Catalogue, kind: np.ndarray,
                            who: dict, u_draw: np.ndarray):
    """Dialled and calling numbers (the device's own number for local calls, a
    stranger's for the others) and caller ids: '"name" <number>' mostly, some nameless,
    bare or empty, a few hostile."""
    ncalls = len(kind)
    dst = _numbers(rng, who["dest"], cat)
    src = cat.dev_cli[np.where(kind == KIND_ADMIN, cat.admin_device, who["user_dev"])]
    ext_rows = np.flatnonzero(who["outside"])
    ext_dest = rng.choice(len(DESTINATIONS), size=len(ext_rows))
    ext_dest[ext_dest == PREFIX_INDEX["1800"]] = PREFIX_INDEX["1"]
    src[ext_rows] = _numbers(rng, ext_dest, cat)

    form = np.searchsorted([0.80, 0.86, 0.92, 0.985], u_draw[:, 4], side="right")
    hostile = rng.integers(0, len(HOSTILE_NAMES), size=ncalls)
    name_dev = np.where(kind == KIND_USER, who["user_dev"], 0)     # device 0: no name
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
    return dst, src, clid


def _uniqueids(start: np.ndarray) -> np.ndarray:
    """Asterisk-style uniqueid per user call: start epoch '.' a channel counter (fixed width)."""
    ncalls = len(start)
    cwidth = len(str(ncalls)) + 1
    uid_mat = np.empty((ncalls, 11 + cwidth), dtype=np.uint8)
    uid_mat[:, :10] = _decimal(start, 10)
    uid_mat[:, 10] = ord(".")
    uid_mat[:, 11:] = _decimal(np.arange(ncalls, dtype=np.int64) + 10 ** (cwidth - 1), cwidth)
    return _ascii(uid_mat)


def _outcomes(cat: Catalogue, k, d, lc, first_pos, attempt, is_last, single, r):
    """Each attempt's provider (the LCR's next one), disposition (only a last attempt can
    be answered) and hangup cause; a few calls MOR refused before routing get no
    provider and MOR's own cause."""
    provider = cat.lcr_order[lc, d, (first_pos + attempt) % cat.lcr_len[lc]]
    provider = np.where(k == KIND_INCOMING, P_INCOMING, provider)

    q = cat.prov_q[provider] * cat.dest_q[d]
    answered = is_last & (r[:, 0] < q)
    last_fail = np.searchsorted([0.50, 0.80], r[:, 1], side="right") + 1   # NA, BUSY, FAILED
    mid_fail = np.array([FAILED, BUSY, NO_ANSWER])[
        np.searchsorted([0.70, 0.90], r[:, 1], side="right")]
    disp = np.where(answered, ANSWERED, np.where(is_last, last_fail, mid_fail))
    no_route = (disp == FAILED) & single & (k == KIND_USER) & (r[:, 2] < 0.12)
    provider = np.where(no_route, 0, provider)

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
    return provider, disp, cause


def _times(rng: np.random.Generator, disp, r, start, call, first_rec, att, now_s):
    """Post-dial delay, ringing and talk of each attempt; attempts of a call follow each
    other from its start. Calls end by `now`: talks that would still be going on are
    shortened, then the few calls whose failed attempts still overrun move earlier."""
    n = len(disp)
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
    return {"calldate": calldate, "pdd": pdd, "duration": duration,
            "billsec": np.ceil(real_billsec).astype(np.int64),
            "real_duration": real_duration, "real_billsec": real_billsec}


def _money(cat: Catalogue, k, d, t, provider, reseller_id, disp, billsec):
    """Rates, billed seconds and prices for the originator, the terminator (provider)
    and the reseller, and the DID's prices on incoming calls; zero unless answered."""
    ans = disp == ANSWERED
    rated = (k == KIND_USER) | (k == KIND_CARD)
    user_rate = np.where(rated, cat.user_rate[t, d], 0.0)
    user_billsec = np.where(ans, _billed(billsec, cat.tariff_min[t], cat.tariff_inc[t]), 0)
    incoming = k == KIND_INCOMING
    provider_rate = np.where(incoming, 0.0, cat.provider_rate[provider, d])
    provider_billsec = np.where(ans & ~incoming,
                                _billed(billsec, cat.prov_min[provider],
                                        cat.prov_inc[provider]), 0)
    via_admin = (reseller_id > 0) & (provider != P_RP_OWN) & (provider != 0)
    reseller_rate = np.where(via_admin, cat.reseller_rate[d], 0.0)
    reseller_billsec = np.where(via_admin & ans, billsec, 0)
    return {
        "user_rate": user_rate,
        "user_billsec": user_billsec,
        "user_price": np.where(ans, user_rate * user_billsec / 60.0, 0.0),
        "reseller_id": reseller_id,
        "reseller_rate": reseller_rate,
        "reseller_billsec": reseller_billsec,
        "reseller_price": np.where(via_admin & ans, reseller_rate * reseller_billsec / 60.0, 0.0),
        "provider_id": provider,
        "provider_rate": provider_rate,
        "provider_billsec": provider_billsec,
        "provider_price": np.where(ans, provider_rate * provider_billsec / 60.0, 0.0),
        "did_inc_price": np.where(incoming & ans, 0.004 * billsec / 60.0, 0.0),
        "did_prov_price": np.where(incoming & ans, 0.002 * billsec / 60.0, 0.0),
    }


def generate_calls(n: int, days: int, seed: int, now: datetime) -> dict[str, np.ndarray]:
    """n call records (CALL_COLUMNS -> array) over `days` days ending just before `now`;
    `calldate` as epoch seconds (each writer converts it for its database)."""
    cat = catalogue()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4D4F52]))
    now_s = _epoch(now)

    kind, att, u_draw = _calls_and_attempts(rng, n)
    start = _start_times(rng, len(kind), days, now_s)
    who = _parties(rng, cat, kind, u_draw)
    dst, src, clid = _numbers_and_caller_ids(rng, cat, kind, who, u_draw)
    uniqueid = _uniqueids(start)

    # per record (failover attempt) from here on
    call = np.repeat(np.arange(len(kind), dtype=np.int64), att)
    first_rec = np.cumsum(att) - att
    attempt = np.arange(n, dtype=np.int64) - first_rec[call]
    is_last = attempt == att[call] - 1
    r = rng.random(size=(n, 10))                    # per-record uniforms
    k, d = kind[call], who["dest"][call]
    provider, disp, cause = _outcomes(cat, k, d, who["lcr"][call], who["first_pos"][call],
                                      attempt, is_last, att[call] == 1, r)
    times = _times(rng, disp, r, start, call, first_rec, att, now_s)
    money = _money(cat, k, d, who["tariff"][call], provider, who["owner"][call], disp,
                   times["billsec"])

    return {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "calldate": times["calldate"],
        "clid": clid[call],
        "src": src[call],
        "dst": dst[call],
        "duration": times["duration"],
        "billsec": times["billsec"],
        "real_duration": times["real_duration"],
        "real_billsec": times["real_billsec"],
        "disposition": DISPOSITIONS[disp],
        "hangupcause": cause,
        "uniqueid": uniqueid[call],
        "src_device_id": who["src_device"][call],
        "dst_device_id": who["dst_device"][call],
        "user_id": who["user_id"][call],
        **{c: money[c] for c in ("user_rate", "user_billsec", "user_price", "reseller_id",
                                 "reseller_rate", "reseller_billsec", "reseller_price",
                                 "provider_id", "provider_rate", "provider_billsec",
                                 "provider_price")},
        "prefix": cat.dest_prefix_u[d],
        "card_id": who["card_id"][call],
        "did_id": who["did_id"][call],
        "did_inc_price": money["did_inc_price"],
        "did_prov_price": money["did_prov_price"],
        "pdd": times["pdd"],
        "callertype": np.array(["Local", "Outside"])[who["outside"][call].astype(np.int64)],
    }


def demo_tables(calls: int = 200_000, *, days: int = 30, seed: int = 7,
                now: datetime | None = None):
    """The demo database as pandas DataFrames (table name -> frame), without writing it.

    The same content `build_demo` writes for the same arguments; `calldate` is a naive
    datetime64[s] column.
    """
    import pandas as pd

    validate(calls, days, seed)
    out = {name: pd.DataFrame(rows, columns=[c.name for c in metadata.tables[name].columns])
           for name, rows in catalogue().lookup_rows().items()}
    cols = generate_calls(int(calls), int(days), int(seed), utc_naive(now))
    cols["calldate"] = cols["calldate"].astype("datetime64[s]")
    out["calls"] = pd.DataFrame({c: cols[c] for c in CALL_COLUMNS})
    return out
