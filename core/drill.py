"""Drill-down: a row of a report becomes filters, and the report moves to a finer grouping.

Each grouping's key becomes the aggregate_get filter that selects exactly that row's calls
where one exists; `KEY_FILTERS` says how, and the ladder `LADDER` says which grouping comes
next. What cannot be matched exactly is refused with the reason, never approximated,
with one documented exception (a prefix, see `_prefix`).

- originator → s_originator_id, terminator → s_terminator_id, provider → s_provider,
  device → s_device (ids; 0 is "none" for terminator, provider, device and destination
  group, and no filter selects "none", so such a row is not drilled into);
- destination group → dst_group, its name: the filter is a case-insensitive pattern where
  `%` is a wildcard and there is no escape for it, so a name with `%` cannot be matched
  exactly and is refused; groups whose names differ in letter case only are matched together;
- prefix → a_dst = '<prefix>%' (see `_prefix`);
- day → from/till of that day (within the period); hour → from/till of that hour, with a
  day, or when the period lies within one day;
- the originator's and provider's rates have no filter: refused.

The trail of drills (the breadcrumbs) is kept by `Trail`; the URL holds the drilled report
itself, so a drilled report is shareable, and its breadcrumbs are the session's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Mapping, Sequence

from .groupings import BY_FLAG
from .params import GROUP_FLAGS, Params
from .periods import to_epoch, to_wall_clock


class DrillRefused(ValueError):
    """This row cannot be drilled into; the message says why."""


# The next grouping after drilling into a row of a grouping (flags, in any order). The
# drilled keys become filters; a kept key shows the context, a new one is the finer level.
LADDER: dict[frozenset, tuple[str, ...]] = {frozenset(k): v for k, v in (
    (("user", "terminator", "dst_group"), ("provider", "dst")),   # MOR's default grouping
    (("user",), ("user", "dst_group")),
    (("user", "dst_group"), ("dst",)),
    (("dst_group",), ("dst_group", "user")),
    (("terminator", "dst_group"), ("user",)),                     # the Losses page's default
    (("terminator",), ("terminator", "provider")),
    (("terminator", "provider"), ("provider", "dst_group")),
    (("provider",), ("provider", "dst_group")),
    (("provider", "dst_group"), ("dst",)),
    (("device",), ("device", "dst_group")),
    (("device", "dst_group"), ("dst",)),
    (("dst",), ("dst", "day")),
    (("dst", "day"), ("day", "hour")),
    (("day",), ("day", "hour")),
    (("day", "hour"), ("user", "dst_group")),
    (("hour",), ("hour", "user")),
)}
# Groupings the ladder does not list: each key replaced by its finer one.
FINER = {"user": "dst_group", "device": "dst_group", "terminator": "provider", "provider": "dst_group",
         "dst_group": "dst", "dst": "day", "day": "hour", "hour": "user"}
NOT_FILTERABLE = {"user_rate": "the originator's rate", "provider_rate": "the provider's rate"}


def next_grouping(groups: Sequence[str]) -> tuple[str, ...]:
    """The grouping a drill moves to, in the flags' order."""
    chosen = LADDER.get(frozenset(groups))
    if chosen is None:
        chosen = tuple(FINER.get(g, g) for g in groups)
    return tuple(g for g in GROUP_FLAGS if g in chosen)


def _id(flag: str, value, row: Mapping) -> int:
    grouping = BY_FLAG[flag]
    if value is None or (flag != "user" and int(value) == 0):
        raise DrillRefused(f"this row has no {grouping.title.lower()} (id 0), and no filter selects "
                           f"calls without one")
    return int(value)


def _group_name(value, row: Mapping) -> str:
    name = row.get("dst_group")
    if value is None or int(value) == 0 or not name:
        raise DrillRefused("this row has no destination group, and no filter selects calls without one")
    if "%" in name:
        raise DrillRefused(f"the destination group '{name}' has '%' in its name; the dst_group "
                           "filter reads '%' as a wildcard, so it cannot select this group alone")
    return str(name)


def _prefix(value, row: Mapping) -> str:
    """a_dst matches the dialled number, not the prefix: '<prefix>%' selects every call
    whose number starts with the prefix, which includes calls a longer prefix matched.
    That is why the next grouping keeps the prefix: this row's calls stay a row of their own."""
    if not value:
        raise DrillRefused("this row has no prefix, and no filter selects calls without one")
    if "%" in str(value):
        raise DrillRefused(f"the prefix '{value}' has '%' in it, which a_dst reads as a wildcard")
    return f"{value}%"


def _day(value) -> date:
    return datetime.strptime(str(value), "%Y-%m-%d").date()


def _period(params: Params, row: Mapping, groups: Sequence[str], tz: str) -> tuple[int, int]:
    """The period narrowed to the row's day (and hour), never beyond the report's own."""
    if "day" not in groups and "hour" not in groups:
        return params.from_, params.till
    if "day" in groups:
        day = _day(row["day"])
    else:
        first, last = to_wall_clock(params.from_, tz).date(), to_wall_clock(params.till, tz).date()
        if first != last:
            raise DrillRefused("an hour of day spans several days of this period; group by day "
                               "as well to drill into one hour")
        day = first
    if "hour" in groups:
        hour = int(row["hour"])
        start = to_epoch(day, time(hour, 0, 0), tz)
        end = to_epoch(day, time(hour, 59, 59), tz)
    else:
        start = to_epoch(day, time(0, 0, 0), tz)
        end = to_epoch(day + timedelta(days=1), time(0, 0, 0), tz) - 1
    return max(start, params.from_), min(end, params.till)


def drill(params: Params, row: Mapping, tz: str) -> Params:
    """The report behind `row` of the report `params` ran: its keys as filters, one level finer."""
    groups = params.groups
    for flag in groups:
        if flag in NOT_FILTERABLE:
            raise DrillRefused(f"aggregate_get has no filter for {NOT_FILTERABLE[flag]}; group by "
                               "something else to drill down")
    changes: dict = {}
    for flag in groups:
        value = row.get(BY_FLAG[flag].key)
        if flag == "user":
            changes["s_originator_id"] = _id(flag, value, row)
        elif flag == "terminator":
            changes["s_terminator_id"] = _id(flag, value, row)
        elif flag == "provider":
            changes["s_provider"] = _id(flag, value, row)
        elif flag == "device":
            changes["s_device"] = _id(flag, value, row)
        elif flag == "dst_group":
            changes["dst_group"] = _group_name(value, row)
        elif flag == "dst" and params.a_dst is None:   # a number filter given stays as it is
            changes["a_dst"] = _prefix(value, row)
    changes["from_"], changes["till"] = _period(params, row, groups, tz)
    finer = next_grouping(groups)
    changes.update({f"group_by_{g}": g in finer for g in GROUP_FLAGS})
    return params.with_(**changes)


def crumb(params: Params, row: Mapping) -> str:
    """The drilled row in words, e.g. 'Originator: Alice × Destination group: Lithuania Mobile'."""
    parts = []
    for flag in params.groups:
        grouping = BY_FLAG[flag]
        value = row.get(grouping.label) if grouping.label else None
        if value in (None, ""):
            value = row.get(grouping.key)
        parts.append(f"{grouping.title}: {value}")
    return " × ".join(parts)


def selected_row(rows, positions: Sequence[int]) -> dict | None:
    """The row of `rows` (the frame given to the table) at the selection's first position.

    A table's selection gives positions in the data it was given, whatever order the viewer
    sorted it in; so the position indexes `rows` itself, never what the screen shows."""
    if not positions:
        return None
    position = int(positions[0])
    if not 0 <= position < len(rows):
        return None
    return {k: _plain(v) for k, v in rows.iloc[position].to_dict().items()}


def _plain(value):
    return value.item() if hasattr(value, "item") else value


@dataclass
class Trail:
    """The drills that led to the report in view: (words, the report before, the report after)."""

    steps: list[tuple[str, Params, Params]] = field(default_factory=list)

    def add(self, words: str, before: Params, after: Params) -> None:
        """One more drill; a drill from a report reached otherwise (the sidebar) starts anew."""
        if self.steps and self.steps[-1][2] != before:
            self.steps.clear()
        self.steps.append((words, before, after))

    def current(self, params: Params) -> list[tuple[str, Params, Params]]:
        """The steps, when they led to `params`; none once the report was changed otherwise."""
        if self.steps and self.steps[-1][2] == params:
            return list(self.steps)
        return []

    def back(self, level: int) -> Params:
        """Go back to the report before step `level` (0: where the drilling began)."""
        before = self.steps[level][1]
        del self.steps[level:]
        return before
