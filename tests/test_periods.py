"""Relative periods (`period=yesterday` …): resolved in the report time zone when parsed.

Every expected instant is written out by hand in UTC with the zone's offset worked out
here: Europe/Vilnius is UTC+2 in winter and UTC+3 in summer; in 2024 summer time began on
31 March at 03:00 local (01:00 UTC) and ended on 27 October at 04:00 local (01:00 UTC).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.params import ParamError, Params, parse_params
from core.periods import PERIODS, period_bounds

VILNIUS = "Europe/Vilnius"


def utc(*parts) -> int:
    return int(datetime(*parts, tzinfo=timezone.utc).timestamp())


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def bounds(period: str, now: datetime, tz: str = VILNIUS) -> tuple[int, int]:
    params = parse_params({"u": "admin", "period": period}, tz=tz, now=now)
    assert params.period == period
    return params.from_, params.till


def test_every_period_the_issue_names_is_accepted():
    assert PERIODS == ("today", "yesterday", "this_week", "last_week", "this_month", "last_month",
                       "last_7_days", "last_30_days", "last_hour", "last_24_hours")


def test_today_and_yesterday_on_either_side_of_midnight_in_vilnius():
    # 23:59:59 local on 15 March (UTC+2) is 21:59:59 UTC: still the 15th.
    before = at(2024, 3, 15, 21, 59, 59)
    assert bounds("today", before) == (utc(2024, 3, 14, 22, 0, 0), utc(2024, 3, 15, 21, 59, 59))
    # One second later it is the 16th in Vilnius, while UTC is still on the 15th.
    after = at(2024, 3, 15, 22, 0, 0)
    assert bounds("today", after) == (utc(2024, 3, 15, 22, 0, 0), utc(2024, 3, 16, 21, 59, 59))
    assert bounds("yesterday", after) == (utc(2024, 3, 14, 22, 0, 0), utc(2024, 3, 15, 21, 59, 59))
    # In UTC the same instant is still the 15th.
    assert bounds("today", after, "UTC") == (utc(2024, 3, 15, 0, 0, 0), utc(2024, 3, 15, 23, 59, 59))


def test_the_day_summer_time_begins_has_23_hours():
    # 1 April 00:30 local (UTC+3) = 31 March 21:30 UTC; yesterday is 31 March, which began
    # at 00:00 UTC+2 and ended at 23:59:59 UTC+3.
    now = at(2024, 3, 31, 21, 30)
    start, end = bounds("yesterday", now)
    assert (start, end) == (utc(2024, 3, 30, 22, 0, 0), utc(2024, 3, 31, 20, 59, 59))
    assert end - start + 1 == 23 * 3600


def test_the_day_summer_time_ends_has_25_hours():
    now = at(2024, 10, 28, 9, 0)   # 28 October 11:00 local (UTC+2)
    start, end = bounds("yesterday", now)
    assert (start, end) == (utc(2024, 10, 26, 21, 0, 0), utc(2024, 10, 27, 21, 59, 59))
    assert end - start + 1 == 25 * 3600


def test_weeks_start_on_monday():
    # Sunday 31 March 2024, 12:00 local: this week is Monday 25 .. Sunday 31 March.
    sunday = at(2024, 3, 31, 9, 0)
    assert bounds("this_week", sunday) == (utc(2024, 3, 24, 22, 0, 0), utc(2024, 3, 31, 20, 59, 59))
    assert bounds("last_week", sunday) == (utc(2024, 3, 17, 22, 0, 0), utc(2024, 3, 24, 21, 59, 59))
    # Monday 1 April 00:00:30 local (31 March 21:00:30 UTC): a new week of one day so far,
    # and last week is the one that just ended.
    monday = at(2024, 3, 31, 21, 0, 30)
    assert bounds("this_week", monday) == (utc(2024, 3, 31, 21, 0, 0), utc(2024, 4, 1, 20, 59, 59))
    assert bounds("last_week", monday) == (utc(2024, 3, 24, 22, 0, 0), utc(2024, 3, 31, 20, 59, 59))


def test_month_edges_leap_february_and_the_year_before():
    # 1 March 2024 00:00:30 local (29 February 22:00:30 UTC).
    now = at(2024, 2, 29, 22, 0, 30)
    assert bounds("this_month", now) == (utc(2024, 2, 29, 22, 0, 0), utc(2024, 3, 1, 21, 59, 59))
    assert bounds("last_month", now) == (utc(2024, 1, 31, 22, 0, 0), utc(2024, 2, 29, 21, 59, 59))
    # Ten seconds earlier it was still February in Vilnius.
    assert bounds("this_month", at(2024, 2, 29, 21, 59, 50)) == (utc(2024, 1, 31, 22, 0, 0),
                                                                 utc(2024, 2, 29, 21, 59, 59))
    # In January, last month is December of the year before.
    assert bounds("last_month", at(2024, 1, 10, 12)) == (utc(2023, 11, 30, 22, 0, 0),
                                                         utc(2023, 12, 31, 21, 59, 59))


def test_last_n_days_end_today():
    now = at(2024, 3, 5, 10, 0)   # 5 March 2024, 12:00 local
    # 28 Feb, 29 Feb, 1-5 March: seven days.
    assert bounds("last_7_days", now) == (utc(2024, 2, 27, 22, 0, 0), utc(2024, 3, 5, 21, 59, 59))
    # 5 February .. 5 March 2024 is 30 days (25 in February from the 5th, 5 in March).
    assert bounds("last_30_days", now) == (utc(2024, 2, 4, 22, 0, 0), utc(2024, 3, 5, 21, 59, 59))


def test_last_hour_and_24_hours_are_the_whole_seconds_before_the_current_one():
    # Run by cron at 03:00 local just as summer time begins (01:00:00.4 UTC).
    now = datetime(2024, 3, 31, 1, 0, 0, 400_000, tzinfo=timezone.utc)
    assert bounds("last_hour", now) == (utc(2024, 3, 31, 0, 0, 0), utc(2024, 3, 31, 0, 59, 59))
    assert bounds("last_24_hours", now) == (utc(2024, 3, 30, 1, 0, 0), utc(2024, 3, 31, 0, 59, 59))
    assert period_bounds("last_hour", "UTC", now) == period_bounds("last_hour", VILNIUS, now)


def test_period_with_from_or_till_is_one_clear_error():
    for given in ({"from": "1710460800"}, {"till": "1710547199"}):
        with pytest.raises(ParamError) as caught:
            parse_params({"u": "admin", "period": "yesterday", **given})
        assert caught.value.param == "period"
        assert "give either period or from and till" in str(caught.value)


def test_an_unknown_period_names_the_accepted_ones():
    with pytest.raises(ParamError, match="'fortnight' is not accepted; use today, yesterday"):
        parse_params({"u": "admin", "period": "fortnight"})
    with pytest.raises(ParamError, match="period"):
        Params(u="admin", from_=0, till=1, period="Yesterday")


def test_the_url_keeps_the_name_and_a_mor_server_gets_from_and_till():
    now = at(2024, 3, 16, 8, 0)
    params = parse_params({"u": "admin", "period": "yesterday", "group_by_day": "1"},
                          tz=VILNIUS, now=now)
    assert params.to_pairs() == {"u": "admin", "group_by_day": "1", "period": "yesterday"}
    assert params.to_pairs(app_options=False) == {"u": "admin", "from": str(utc(2024, 3, 14, 22)),
                                                  "till": str(utc(2024, 3, 15, 21, 59, 59)),
                                                  "group_by_day": "1"}
    # Parsed again a day later, the link means that day's yesterday.
    later = parse_params(params.to_pairs(), tz=VILNIUS, now=at(2024, 3, 17, 8, 0))
    assert (later.from_, later.till) == (utc(2024, 3, 15, 22), utc(2024, 3, 16, 21, 59, 59))
    # An explicit period replaces the relative one.
    fixed = params.with_(from_=100, till=200)
    assert fixed.period is None and fixed.to_pairs()["from"] == "100"


def test_a_mor_compatible_server_refuses_period_as_mor_would():
    with pytest.raises(ParamError, match="is not an aggregate_get parameter"):
        parse_params({"u": "admin", "period": "today"}, app_options=False)


def test_the_command_line_takes_a_period_and_refuses_the_conflict(tmp_path, capsys):
    from core.cli import main
    from tests.fixture_small import build_small_sqlite

    db = tmp_path / "small.sqlite"
    build_small_sqlite(db)
    code = main(["report", "--db", f"sqlite:///{db}", "--format", "json", "period=last_hour"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("{")
    code = main(["report", "--db", f"sqlite:///{db}", "period=today", "from=1710460800"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: period: period=today and from both give") and err.count("\n") == 1
