"""The 28 aggregate_get parameters as one typed, validated object.

Every entry point (sidebar, URL, command line, HTTP form) goes through `parse_params`
or builds a `Params` directly; either way `__post_init__` validates, so no query ever
runs on invalid input. Names are MOR's; only `from` is spelt `from_` in Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from .groupings import GROUPINGS
from .periods import PERIODS, period_bounds

GROUP_FLAGS = tuple(g.flag for g in GROUPINGS)
DEFAULT_GROUPS = tuple(g.flag for g in GROUPINGS if g.default)

OPTION_PARAMS = ("use_real_billsec", "from_user_perspective", "profit_show")
FLAG_PARAMS = tuple(f"group_by_{g}" for g in GROUP_FLAGS) + OPTION_PARAMS
ID_PARAMS = ("s_originator_id", "s_terminator_id", "s_device", "s_provider")
COUNT_PARAMS = ("s_duration", "answered_calls")
TEXT_PARAMS = ("a_src", "a_dst", "dst_group", "clid")
EPOCH_PARAMS = ("from", "till")

# Parameter names in MOR's order (the order of the spec's table), as sent on the wire.
PARAM_NAMES = ("u", "hash", "from", "till", "a_currency",
               *(f"group_by_{g}" for g in GROUP_FLAGS),
               *ID_PARAMS, "a_src", "a_dst", "s_duration", "dst_group",
               "use_real_billsec", "from_user_perspective", "answered_calls",
               "profit_show", "clid")

# What narrows a report's calls or rows (every one absent by default), in MOR's order.
FILTER_PARAMS = tuple(n for n in PARAM_NAMES if n in ID_PARAMS + TEXT_PARAMS + COUNT_PARAMS)

# What a MOR server accepts and ignores on any API call.
SERVER_IGNORED = ("p", "test")

# Options of ours that MOR's aggregate_get does not know: kept in the app's URL, saved
# reports and the command line, never sent to a MOR server (to_pairs(app_options=False)),
# refused by our compatible server (parse_params(app_options=False)) as MOR would.
# compare: run the period before as well (core/compare.py): previous, week or year.
# period: a relative period (core/periods.py PERIODS), resolved into from/till in the report
# time zone whenever the key=value form is parsed, i.e. when a report runs; the app's URL and
# saved reports keep the name instead of from/till, so a saved "yesterday" stays yesterday.
COMPARES = ("previous", "week", "year")
APP_PARAMS = ("compare", "period")

MAX_TEXT = 255
MAX_INT = 2**63 - 1
# Periods end by the last second of 9999-12-30 UTC: in any time zone (UTC+14 at most) and
# with the query's `till + 1 s`, the wall-clock time stays within year 9999, the last one
# Python's datetimes and the engines' DATETIMEs hold. Later epochs used to crash every
# entry point (OverflowError, OSError) instead of being refused.
MAX_EPOCH = 253_402_214_399  # 9999-12-30 23:59:59 UTC
EPOCH_RANGE = f"Unix epoch seconds from 0 (1970-01-01 00:00:00 UTC) to {MAX_EPOCH} (9999-12-30 23:59:59 UTC)"
_HASH = re.compile(r"^[0-9a-fA-F]{40}$")
# ASCII digits only: `\d` and int() also take other scripts' digits (e.g. '١٢٣', '１２').
_INT = re.compile(r"[+]?[0-9]+")


class ParamError(ValueError):
    """An invalid parameter; the message names it and says what is accepted."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


def _attr(name: str) -> str:
    return "from_" if name == "from" else name


def _wire(attr: str) -> str:
    return "from" if attr == "from_" else attr


def today_bounds(tz: str = "UTC", now: datetime | None = None) -> tuple[int, int]:
    """Today 00:00:00 and 23:59:59 in the report time zone, as epochs (MOR's default period)."""
    zone = ZoneInfo(tz)
    current = now.astimezone(zone) if now else datetime.now(zone)
    start = datetime.combine(current.date(), time(0, 0, 0), tzinfo=zone)
    end = datetime.combine(current.date(), time(23, 59, 59), tzinfo=zone)
    return int(start.timestamp()), int(end.timestamp())


@dataclass(frozen=True)
class Params:
    u: str
    from_: int
    till: int
    hash: str | None = None
    a_currency: str = "USD"
    group_by_user: bool = False
    group_by_device: bool = False
    group_by_terminator: bool = False
    group_by_provider: bool = False
    group_by_dst_group: bool = False
    group_by_dst: bool = False
    group_by_day: bool = False
    group_by_hour: bool = False
    group_by_user_rate: bool = False
    group_by_provider_rate: bool = False
    s_originator_id: int | None = None
    s_terminator_id: int | None = None
    s_device: int | None = None
    s_provider: int | None = None
    a_src: str | None = None
    a_dst: str | None = None
    s_duration: int | None = None
    dst_group: str | None = None
    use_real_billsec: bool = False
    from_user_perspective: bool = False
    answered_calls: int | None = None
    profit_show: bool = False
    clid: str | None = None
    compare: str | None = None
    period: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.u, str) or not self.u.strip():
            raise ParamError("u", "the acting MOR username is required")
        if self.hash is not None and not _HASH.match(self.hash):
            raise ParamError("hash", "must be 40 hexadecimal digits (a SHA1)")
        for name in ("from_", "till"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH:
                raise ParamError(_wire(name), f"'{value}' is not accepted; use {EPOCH_RANGE}")
        if self.from_ > self.till:
            raise ParamError("till", f"{self.till} is before from={self.from_}; "
                                     "the period end must not precede its start")
        if not isinstance(self.a_currency, str) or not re.fullmatch(r"[A-Za-z0-9]{1,5}", self.a_currency):
            raise ParamError("a_currency", f"'{self.a_currency}' is not a currency code (e.g. USD, EUR)")
        object.__setattr__(self, "a_currency", self.a_currency.upper())
        for name in FLAG_PARAMS:
            value = getattr(self, name)
            if value not in (0, 1) or value is None:
                raise ParamError(name, f"'{value}' is not accepted; use 0 or 1")
            object.__setattr__(self, name, bool(value))
        for name in ID_PARAMS + COUNT_PARAMS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value <= MAX_INT):
                what = "an id, an integer ≥ 0" if name in ID_PARAMS else "an integer ≥ 0"
                raise ParamError(name, f"'{value}' is not accepted; use {what}")
        for name in TEXT_PARAMS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ParamError(name, f"'{value}' is not text")
            if len(value) > MAX_TEXT:
                raise ParamError(name, f"is {len(value)} characters long; at most {MAX_TEXT} are accepted")
            if "\x00" in value:
                raise ParamError(name, "contains a NUL character, which no MOR value holds")
            # Empty text is no filter; so is a pattern of only '%' (spec section 1).
            if value == "" or (name != "clid" and set(value) == {"%"}):
                object.__setattr__(self, name, None)
        if self.compare == "":
            object.__setattr__(self, "compare", None)
        if self.compare is not None and self.compare not in COMPARES:
            raise ParamError("compare", f"'{self.compare}' is not accepted; use "
                                        f"{', '.join(COMPARES)} (or leave it out for no comparison)")
        if self.period == "":
            object.__setattr__(self, "period", None)
        if self.period is not None and self.period not in PERIODS:
            raise ParamError("period", f"'{self.period}' is not accepted; use {', '.join(PERIODS)} "
                                       "(or leave it out and give from and till)")

    # --- reading ---------------------------------------------------------------
    @property
    def groups(self) -> tuple[str, ...]:
        """The grouping in force: the flags set, or MOR's default (originator, terminator,
        destination group)."""
        chosen = tuple(g for g in GROUP_FLAGS if getattr(self, f"group_by_{g}"))
        return chosen or DEFAULT_GROUPS

    @property
    def is_default_grouping(self) -> bool:
        return not any(getattr(self, f"group_by_{g}") for g in GROUP_FLAGS)

    def cache_key(self) -> tuple:
        """Everything that changes a result; the hash is a credential, not a report input."""
        return tuple((f.name, getattr(self, f.name)) for f in fields(self) if f.name != "hash")

    def with_(self, **changes) -> "Params":
        """A copy with `changes`; new from/till (without a period) make the period explicit."""
        if ("from_" in changes or "till" in changes) and "period" not in changes:
            changes["period"] = None
        return replace(self, **changes)

    # --- serialising -----------------------------------------------------------
    def to_pairs(self, *, include_defaults: bool = False, include_hash: bool = False,
                 app_options: bool = True) -> dict[str, str]:
        """MOR's key=value form, in MOR's order; from and till always, the hash only on request;
        our own options (compare, period) after MOR's, left out with app_options=False (a MOR
        server's form). With a relative period (and app_options) the period replaces from and
        till, which it gives again when parsed."""
        out: dict[str, str] = {}
        relative = app_options and self.period is not None
        for name in PARAM_NAMES + (APP_PARAMS if app_options else ()):
            attr = _attr(name)
            if relative and name in EPOCH_PARAMS:
                continue
            value = getattr(self, attr)
            if name == "hash" and not include_hash:
                continue
            default = _DEFAULTS.get(attr, _NO_DEFAULT)
            if not include_defaults and name not in ("u", "from", "till") and value == default:
                continue
            if value is None:
                continue
            out[name] = str(int(value)) if isinstance(value, bool) else str(value)
        return out


_NO_DEFAULT = object()
_DEFAULTS = {f.name: f.default for f in fields(Params)}


def _parse_int(name: str, raw: str, what: str) -> int:
    text = raw.strip()
    if not _INT.fullmatch(text) or int(text) > MAX_INT:
        other_digits = any(c.isdigit() for c in text) and not text.isascii()
        raise ParamError(name, f"'{raw}' is not accepted; use {what}"
                         + (", written with the digits 0-9" if other_digits else ""))
    return int(text)


def parse_params(pairs: Mapping[str, str] | Iterable[tuple[str, str]], *,
                 tz: str = "UTC", now: datetime | None = None,
                 ignore: Iterable[str] = (), app_options: bool = True) -> Params:
    """Params from MOR's key=value strings (command line, URL query, HTTP form).

    Unknown names are an error unless listed in `ignore` (a server passes SERVER_IGNORED).
    Our own options (APP_PARAMS) are accepted unless app_options=False (a MOR-compatible
    server, where they are unknown as they are to MOR). `from`/`till` default to today in
    the report time zone `tz`; a relative `period` gives them instead (resolved in `tz` at
    `now`), and is refused together with either.
    """
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    ignored = set(ignore)
    accepted = PARAM_NAMES + (APP_PARAMS if app_options else ())
    seen: dict[str, str] = {}
    for name, raw in items:
        if name in ignored:
            continue
        if name not in accepted:
            raise ParamError(name, "is not an aggregate_get parameter; accepted are "
                             + ", ".join(accepted))
        if name in seen and seen[name] != raw:
            raise ParamError(name, f"is given twice ('{seen[name]}' and '{raw}'); give it once")
        seen[name] = "" if raw is None else str(raw)

    values: dict[str, object] = {}
    for name, raw in seen.items():
        attr = _attr(name)
        if name in FLAG_PARAMS:
            if raw.strip() not in ("0", "1"):
                raise ParamError(name, f"'{raw}' is not accepted; use 0 or 1")
            values[attr] = raw.strip() == "1"
        elif name in EPOCH_PARAMS:
            values[attr] = _parse_int(name, raw, EPOCH_RANGE)
        elif name in ID_PARAMS:
            if raw.strip() == "":
                continue
            values[attr] = _parse_int(name, raw, "an id, an integer ≥ 0")
        elif name in COUNT_PARAMS:
            if raw.strip() == "":
                continue
            values[attr] = _parse_int(name, raw, "an integer ≥ 0")
        elif name == "hash":
            if raw.strip() == "":
                continue
            values[attr] = raw.strip()
        elif name == "a_currency":
            values[attr] = raw.strip() or "USD"
        elif name in APP_PARAMS:   # compare, period
            values[attr] = raw.strip() or None
        else:  # u and the text filters keep their text as given
            values[attr] = raw

    if "u" not in values or not str(values["u"]).strip():
        raise ParamError("u", "the acting MOR username is required")
    period = values.get("period")
    if period is not None:
        given = [n for n in EPOCH_PARAMS if n in seen]
        if given:
            raise ParamError("period", f"period={period} and {' and '.join(given)} both give the "
                                       "report's period; give either period or from and till")
        if period not in PERIODS:
            raise ParamError("period", f"'{period}' is not accepted; use {', '.join(PERIODS)} "
                                       "(or leave it out and give from and till)")
        values["from_"], values["till"] = period_bounds(str(period), tz, now)
    start, end = today_bounds(tz, now)
    values.setdefault("from_", start)
    values.setdefault("till", end)
    return Params(**values)  # type: ignore[arg-type]
