"""The sidebar form's model: widget values <-> Params, with no streamlit in sight.

Kept apart from the widgets so that the mapping is tested directly, and the sidebar file
reads like a description of the sidebar.
"""
from __future__ import annotations

from datetime import datetime, time
from typing import Mapping

from core.params import (
    COUNT_PARAMS,
    GROUP_FLAGS,
    ID_PARAMS,
    OPTION_PARAMS,
    TEXT_PARAMS,
    ParamError,
    Params,
    today_bounds,
)
from core.periods import PERIOD_TITLES, PERIODS, period_bounds, to_epoch, to_wall_clock

PREFIX = "w_"
CUSTOM = "Custom"
# The period picker: the relative periods by title (a chosen one stays relative in the URL
# and saved reports: "Yesterday" is `period=yesterday`), then Custom for fixed days and times.
PERIOD_CHOICES = tuple(PERIOD_TITLES[p] for p in PERIODS) + (CUSTOM,)
_PERIOD_OF = {title: name for name, title in PERIOD_TITLES.items()}


def key(name: str) -> str:
    return PREFIX + name


def widget_values(params: Params, tz: str, now: datetime | None = None) -> dict:
    """Widget state that shows `params`."""
    start, end = to_wall_clock(params.from_, tz), to_wall_clock(params.till, tz)
    values = {
        key("u"): params.u,
        # A relative period shows its title; fixed from/till are Custom, even when they
        # happen to equal a preset's days today (they stay those days tomorrow).
        key("period"): PERIOD_TITLES[params.period] if params.period else CUSTOM,
        key("dates"): (start.date(), end.date()),
        key("time_from"): start.time().replace(second=0),
        key("time_till"): end.time().replace(second=0),
        key("a_currency"): params.a_currency,
    }
    for group in GROUP_FLAGS:
        values[key(f"group_by_{group}")] = getattr(params, f"group_by_{group}")
    for name in ID_PARAMS + COUNT_PARAMS:
        values[key(name)] = getattr(params, name)
    for name in TEXT_PARAMS:
        values[key(name)] = getattr(params, name) or ""
    for name in OPTION_PARAMS:
        values[key(name)] = getattr(params, name)
    return values


def option_values(params: Params) -> dict:
    """Widget state for our own options (core.params.APP_PARAMS), beside MOR's parameters."""
    return {key("compare"): params.compare or ""}


def period_from_widgets(state: Mapping, tz: str, now: datetime | None = None,
                        previous: Params | None = None) -> tuple[int, int, str | None]:
    """from, till and the relative period (None for fixed days) the period widgets give.

    No period widget at all is MOR's default period, today, as fixed from and till."""
    preset = state.get(key("period"))
    if preset is None:
        return (*today_bounds(tz, now), None)
    if preset != CUSTOM and not _dates_edited(state, previous, tz):
        if preset not in _PERIOD_OF:
            raise ParamError("period", f"'{preset}' is not a period; choose one of "
                                       f"{', '.join(PERIOD_CHOICES)}")
        period = _PERIOD_OF[preset]
        return (*period_bounds(period, tz, now), period)
    dates = state.get(key("dates"))
    if not dates or not isinstance(dates, (tuple, list)) or len(dates) != 2:
        raise ParamError("till", "pick both the first and the last day of the period")
    first, last = dates
    start_clock: time = state.get(key("time_from")) or time(0, 0)
    end_clock: time = state.get(key("time_till")) or time(23, 59)
    # Minutes are what the picker offers; the period ends at the last second of that minute.
    return (to_epoch(first, start_clock.replace(second=0), tz),
            to_epoch(last, end_clock.replace(second=59), tz), None)


def _dates_edited(state: Mapping, previous: Params | None, tz: str) -> bool:
    """Whether the day or time pickers changed since the report last applied: a person who
    edits the dates means them, so they win over a preset left as it was."""
    if previous is None:
        return False
    shown = widget_values(previous, tz)
    return any(state.get(key(k)) != shown[key(k)] for k in ("dates", "time_from", "time_till"))


def params_from_widgets(state: Mapping, tz: str, now: datetime | None = None,
                        previous: Params | None = None) -> Params:
    """Params from widget state; raises ParamError like every other entry point.

    `previous` is the report last applied, whose period the pickers showed.
    """
    from_, till, period = period_from_widgets(state, tz, now, previous)
    values: dict = {"u": (state.get(key("u")) or "").strip(), "from_": from_, "till": till,
                    "period": period,
                    "a_currency": (state.get(key("a_currency")) or "USD").strip(),
                    "compare": state.get(key("compare")) or None}
    for group in GROUP_FLAGS:
        values[f"group_by_{group}"] = bool(state.get(key(f"group_by_{group}"), False))
    for name in ID_PARAMS + COUNT_PARAMS:
        value = state.get(key(name))
        values[name] = None if value is None else int(value)
    for name in TEXT_PARAMS:
        values[name] = state.get(key(name)) or None
    for name in OPTION_PARAMS:
        values[name] = bool(state.get(key(name), False))
    return Params(**values)

