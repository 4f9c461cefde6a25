"""ui/form.py: the sidebar's widget values <-> Params, without streamlit.

Every test passes a fixed `now`, so presets are checked against hand-written calendar
bounds and nothing depends on the day the suite runs.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from core.params import COUNT_PARAMS, GROUP_FLAGS, OPTION_PARAMS, TEXT_PARAMS, ParamError, Params
from core.periods import PRESETS, preset_bounds
from tests.fixture_small import epoch
from ui import form
from ui.form import key

UTC = "UTC"
VILNIUS = "Europe/Vilnius"
ZONES = (UTC, VILNIUS, "America/New_York")
NOW = datetime(2024, 3, 15, 12, 0, tzinfo=timezone.utc)


def _custom(first: str, last: str, tz: str) -> tuple[int, int]:
    """from = first 'YYYY-MM-DD HH:MM', till = last 'YYYY-MM-DD HH:MM' + 59 s, in `tz`."""
    return epoch(f"{first}:00", tz), epoch(f"{last}:59", tz)


def _params(tz: str) -> list[Params]:
    """Many parameter sets: every flag, every filter, presets and custom periods."""
    day = _custom("2024-03-15 00:00", "2024-03-15 23:59", tz)
    odd = _custom("2024-02-28 07:15", "2024-03-02 18:44", tz)
    today = preset_bounds("Today", tz, NOW)
    last_month = preset_bounds("Last month", tz, NOW)
    out = [
        Params(u="admin", from_=today[0], till=today[1]),
        Params(u="admin", from_=last_month[0], till=last_month[1], a_currency="EUR"),
        Params(u="respro", from_=day[0], till=day[1]),
        Params(u="acc", from_=odd[0], till=odd[1], a_currency="GBP", profit_show=True),
        Params(u="admin", from_=day[0], till=day[1], s_originator_id=2, s_terminator_id=1,
               s_device=3, s_provider=4, a_src="3706%", a_dst="447_1%", dst_group="UK_Mobile",
               clid="100%_done", s_duration=60, answered_calls=0),
        Params(u="admin", from_=odd[0], till=odd[1], use_real_billsec=True,
               from_user_perspective=True, answered_calls=2, s_originator_id=0),
        Params(u="admin", from_=day[0], till=day[1],
               **{f"group_by_{g}": True for g in GROUP_FLAGS}),
    ]
    out += [Params(u="admin", from_=day[0], till=day[1], **{f"group_by_{g}": True})
            for g in GROUP_FLAGS]
    out += [Params(u="admin", from_=b[0], till=b[1])
            for b in (preset_bounds(p, tz, NOW) for p in PRESETS[:-1])]
    return out


CASES = [(tz, p) for tz in ZONES for p in _params(tz)]


@pytest.mark.parametrize("tz,params", CASES, ids=[f"{tz}-{i}" for i, (tz, _) in enumerate(CASES)])
def test_round_trip(tz, params):
    values = form.widget_values(params, tz, NOW)
    assert set(values) == {key(n) for n in TEXT_PARAMS + COUNT_PARAMS + OPTION_PARAMS} | {
        key(f"group_by_{g}") for g in GROUP_FLAGS} | {
        key(n) for n in ("u", "period", "dates", "time_from", "time_till", "a_currency",
                         "s_originator_id", "s_terminator_id", "s_device", "s_provider")}
    assert form.params_from_widgets(values, tz, NOW) == params


def test_widget_values_show_wall_clock_in_report_zone():
    # 2024-03-15 00:00 in Vilnius is 2024-03-14 22:00 UTC: the pickers show Vilnius time.
    from_, till = _custom("2024-03-15 00:00", "2024-03-16 23:59", VILNIUS)
    values = form.widget_values(Params(u="admin", from_=from_, till=till), VILNIUS, NOW)
    assert values[key("dates")] == (date(2024, 3, 15), date(2024, 3, 16))
    assert values[key("time_from")] == time(0, 0)
    assert values[key("time_till")] == time(23, 59)
    assert values[key("period")] == "Custom"
    # The same epochs read in UTC are other days and hours.
    utc = form.widget_values(Params(u="admin", from_=from_, till=till), UTC, NOW)
    assert utc[key("dates")] == (date(2024, 3, 14), date(2024, 3, 16))
    assert (utc[key("time_from")], utc[key("time_till")]) == (time(22, 0), time(21, 59))


def test_widget_values_of_every_field():
    from_, till = _custom("2024-03-15 00:00", "2024-03-15 23:59", UTC)
    params = Params(u="admin", from_=from_, till=till, a_currency="eur", group_by_dst=True,
                    s_device=3, a_src="3706%", s_duration=60, profit_show=True)
    values = form.widget_values(params, UTC, NOW)
    assert values[key("u")] == "admin"
    assert values[key("a_currency")] == "EUR"
    assert values[key("group_by_dst")] is True
    assert values[key("group_by_day")] is False
    assert values[key("s_device")] == 3 and values[key("s_provider")] is None
    assert values[key("a_src")] == "3706%" and values[key("a_dst")] == ""  # text inputs hold ""
    assert values[key("s_duration")] == 60 and values[key("answered_calls")] is None
    assert values[key("profit_show")] is True and values[key("use_real_billsec")] is False
    # Fixed from/till are Custom even on the day they equal "Today" (issue 14: a preset is a
    # relative period, and these days stay these days tomorrow).
    assert values[key("period")] == "Custom"


# --- presets ---------------------------------------------------------------------------

def _bounds(first: str, last: str, tz: str) -> tuple[int, int]:
    return epoch(f"{first} 00:00:00", tz), epoch(f"{last} 23:59:59", tz)


@pytest.mark.parametrize("tz", [UTC, VILNIUS])
@pytest.mark.parametrize("preset,now,first,last", [
    ("Today", datetime(2024, 3, 15, 12, 0), "2024-03-15", "2024-03-15"),
    ("Yesterday", datetime(2024, 3, 15, 12, 0), "2024-03-14", "2024-03-14"),
    ("Yesterday", datetime(2024, 1, 1, 12, 0), "2023-12-31", "2023-12-31"),
    ("Last 7 days", datetime(2024, 3, 3, 12, 0), "2024-02-26", "2024-03-03"),
    ("This month", datetime(2024, 2, 29, 12, 0), "2024-02-01", "2024-02-29"),
    ("Last month", datetime(2024, 3, 15, 12, 0), "2024-02-01", "2024-02-29"),
    ("Last month", datetime(2025, 1, 15, 12, 0), "2024-12-01", "2024-12-31"),
])
def test_presets(tz, preset, now, first, last):
    now = now.replace(tzinfo=timezone.utc)
    state = {key("u"): "admin", key("period"): preset}
    params = form.params_from_widgets(state, tz, now)
    assert (params.from_, params.till) == _bounds(first, last, tz)
    # ... and the widgets of those params name the same preset again.
    assert form.widget_values(params, tz, now)[key("period")] == preset


def test_presets_follow_the_report_zone_not_utc():
    # 2025-01-31 23:30 UTC is already 2025-02-01 01:30 in Vilnius: "Last month" is
    # December in UTC but January in Vilnius.
    now = datetime(2025, 1, 31, 23, 30, tzinfo=timezone.utc)
    state = {key("u"): "admin", key("period"): "Last month"}
    utc = form.params_from_widgets(state, UTC, now)
    vilnius = form.params_from_widgets(state, VILNIUS, now)
    assert (utc.from_, utc.till) == _bounds("2024-12-01", "2024-12-31", UTC)
    assert (vilnius.from_, vilnius.till) == _bounds("2025-01-01", "2025-01-31", VILNIUS)
    assert vilnius.from_ == epoch("2024-12-31 22:00:00")  # UTC+2 in winter


def test_today_on_a_daylight_saving_day_has_23_hours():
    now = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)  # Vilnius: UTC+2 -> UTC+3
    params = form.params_from_widgets({key("u"): "admin", key("period"): "Today"}, VILNIUS, now)
    assert params.till - params.from_ == 23 * 3600 - 1


def test_no_period_widget_means_today():
    params = form.params_from_widgets({key("u"): "admin"}, UTC, NOW)
    assert (params.from_, params.till) == _bounds("2024-03-15", "2024-03-15", UTC)


# --- the custom period -------------------------------------------------------------------

def _custom_state(first: date, last: date, start: time, end: time) -> dict:
    return {key("u"): "admin", key("period"): "Custom", key("dates"): (first, last),
            key("time_from"): start, key("time_till"): end}


@pytest.mark.parametrize("tz", [UTC, VILNIUS])
def test_custom_period_ends_at_the_last_second_of_its_minute(tz):
    state = _custom_state(date(2024, 3, 14), date(2024, 3, 16), time(8, 30), time(17, 45))
    params = form.params_from_widgets(state, tz, NOW)
    assert params.from_ == epoch("2024-03-14 08:30:00", tz)
    assert params.till == epoch("2024-03-16 17:45:59", tz)


def test_custom_period_ignores_seconds_in_the_pickers():
    state = _custom_state(date(2024, 3, 15), date(2024, 3, 15), time(8, 30, 40), time(9, 0, 5))
    params = form.params_from_widgets(state, UTC, NOW)
    assert (params.from_, params.till) == (epoch("2024-03-15 08:30:00"), epoch("2024-03-15 09:00:59"))


def test_custom_period_without_times_is_whole_days():
    state = {key("u"): "admin", key("period"): "Custom",
             key("dates"): (date(2024, 3, 14), date(2024, 3, 16))}
    params = form.params_from_widgets(state, VILNIUS, NOW)
    assert (params.from_, params.till) == _bounds("2024-03-14", "2024-03-16", VILNIUS)


def test_seconds_are_lost_on_the_way_to_the_pickers():
    # The pickers hold minutes: from 10:00:30 shows (and re-applies) as 10:00:00, till
    # 12:00:10 as 12:00:59. Documented behaviour, not an accident.
    params = Params(u="admin", from_=epoch("2024-03-15 10:00:30"), till=epoch("2024-03-15 12:00:10"))
    again = form.params_from_widgets(form.widget_values(params, UTC, NOW), UTC, NOW)
    assert (again.from_, again.till) == (epoch("2024-03-15 10:00:00"), epoch("2024-03-15 12:00:59"))


@pytest.mark.parametrize("dates", [None, (), (date(2024, 3, 15),), date(2024, 3, 15)])
def test_custom_period_needs_both_days(dates):
    # st.date_input in range mode returns a 1-tuple while the user is still picking.
    state = {key("u"): "admin", key("period"): "Custom", key("dates"): dates}
    with pytest.raises(ParamError) as info:
        form.params_from_widgets(state, UTC, NOW)
    assert info.value.param == "till"


def test_custom_period_ending_before_it_starts_is_an_error():
    state = _custom_state(date(2024, 3, 15), date(2024, 3, 15), time(18, 0), time(9, 0))
    with pytest.raises(ParamError) as info:
        form.params_from_widgets(state, UTC, NOW)
    assert info.value.param == "till"


# --- the other fields ---------------------------------------------------------------------

def test_text_and_number_fields():
    state = {key("u"): "  respro ", key("period"): "Today", key("a_currency"): " eur ",
             key("a_src"): "", key("a_dst"): "447%", key("dst_group"): "%%", key("clid"): "%",
             key("s_originator_id"): 7, key("s_duration"): 0, key("answered_calls"): None}
    params = form.params_from_widgets(state, UTC, NOW)
    assert params.u == "respro" and params.a_currency == "EUR"
    assert params.a_src is None              # empty text is no filter
    assert params.a_dst == "447%"
    assert params.dst_group is None          # only '%' is no filter
    assert params.clid == "%"                # ... but clid's '%' is literal
    assert params.s_originator_id == 7 and params.s_duration == 0
    assert params.answered_calls is None


def test_defaults_when_widgets_are_missing():
    params = form.params_from_widgets({key("u"): "admin"}, UTC, NOW)
    assert params == Params(u="admin", from_=params.from_, till=params.till)


@pytest.mark.parametrize("state,param", [
    ({key("u"): "   "}, "u"),
    ({}, "u"),
    ({key("u"): "admin", key("a_currency"): "US$"}, "a_currency"),
    ({key("u"): "admin", key("a_src"): "x" * 256}, "a_src"),
])
def test_invalid_widgets_raise_param_error(state, param):
    with pytest.raises(ParamError) as info:
        form.params_from_widgets(state, UTC, NOW)
    assert info.value.param == param


# --- relative periods (issue 14): a preset is kept by name ---------------------------------

@pytest.mark.parametrize("title,period,now,first,last", [
    ("Today", "today", datetime(2024, 3, 15, 12, 0), "2024-03-15", "2024-03-15"),
    ("Yesterday", "yesterday", datetime(2024, 3, 1, 12, 0), "2024-02-29", "2024-02-29"),
    ("This week", "this_week", datetime(2024, 3, 15, 12, 0), "2024-03-11", "2024-03-15"),  # a Friday
    ("Last week", "last_week", datetime(2024, 3, 11, 12, 0), "2024-03-04", "2024-03-10"),  # a Monday
    ("This month", "this_month", datetime(2024, 3, 15, 12, 0), "2024-03-01", "2024-03-15"),
    ("Last month", "last_month", datetime(2024, 3, 15, 12, 0), "2024-02-01", "2024-02-29"),
    ("Last 7 days", "last_7_days", datetime(2024, 3, 3, 12, 0), "2024-02-26", "2024-03-03"),
    ("Last 30 days", "last_30_days", datetime(2024, 3, 15, 12, 0), "2024-02-15", "2024-03-15"),
])
def test_a_preset_is_a_relative_period(title, period, now, first, last):
    now = now.replace(tzinfo=timezone.utc)
    params = form.params_from_widgets({key("u"): "admin", key("period"): title}, UTC, now)
    assert params.period == period
    assert (params.from_, params.till) == _bounds(first, last, UTC)
    assert params.to_pairs() == {"u": "admin", "period": period}   # the URL: no from/till
    assert form.widget_values(params, UTC, now)[key("period")] == title


@pytest.mark.parametrize("title,period,seconds", [("Last hour", "last_hour", 3600),
                                                   ("Last 24 hours", "last_24_hours", 86_400)])
def test_last_hour_and_last_24_hours(title, period, seconds):
    # At 12:00:00 the whole seconds before the current one: 11:00:00-11:59:59 for the hour.
    params = form.params_from_widgets({key("u"): "admin", key("period"): title}, UTC, NOW)
    assert params.period == period
    assert (params.from_, params.till) == (epoch("2024-03-15 11:59:59") - seconds + 1,
                                           epoch("2024-03-15 11:59:59"))


def test_every_relative_period_is_offered_then_custom():
    assert form.PERIOD_CHOICES == ("Today", "Yesterday", "This week", "Last week", "This month",
                                   "Last month", "Last 7 days", "Last 30 days", "Last hour",
                                   "Last 24 hours", "Custom")


def test_edited_dates_make_a_fixed_period():
    previous = form.params_from_widgets({key("u"): "admin", key("period"): "Yesterday"}, UTC, NOW)
    state = {**form.widget_values(previous, UTC, NOW), key("dates"): (date(2024, 3, 10), date(2024, 3, 12))}
    params = form.params_from_widgets(state, UTC, NOW, previous=previous)
    assert params.period is None
    assert (params.from_, params.till) == _bounds("2024-03-10", "2024-03-12", UTC)
    # Unedited, the applied "Yesterday" stays relative.
    again = form.params_from_widgets(form.widget_values(previous, UTC, NOW), UTC, NOW, previous=previous)
    assert again == previous


def test_an_unknown_period_title_is_refused():
    with pytest.raises(ParamError) as info:
        form.params_from_widgets({key("u"): "admin", key("period"): "Fortnight"}, UTC, NOW)
    assert info.value.param == "period" and "Last week" in str(info.value)
