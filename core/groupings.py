"""The ten groupings of aggregate_get (spec section 3), one record each, in the spec's order.

Everything that names a grouping is derived from this table: the `group_by_*` flags
(core/params.py), the key and label columns and their headings (core/query.py,
core/report.py), the chart dimensions (core/charts.py), the sidebar's boxes and help
(ui/sidebar.py) and the id columns of the table (ui/tables.py).

Adding a grouping is one row here when its key comes from the `calls` record alone
(`raw`) and it has no label. What needs other tables stays SQL in core/query.py, which
tests/test_groupings.py checks against this table:
- a label column is joined by its function in `query.LABELS`;
- a key found through another table (terminator, provider, destination group, prefix: each
  through the call's provider or prefix, after the big aggregation) is in
  `query.looked_up_keys`, with the raw column and join it needs in `raw_keys`/`lookups`.

This module imports nothing of ours, so core/params.py can read it without a cycle.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Grouping:
    """One `group_by_<flag>` of aggregate_get and the result columns it adds."""

    flag: str                 # group_by_<flag>
    key: str                  # the key column: rows are grouped and ordered by it
    label: str | None         # the column with the key's name for a person, if any
    title: str                # what a person calls the grouping (sidebar, label heading)
    help: str                 # the sidebar's one-line explanation
    kind: str                 # the key column's kind (core/report.KINDS): id, text, integer, rate
    default: bool = False     # part of MOR's default grouping when no flag is set
    key_title: str = ""       # the key's heading, when not "<title> ID" (ids) or "<title>"
    # The key from a `calls` record alone, as raw(calls, sql) with `sql` lent by core/query.py
    # (sqlalchemy's coalesce, core.dialects' day_of and hour_of), so this table needs no SQL
    # imports; None when the key is looked up in core/query.py.
    raw: Callable | None = None

    @property
    def is_id(self) -> bool:
        return self.kind == "id"

    @property
    def columns(self) -> tuple[str, ...]:
        """The result columns it adds: the key, then its label."""
        return (self.key, self.label) if self.label else (self.key,)

    @property
    def headings(self) -> dict[str, str]:
        """Each column's heading: the key's, and the grouping's title over its label."""
        key = self.key_title or (f"{self.title} ID" if self.is_id else self.title)
        return {self.key: key, **({self.label: self.title} if self.label else {})}

    @property
    def kinds(self) -> dict[str, str]:
        """Each column's kind: the key's, and text for its label."""
        return {self.key: self.kind, **({self.label: "text"} if self.label else {})}


GROUPINGS = (
    Grouping("user", "originator_id", "originator", "Originator",
             "One row per originator (the user who made the call).", "id", default=True,
             raw=lambda calls, sql: calls.c.user_id),
    Grouping("device", "device_id", "device", "Device",
             "One row per originating device.", "id",
             raw=lambda calls, sql: sql.coalesce(calls.c.src_device_id, 0)),
    Grouping("terminator", "terminator_id", "terminator", "Terminator",
             "One row per terminator, the group of providers that carried the call.", "id",
             default=True),
    Grouping("provider", "provider_id", "provider", "Provider",
             "One row per provider (termination point).", "id"),
    Grouping("dst_group", "dst_group_id", "dst_group", "Destination group",
             "One row per destination group, e.g. 'Lithuania Mobile'.", "id", default=True),
    Grouping("dst", "dst", "destination", "Destination",
             "One row per destination prefix.", "text", key_title="Prefix"),
    Grouping("day", "day", None, "Day",
             "One row per calendar day of the call start.", "text",
             raw=lambda calls, sql: sql.day_of(calls.c.calldate)),
    Grouping("hour", "hour", None, "Hour",
             "One row per hour of day (0–23); with Day, one row per day and hour.", "integer",
             raw=lambda calls, sql: sql.hour_of(calls.c.calldate)),
    Grouping("user_rate", "user_rate", None, "Originator rate",
             "One row per per-minute rate charged to the originator.", "rate",
             raw=lambda calls, sql: calls.c.user_rate),
    Grouping("provider_rate", "provider_rate", None, "Provider rate",
             "One row per per-minute rate paid to the provider.", "rate",
             raw=lambda calls, sql: calls.c.provider_rate),
)

BY_FLAG = {g.flag: g for g in GROUPINGS}
