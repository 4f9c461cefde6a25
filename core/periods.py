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


# --- relative periods: a name kept in the URL and saved reports, resolved when a report runs ---

# The `period` parameter's values (ours, not MOR's: never sent to a MOR server). Days are
# calendar days in the report time zone, from 00:00:00 to 23:59:59, so a day across a
# daylight-saving change is 23 or 25 hours; weeks start on Monday (ISO 8601, as in Lithuania
# and most of Europe). The "this_" and "last_N_days" periods run to the end of today, as the
# sidebar's presets do. last_hour and last_24_hours are the 3,600 / 86,400 whole seconds
# before the current one (epoch seconds, so a daylight-saving change does not alter them):
# run by cron at 12:00, last_hour is exactly 11:00:00-11:59:59.
PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month",
           "last_7_days", "last_30_days", "last_hour", "last_24_hours")
PERIOD_TITLES = {"today": "Today", "yesterday": "Yesterday", "this_week": "This week",
                 "last_week": "Last week", "this_month": "This month", "last_month": "Last month",
                 "last_7_days": "Last 7 days", "last_30_days": "Last 30 days",
                 "last_hour": "Last hour", "last_24_hours": "Last 24 hours"}
_SECONDS = {"last_hour": 3600, "last_24_hours": 86_400}


def period_dates(period: str, today: date) -> tuple[date, date]:
    """First and last calendar day of a day-based relative period, given today's date."""
    if period == "today":
        return today, today
    if period == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    monday = today - timedelta(days=today.weekday())
    if period == "this_week":
        return monday, today
    if period == "last_week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if period == "last_7_days":
        return today - timedelta(days=6), today
    if period == "last_30_days":
        return today - timedelta(days=29), today
    raise ValueError(f"'{period}' is not a relative period; use one of {', '.join(PERIODS)}")


def period_bounds(period: str, tz: str, now: datetime | None = None) -> tuple[int, int]:
    """from and till (epochs, both inclusive) of a relative period, resolved now in `tz`."""
    zone = ZoneInfo(tz)
    current = now.astimezone(zone) if now else datetime.now(zone)
    if period in _SECONDS:
        till = int(current.timestamp() // 1) - 1   # the last whole second before this one
        return till - _SECONDS[period] + 1, till
    return day_bounds(*period_dates(period, current.date()), tz)
