"""Report periods in the report time zone: presets and wall-clock <-> epoch conversions."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRESETS = ("Today", "Yesterday", "Last 7 days", "This month", "Last month", "Custom")


def to_epoch(day: date, clock: time, tz: str) -> int:
    return int(datetime.combine(day, clock, tzinfo=ZoneInfo(tz)).timestamp())


def to_wall_clock(epoch: int, tz: str) -> datetime:
    return datetime.fromtimestamp(epoch, ZoneInfo(tz)).replace(tzinfo=None)


def preset_dates(preset: str, tz: str, now: datetime | None = None) -> tuple[date, date]:
    """First and last calendar day of a preset, in the report time zone."""
    today = (now.astimezone(ZoneInfo(tz)) if now else datetime.now(ZoneInfo(tz))).date()
    if preset == "Today":
        return today, today
    if preset == "Yesterday":
        day = today - timedelta(days=1)
        return day, day
    if preset == "Last 7 days":
        return today - timedelta(days=6), today
    if preset == "This month":
        return today.replace(day=1), today
    if preset == "Last month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"'{preset}' is not a period preset; use one of {', '.join(PRESETS[:-1])}")


def day_bounds(first: date, last: date, tz: str) -> tuple[int, int]:
    """from = first day 00:00:00, till = last day 23:59:59, as epochs (MOR's whole days)."""
    return to_epoch(first, time(0, 0, 0), tz), to_epoch(last, time(23, 59, 59), tz)


def preset_bounds(preset: str, tz: str, now: datetime | None = None) -> tuple[int, int]:
    return day_bounds(*preset_dates(preset, tz, now), tz)


def matching_preset(from_: int, till: int, tz: str, now: datetime | None = None) -> str:
    """The preset that gives exactly this period, else 'Custom'."""
    for preset in PRESETS[:-1]:
        if preset_bounds(preset, tz, now) == (from_, till):
            return preset
    return "Custom"
