"""`python -m core report` on a database, as a cron job or a person at a terminal uses it.

Expected numbers come from the plain-pandas reference (tests/reference.py) over the same
rows, or by hand. The command runs in-process through core.cli.main (fast); a few smoke
tests at the end run it as a real subprocess.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from core.cli import main
from core.params import Params
from tests.fixture_small import FROM, TABLES, TILL
from tests.reference import reference_report

ROOT = Path(__file__).resolve().parents[1]
PERIOD = [f"from={FROM}", f"till={TILL}"]
# Variables that would change a run: each test sets what it needs and nothing else leaks in.
ENVIRONMENT = ("MOR_DB_PASSWORD", "MOR_API_SECRET", "MOR_TIMEZONE", "MOR_ANSWERED_RULE",
               "MOR_ACCOUNTANT_STATS", "MOR_ACCOUNTANT_FINANCIAL")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def runner(capsys, monkeypatch):
    """run(*args, env=None) -> Run: `python -m core *args` in this process, with `env` set
    (and none of ENVIRONMENT otherwise)."""
    def run(*args: str, env: dict | None = None) -> Run:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name in ENVIRONMENT:
                patch.delenv(name, raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            code = main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)
    return run


@pytest.fixture
def core(capsys, monkeypatch):
    return runner(capsys, monkeypatch)


def core_process(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    run_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=run_env,
                          capture_output=True, text=True, timeout=120)


def one_line_error(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_json_matches_the_reference_on_every_engine(small_url, core):
    args = ["group_by_user=1", "group_by_dst_group=1", "profit_show=1", "a_currency=EUR"]
    result = core("report", "--db", small_url, "--format", "json", *PERIOD, *args)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)

    params = Params(u="admin", from_=FROM, till=TILL, group_by_user=True, group_by_dst_group=True,
                    profit_show=True, a_currency="EUR")
    rows, totals = reference_report(TABLES, params)
    assert (got["currency"], got["from"], got["till"]) == ("EUR", FROM, TILL)
    def key(r):
        return (r["originator_id"], r["dst_group_id"])
    expected = sorted(rows.to_dict("records"), key=key)
    assert len(got["rows"]) == len(expected) > 3
    for mine, theirs in zip(sorted(got["rows"], key=key), expected, strict=True):
        assert list(mine) == list(rows.columns)  # the spec's columns, in the spec's order
        for column, value in theirs.items():
            if isinstance(value, str):
                assert mine[column] == value, column
            else:
                assert mine[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
    assert set(got["totals"]) == set(totals)
    for column, value in totals.items():
        assert got["totals"][column] == pytest.approx(value, rel=1e-9, abs=1e-9), column


def test_csv_has_header_rows_and_a_total_row(small_url, core):
    result = core("report", "--db", small_url, "--format", "csv", *PERIOD, "group_by_day=1",
                  "profit_show=1")
    assert result.returncode == 0, result.stderr
    table = list(csv.reader(io.StringIO(result.stdout)))
    params = Params(u="admin", from_=FROM, till=TILL, group_by_day=True, profit_show=True)
    rows, totals = reference_report(TABLES, params)
    assert table[0] == list(rows.columns)
    assert len(table) == len(rows) + 2
    assert table[-1][0] == "Total"
    total = dict(zip(table[0], table[-1], strict=True))
    assert int(total["total_calls"]) == totals["total_calls"]
    assert float(total["profit"]) == pytest.approx(totals["profit"], abs=1e-6)


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_csv_neutralises_formulas_but_not_negative_numbers(db_url_factory, engine_kind, core):
    """A caller chooses his CallerID and a customer his name: a spreadsheet must never run them."""
    tables = {
        "users": [dict(id=0, username="admin", usertype="admin"),
                  dict(id=2, username="evil", first_name="=HYPERLINK(\"http://x\")", last_name="",
                       usertype="user"),
                  dict(id=3, username="@SUM(A1)", usertype="user")],
        "currencies": [dict(id=1, name="USD", exchange_rate=1)],
        "calls": [dict(id=1, calldate="2024-03-15 10:00:00", user_id=2, disposition="ANSWERED",
                       billsec=60, user_price=1.0, provider_price=3.0, uniqueid="a"),
                  dict(id=2, calldate="2024-03-15 11:00:00", user_id=3, disposition="ANSWERED",
                       billsec=60, user_price=1.0, provider_price=0.5, uniqueid="b")],
    }
    _, url = db_url_factory(tables)
    result = core("report", "--db", url, "--format", "csv", *PERIOD, "group_by_user=1", "profit_show=1")
    assert result.returncode == 0, result.stderr
    table = {r[1]: dict(zip(["id", "originator"], r[:2], strict=True)) | {"profit": r[-3]}
             for r in csv.reader(io.StringIO(result.stdout)) if r[0] not in ("originator_id", "Total")}
    assert "'=HYPERLINK(\"http://x\")" in table
    assert "'@SUM(A1)" in table
    assert table["'=HYPERLINK(\"http://x\")"]["profit"] == "-2"  # a negative number stays a number


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_table_format_for_a_person(small_url, core):
    result = core("report", "--db", small_url, *PERIOD, "group_by_day=1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["Day", "Calls"]
    assert lines[-1].lstrip().startswith("Total")
    assert ":" in lines[-1]  # durations as H:MM:SS


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_output_file_is_written_whole(small_url, tmp_path, core):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "report.csv"
    result = core("report", "--db", small_url, "--format", "csv", "--output", str(target), *PERIOD)
    assert result.returncode == 0 and result.stdout == ""
    assert target.read_text().startswith("originator_id,")
    assert [p.name for p in target.parent.iterdir()] == ["report.csv"]  # no temp file left behind


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("args,named", [
    (["group_by_day=2"], "group_by_day"),
    (["from=yesterday"], "from"),
    ([f"from={TILL}", f"till={FROM}"], "till"),
    (["s_device=-1"], "s_device"),
    (["no_such=1"], "no_such"),
    (["group_by_day"], "name=value"),
    (["hash=abc"], "hash"),
    (["--format", "xlsx"], "format"),
    (["--timezone", "Mars/Base"], "timezone"),
])
def test_invalid_input_exits_2_with_one_line(small_url, args, named, core):
    line = one_line_error(core("report", "--db", small_url, *args), 2)
    assert named in line


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("args,text", [
    (["--user", "nobody"], "User was not found"),
    (["--user", "jsmith1"], "Access Denied"),
    (["--user", "resplain"], "Access Denied"),
    (["s_provider=4242"], "Provider was not found"),
    (["s_terminator_id=4242"], "Terminator was not found"),
    (["s_device=4242"], "Device was not found"),
    (["s_originator_id=4242"], "User was not found"),
    (["a_currency=XYZ"], "Currency was not found"),
])
def test_source_failures_exit_3_with_one_line(small_url, args, text, core):
    line = one_line_error(core("report", "--db", small_url, *PERIOD, *args), 3)
    assert text in line


def test_unreachable_database_exits_3_and_never_shows_the_password(tmp_path, core):
    line = one_line_error(core("report", "--db", f"sqlite:///{tmp_path}/absent.sqlite"), 3)
    assert "does not exist" in line
    line = one_line_error(core("report", "--db", "mysql+pymysql://reports:s3cr3t-pw@127.0.0.1:1/mor"), 3)
    assert "s3cr3t-pw" not in line and "***" in line


@pytest.mark.parametrize("engine_kind", ["mariadb"])
def test_password_comes_from_the_environment(db_url_factory, core):
    """A --db URL without a password takes $MOR_DB_PASSWORD: secrets stay off the command line."""
    _, url = db_url_factory(TABLES)
    parsed = make_url(url)
    bare = URL.create(parsed.drivername, username=parsed.username, host=parsed.host,
                      port=parsed.port, database=parsed.database,
                      query=parsed.query).render_as_string(hide_password=False)
    assert parsed.password and parsed.password not in bare
    assert core("report", "--db", bare, *PERIOD).returncode == 3  # no password: refused
    result = core("report", "--db", bare, "--format", "json", *PERIOD,
                  env={"MOR_DB_PASSWORD": parsed.password})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["total_calls"] == 27  # the fixture's counted records


# --- smoke tests: `python -m core` as a real process ------------------------------------------

def test_process_help_lists_every_command():
    result = core_process("--help")
    assert result.returncode == 0, result.stderr
    for command in ("report", "demo", "serve", "sync"):
        assert f"    {command} " in result.stdout


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_process_report_and_its_exit_codes(small_url):
    result = core_process("report", "--db", small_url, "--format", "csv", *PERIOD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("originator_id,")
    assert result.stdout.splitlines()[-1].startswith("Total,,,,,,27,")  # the fixture's 27 records
    line = one_line_error(core_process("report", "--db", small_url, "group_by_day=2"), 2)
    assert "group_by_day" in line
    line = one_line_error(core_process("report", "--db", small_url, "--user", "nobody"), 3)
    assert "User was not found" in line
