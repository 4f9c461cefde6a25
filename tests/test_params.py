"""core/params.py: the limits of integer parameters, at every entry point.

Periods must stay inside what Python's datetimes and the engines hold in every report time
zone; numbers must be written with the digits 0-9, as MOR itself reads them.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.params import ParamError, Params, parse_params
from core.settings import Settings
from core.sources.db import DatabaseSource
from tests.fixture_small import TABLES

ROOT = Path(__file__).resolve().parents[1]
# The last accepted second, 9999-12-30 23:59:59 UTC, written out by hand.
LAST = 253402214399
INTEGER_PARAMS = ("from", "till", "s_originator_id", "s_terminator_id", "s_device",
                  "s_provider", "s_duration", "answered_calls")
# '12' in Arabic-Indic, extended Arabic-Indic (Persian), Devanagari and full-width digits.
OTHER_DIGITS = ("١٢", "۱۲", "१२", "１２")


def parse(**pairs) -> Params:
    return parse_params({"u": "admin", **pairs})


def refusal(**pairs) -> ParamError:
    with pytest.raises(ParamError) as caught:
        parse(**pairs)
    return caught.value


def test_the_range_ends_with_the_last_second_of_9999_12_30_utc():
    assert LAST == datetime(9999, 12, 30, 23, 59, 59, tzinfo=timezone.utc).timestamp()
    params = parse(**{"from": "0", "till": str(LAST)})
    assert (params.from_, params.till) == (0, LAST)
    assert parse(**{"from": str(LAST), "till": str(LAST)}).from_ == LAST
    assert refusal(**{"from": "0", "till": str(LAST + 1)}).param == "till"
    assert refusal(**{"from": "-1"}).param == "from"


@pytest.mark.parametrize("name", ["from", "till"])
@pytest.mark.parametrize("value", [LAST + 1, 253402300799, 2**63 - 1, 10**30])
def test_epochs_past_the_range_are_refused_by_name_with_the_range(name, value):
    other = {"till": str(LAST)} if name == "from" else {"from": "0"}
    error = refusal(**{name: str(value)}, **other)
    assert error.param == name and str(error).startswith(f"{name}: '{value}' is not accepted")
    assert f"0 (1970-01-01 00:00:00 UTC) to {LAST} (9999-12-30 23:59:59 UTC)" in str(error)


@pytest.mark.parametrize("name", ["from_", "till"])
def test_params_built_directly_are_held_to_the_same_range(name):
    values = {"from_": 0, "till": LAST, name: LAST + 1}
    with pytest.raises(ParamError) as caught:
        Params(u="admin", **values)
    assert caught.value.param == name.rstrip("_") and str(LAST) in str(caught.value)
    with pytest.raises(ParamError):
        Params(u="admin", **{"from_": 0, "till": LAST, name: -1})


@pytest.mark.parametrize("name", INTEGER_PARAMS)
@pytest.mark.parametrize("digits", OTHER_DIGITS)
def test_only_ascii_digits_are_numbers(name, digits):
    period = {} if name == "from" else {"from": "0"}  # till=12 must not precede today
    assert getattr(parse(**period, **{name: " 12 "}), "from_" if name == "from" else name) == 12
    error = refusal(**period, **{name: digits})
    assert error.param == name
    assert str(error).startswith(f"{name}: '{digits}' is not accepted")
    assert "digits 0-9" in str(error)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_the_widest_period_runs_in_the_farthest_time_zones(db_url_factory, zone):
    # UTC+14 and UTC-12: the wall-clock bounds are 1969-12-31 12:00 and 9999-12-31 14:00.
    with pytest.raises(ParamError):
        Params(u="admin", from_=0, till=LAST + 1)
    _, url = db_url_factory(TABLES)
    report = DatabaseSource(url).run(Params(u="admin", from_=0, till=LAST), Settings(timezone=zone))
    # All 32 records minus the card call (22), the incoming one (23) and the admin's own (24).
    assert report.totals["total_calls"] == 29


def test_the_command_line_refuses_a_huge_till_in_one_line():
    result = subprocess.run([sys.executable, "-m", "core", "report", "--db", "sqlite:///:memory:",
                             "till=9223372036854775807"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: till: '9223372036854775807'"), lines
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_server_answers_a_huge_epoch_with_mor_envelope(tmp_path):
    from core.server import create_app
    from core.sources.mor_api import mor_hash
    from core.sources.mor_xml import mor_error, parse_document
    from tests.test_mor_api import SECRET, build_db

    app = create_app(DatabaseSource(build_db(tmp_path / "mor.sqlite")), Settings())
    response = app.test_client().post("/billing/api/aggregate_get", data={
        "u": "admin", "hash": mor_hash(SECRET), "from": "0", "till": "253402300799"})
    assert response.status_code == 200
    assert mor_error(parse_document(response.data)).startswith("till: '253402300799' is not accepted")


@pytest.mark.parametrize("query,named", [
    ({"from": "0", "till": "9223372036854775807"}, "till"),
    ({"from": "253402300799", "till": "253402300799"}, "from"),
    ({"s_originator_id": "１２"}, "s_originator_id"),
])
def test_a_link_with_such_a_value_opens_the_app_on_the_defaults(monkeypatch, tmp_path, query, named):
    from tests.app_driver import app_environment, healthy, open_app
    from tests.fixture_small import build_small_sqlite

    with app_environment(monkeypatch, build_small_sqlite(tmp_path / "mor_small.sqlite")):
        at = healthy(open_app(query))
        # As the browser shows it: Markdown escapes and invisible word joiners dropped.
        [message] = [re.sub(r"\\(.)", r"\1", e.value).replace("\u2060", "") for e in at.error]
        assert message.startswith(f"The link's {named}: ") and "defaults" in message
        assert at.session_state["report_params"].s_originator_id is None
