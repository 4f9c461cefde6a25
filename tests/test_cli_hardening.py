"""The command line refuses hostile input with one line and the right exit code.

Every case here once ended differently: an empty value meaning a default, a traceback-free
but wrong exit 1 ("unexpected …"), a file replaced that should have been kept, escape
sequences from the data reaching the terminal, or a command vanishing from --help.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from core import cli
from core.cli import EXIT_INPUT, EXIT_INTERRUPTED, FORMATS, build_parser, main
from tests.test_cli import PERIOD, ROOT, one_line_error

COMMANDS = ("report", "losses", "demo", "serve", "sync", "saved", "alerts")


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the command (exit 1) if it touches the demo database: bad input never builds one."""
    def boom(*_args, **_kwargs):
        raise AssertionError("the demo database was built")
    monkeypatch.setattr("core.demo.ensure_demo", boom)
    monkeypatch.setattr("core.demo.build_demo", boom)


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def value_options() -> list[tuple[str, str]]:
    """(command, option) for every option of every command that takes a value."""
    return [(name, action.option_strings[-1]) for name, parser in subparsers().items()
            for action in parser._actions if action.option_strings and action.nargs != 0]


# --- one module, loud when broken ------------------------------------------------------------

def test_every_command_is_listed_even_with_a_broken_module(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "core.server", None)
    monkeypatch.setitem(sys.modules, "core.sync", None)
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    listed = re.findall(r"^    (\w+) ", capsys.readouterr().out, re.MULTILINE)
    assert listed == list(COMMANDS)


@pytest.mark.parametrize("command, module", [("serve", "core.server"), ("sync", "core.sync"),
                                             ("demo", "core.demo"), ("report", "core.sources.db")])
def test_a_broken_module_fails_its_command_loudly_even_on_help(cli_run, monkeypatch, command, module):
    monkeypatch.setitem(sys.modules, module, None)  # the next import of it raises ImportError
    line = one_line_error(cli_run(command, "--help"), 1)
    assert module in line and "broken" in line


def test_a_module_with_a_syntax_error_fails_loudly(cli_run, monkeypatch):
    real = importlib.import_module

    def import_module(name, package=None):
        if name == "core.server":
            raise SyntaxError("invalid syntax (server.py, line 12)")
        return real(name, package)
    monkeypatch.setattr(importlib, "import_module", import_module)
    line = one_line_error(cli_run("serve", "--port", "0"), 1)
    assert "core.server" in line and "SyntaxError" in line


def test_error_hints_name_the_right_help():
    with pytest.raises(cli.InputError, match=r"\(see `python -m core --help`\)$"):
        build_parser().parse_args(["nosuchcommand"])
    with pytest.raises(cli.InputError, match=r"\(see `python -m core report --help`\)$"):
        build_parser().parse_args(["report", "--nosuchoption"])


def test_format_choices_come_from_the_exporters():
    from core.exports import EXPORTERS
    report = subparsers()["report"]
    choices = next(a.choices for a in report._actions if "--format" in a.option_strings)
    assert list(choices) == ["table", *EXPORTERS] == list(FORMATS)
    assert "xml" in choices


def test_readme_lists_every_option_and_format():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    for command, parser in subparsers().items():
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in section, (command, option)
    assert "--format " + "|".join(FORMATS) in section


# --- empty values are errors, never defaults ------------------------------------------------

@pytest.mark.parametrize("command, option", value_options())
@pytest.mark.parametrize("value", ["", "   "])
def test_every_option_refuses_an_empty_value(cli_run, nothing_built, command, option, value):
    line = one_line_error(cli_run(command, option, value), EXIT_INPUT)
    assert f"argument {option}: an empty value is not accepted" in line


def test_the_option_walk_covers_every_command():
    assert {command for command, _ in value_options()} == set(COMMANDS)
    assert ("report", "--user") in value_options() and ("report", "--db") in value_options()


def test_an_empty_parameter_is_refused(cli_run, nothing_built):
    assert "is not name=value" in one_line_error(cli_run("report", ""), EXIT_INPUT)
    assert "no parameter name" in one_line_error(cli_run("report", "=1"), EXIT_INPUT)


def test_empty_api_secret_from_the_environment_is_refused(cli_run):
    line = one_line_error(cli_run("report", "--api", "http://127.0.0.1:9/billing",
                                  env={"MOR_API_SECRET": " "}), EXIT_INPUT)
    assert "MOR_API_SECRET" in line


# --- numbers: ASCII digits, in range ------------------------------------------------------

NUMBERS = [("demo", "--calls"), ("demo", "--days"), ("demo", "--seed"), ("serve", "--port"),
           ("serve", "--threads"), ("serve", "--max-rows"), ("serve", "--connection-limit"),
           ("serve", "--channel-timeout"), ("sync", "--batch"), ("report", "--timeout")]


@pytest.mark.parametrize("command, option", NUMBERS)
@pytest.mark.parametrize("value", ["١٢", "-1", "nan", "inf", "1e3", "0x10", "1_000", " 5",
                                   "99999999999999999999999", "12abc"])
def test_numbers_are_ascii_digits_in_range(cli_run, nothing_built, command, option, value):
    line = one_line_error(cli_run(command, option, value), EXIT_INPUT)
    assert f"argument {option}: " in line and " is not " in line


@pytest.mark.parametrize("command, option, too_big, limit", [
    ("demo", "--calls", "50000001", "50,000,000"),
    ("demo", "--days", "3661", "3660"),
    ("demo", "--seed", "9223372036854775808", "9223372036854775807"),
    ("serve", "--port", "65536", "65535"),
    ("serve", "--threads", "257", "256"),
    ("sync", "--batch", "2000001", "2,000,000"),
    ("report", "--timeout", "3600.5", "3600"),
])
def test_numbers_have_an_upper_bound_that_is_said(cli_run, nothing_built, command, option,
                                                  too_big, limit):
    line = one_line_error(cli_run(command, option, too_big), EXIT_INPUT)
    assert option in line and limit in line


@pytest.mark.parametrize("value", ["0", "-0.5", "nan", "inf", "1e309"])
def test_timeout_is_finite_and_positive(cli_run, value):
    line = one_line_error(cli_run("report", "--api", "http://127.0.0.1:9/", "--timeout", value),
                          EXIT_INPUT)
    assert "--timeout" in line


# --- the demo's own errors ------------------------------------------------------------------

def test_demo_input_and_source_errors_are_2_or_3(cli_run, tmp_path):
    not_a_database = tmp_path / "notes.sqlite"
    not_a_database.write_text("my notes\n")
    assert "--db" in one_line_error(cli_run("demo", "--db", "nonsense"), 2)
    assert "--db" in one_line_error(cli_run("demo", "--db", "postgresql://u@h/mor"), 2)
    assert "--db" in one_line_error(cli_run("demo", "--db", f"sqlite:///{not_a_database}",
                                            "--calls", "10"), 2)
    assert not_a_database.read_text() == "my notes\n"
    assert "--db" in one_line_error(cli_run("demo", "--db", f"sqlite:///{tmp_path}", "--calls", "10"), 2)
    assert "--calls" in one_line_error(cli_run("demo", "--calls", "-1"), 2)
    unreachable = cli_run("demo", "--db", "mysql+pymysql://u@127.0.0.1:1/mor", "--calls", "10")
    assert unreachable.returncode == 3 and "Traceback" not in unreachable.stderr


def test_demo_over_an_existing_demo_needs_replace(cli_run, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert cli_run("demo", "--db", url, "--calls", "10").returncode == 0
    again = cli_run("demo", "--db", url, "--calls", "10")
    assert again.returncode == 2 and again.stderr.strip().splitlines()[-1].startswith("error: --db")
    assert cli_run("demo", "--db", url, "--calls", "10", "--replace").returncode == 0


def test_demo_into_an_unwritable_place_is_one_error_line(cli_run):
    result = cli_run("demo", "--db", "sqlite:////proc/demo.sqlite", "--calls", "10")
    assert result.returncode in (2, 3) and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0]


# --- URLs, hosts and paths ------------------------------------------------------------------

@pytest.mark.parametrize("base", ["ftp://mor.example.com/billing", "http://", "mor.example.com",
                                  "http://mor.example.com:99999/billing", "http://[::1",
                                  "http://mor.example.com:0/", "https://bad host/billing",
                                  "https://mor.example.com/billing?u=admin",
                                  "https://mor.example.com/billing#x"])
def test_api_must_be_an_http_address_with_a_host(cli_run, base):
    assert "argument --api:" in one_line_error(cli_run("report", "--api", base), EXIT_INPUT)


@pytest.mark.parametrize("args, named", [
    (["--db", "sqlite:///x.sqlite", "--api", "http://127.0.0.1:9/"], "--db and --api"),
    (["--secret-file", "/etc/hostname"], "--secret-file"),
    (["--timeout", "5"], "--timeout"),
    (["--get"], "--get"),
    (["--api", "https://127.0.0.1:9/", "--ca-bundle", "/nonexistent/ca.pem"], "--ca-bundle"),
])
def test_api_options_need_the_api_and_one_source(cli_run, nothing_built, args, named):
    assert named in one_line_error(cli_run("report", *args), EXIT_INPUT)


@pytest.mark.parametrize("content, problem", [(b"", "is empty"), (b" \n", "is empty"),
                                              (b"k" * 5000, "larger than a secret key"),
                                              (b"\xff\xfe", "not UTF-8")])
def test_secret_file_must_hold_a_secret(cli_run, tmp_path, content, problem):
    secret = tmp_path / "secret"
    secret.write_bytes(content)
    line = one_line_error(cli_run("report", "--api", "http://127.0.0.1:9/", "--secret-file",
                                  str(secret)), EXIT_INPUT)
    assert line.startswith("error: --secret-file:") and problem in line
    line = one_line_error(cli_run("report", "--api", "http://127.0.0.1:9/", "--secret-file",
                                  str(tmp_path)), EXIT_INPUT)
    assert "Is a directory" in line


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("value", ["999.1.1.1", "bad host", "a..b", "-", "x" * 300,
                                   "no-such-host.invalid"])
def test_serve_host_must_be_an_address_here(cli_run, small_url, value):
    line = one_line_error(cli_run("serve", "--db", small_url, "--port", "0", "--host", value),
                          EXIT_INPUT)
    assert "--host" in line


@pytest.mark.parametrize("value", ["/a/../b", "/..", "http://x/billing", "/a?b", "/a#b", "/a//b",
                                   "/bil ling", "//evil.example.com/x/.."])
def test_serve_prefix_is_a_plain_path(cli_run, nothing_built, value):
    line = one_line_error(cli_run("serve", "--prefix", value), EXIT_INPUT)
    assert "argument --prefix:" in line and "is not a URL path" in line


class FakeServer:
    effective_host, effective_port = "127.0.0.1", 8080

    def __init__(self, run=None):
        self._run, self.closed = run, False

    def run(self):
        if self._run:
            self._run()

    def close(self):
        self.closed = True


@pytest.mark.parametrize("engine_kind", ["sqlite"])
@pytest.mark.parametrize("value, path", [("billing/", "/billing"), ("/", ""), ("/a/b.c~d", "/a/b.c~d")])
def test_serve_prefix_accepted_forms(cli_run, monkeypatch, small_url, value, path):
    monkeypatch.setattr("core.server.create_server", lambda *a, **k: FakeServer())
    result = cli_run("serve", "--db", small_url, "--prefix", value)
    assert result.returncode == 0, result.stderr
    assert f"http://127.0.0.1:8080{path}/api/aggregate_get from" in result.stderr


@pytest.mark.parametrize("url", ["nonsense", "postgresql://u@h/mor", "mysql+nodriver://u@h/mor"])
@pytest.mark.parametrize("command, option", [("report", "--db"), ("serve", "--db"),
                                             ("sync", "--from"), ("sync", "--to")])
def test_database_urls_are_checked_and_never_echoed(cli_run, nothing_built, url, command, option):
    line = one_line_error(cli_run(command, option, url), EXIT_INPUT)
    assert f"argument {option}:" in line
    assert "mysql+nodriver" not in line or "no driver 'mysql+nodriver'" in line
    line = one_line_error(cli_run(command, option, "mysql+pymysql://u:s3cr3t@h:99999x/mor"), EXIT_INPUT)
    assert "s3cr3t" not in line


# --- --output --------------------------------------------------------------------------

@pytest.fixture
def report_to(cli_run, small_url):
    def run(target, *more):
        return cli_run("report", "--db", small_url, "--format", "csv", "--output", str(target),
                       *PERIOD, *more)
    return run


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_output_refuses_what_it_must_not_replace(report_to, small_url, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert "is a folder" in one_line_error(report_to(folder), 2)
    kept = tmp_path / "kept.csv"
    kept.write_text("keep me\n")
    kept.chmod(0o444)
    assert "is read-only" in one_line_error(report_to(kept), 2)
    assert kept.read_text() == "keep me\n"
    assert "is read-only" in one_line_error(report_to("/proc/version"), 2)
    assert "not a regular file" in one_line_error(report_to("/dev/null"), 2)
    assert "does not exist" in one_line_error(report_to(tmp_path / "missing" / "r.csv"), 2)
    assert "cannot write" in one_line_error(report_to("/proc/self/report.csv"), 2)
    database = Path(small_url.split("sqlite:///", 1)[1])
    before = database.read_bytes()
    assert "is the database" in one_line_error(report_to(database), 2)
    assert database.read_bytes() == before
    assert not list(tmp_path.rglob("*.part"))  # no temp file left behind


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_output_mode_follows_the_umask_or_the_existing_file(report_to, tmp_path):
    fresh, existing = tmp_path / "fresh.csv", tmp_path / "existing.csv"
    existing.write_text("old\n")
    existing.chmod(0o604)
    old_mask = os.umask(0o027)
    try:
        assert report_to(fresh).returncode == 0
        assert report_to(existing).returncode == 0
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640       # 0666 less the umask 027
    assert stat.S_IMODE(existing.stat().st_mode) == 0o604    # as it was
    assert existing.read_text().startswith("originator_id,")


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_output_through_a_symlink_writes_its_target(report_to, tmp_path):
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "2024-03.csv"
    target.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    assert report_to(link).returncode == 0
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text().startswith("originator_id,")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "gone" / "x.csv")
    line = one_line_error(report_to(dangling), 2)
    assert f"the folder {tmp_path / 'gone'} does not exist" in line
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    assert "cannot be used" in one_line_error(report_to(loop), 2)


# --- the table is safe for a terminal ---------------------------------------------------------

@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_table_replaces_control_and_bidi_characters(cli_run, db_url_factory):
    name = "Evil\x1b[31mRed\u202eesrever\x9b2J\u2066x\x07\x7f"
    tables = {
        "users": [dict(id=0, username="admin", usertype="admin"),
                  dict(id=2, username="evil", first_name=name, last_name="", usertype="user")],
        "currencies": [dict(id=1, name="USD", exchange_rate=1)],
        "calls": [dict(id=1, calldate="2024-03-15 10:00:00", user_id=2, disposition="ANSWERED",
                       billsec=60, user_price=1.0, provider_price=0.5, uniqueid="a")],
    }
    _, url = db_url_factory(tables)
    result = cli_run("report", "--db", url, *PERIOD, "group_by_user=1")
    assert result.returncode == 0, result.stderr
    assert "Evil\ufffd[31mRed\ufffdesrever\ufffd2J\ufffdx\ufffd\ufffd" in result.stdout
    for char in "\x1b\u202e\x9b\u2066\x07\x7f":
        assert char not in result.stdout
    csv_text = cli_run("report", "--db", url, "--format", "csv", *PERIOD, "group_by_user=1").stdout
    assert name in csv_text  # an export keeps the data as it is


def test_error_lines_carry_no_control_characters(cli_run, nothing_built):
    result = cli_run("report", "--timezone", "Evil\x1b]0;owned\x07\nsecond line")
    line = one_line_error(result, EXIT_INPUT)
    assert "\x1b" not in line and "\x07" not in line and "Evil\ufffd]0;owned" in line


# --- Ctrl-C -----------------------------------------------------------------------------

def interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_ctrl_c_exits_130_in_every_command(cli_run, monkeypatch, small_url, tmp_path):
    monkeypatch.setattr("core.sources.db.DatabaseSource.run", interrupt)
    monkeypatch.setattr("core.demo.build_demo", interrupt)
    monkeypatch.setattr("core.sync.sync", interrupt)
    server = FakeServer(run=interrupt)
    monkeypatch.setattr("core.server.create_server", lambda *a, **k: server)
    runs = {
        "report": cli_run("report", "--db", small_url, *PERIOD),
        "demo": cli_run("demo", "--db", f"sqlite:///{tmp_path / 'd.sqlite'}"),
        "serve": cli_run("serve", "--db", small_url),
        "sync": cli_run("sync", "--from", small_url, "--to", f"duckdb:///{tmp_path / 'c.duckdb'}"),
    }
    for command, result in runs.items():
        assert (result.returncode, result.stdout) == (EXIT_INTERRUPTED, ""), command
        assert result.stderr.splitlines()[-1] == "interrupted", command
    assert server.closed


def test_sync_leaves_its_defaults_to_core_sync(cli_run, monkeypatch, tmp_path):
    seen = {}

    class Result:
        def describe(self):
            return "copied"

    def fake_sync(source, target, **options):
        seen.update(options, source=source, target=target)
        return Result()
    monkeypatch.setattr("core.sync.sync", fake_sync)
    source = f"sqlite:///{tmp_path / 'mor.sqlite'}"
    result = cli_run("sync", "--from", source, "--to", "duckdb:///c.duckdb", "--quiet")
    assert (result.returncode, result.stdout) == (0, "copied\n")
    assert seen == dict(source=source, target="duckdb:///c.duckdb", full=False, show_progress=False)
    assert cli_run("sync", "--from", source, "--to", "duckdb:///c.duckdb", "--batch", "500").returncode == 0
    assert seen["batch_rows"] == 500 and seen["show_progress"] is True
    line = one_line_error(cli_run("sync", "--from", "mysql+pymysql://u:pw@h/mor",
                                  "--to", "duckdb:///c.duckdb"), 2)
    assert "MOR_DB_PASSWORD" in line and ":pw@" not in line



# --- bytes that are not UTF-8 ------------------------------------------------------------

@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_values_that_are_not_utf8_are_refused_except_file_names(cli_run, small_url, tmp_path):
    not_utf8 = b"\xff".decode("utf-8", "surrogateescape")  # how Python hands such argv bytes over
    line = one_line_error(cli_run("report", "--db", small_url, "--user", not_utf8), EXIT_INPUT)
    assert "--user" in line and "not UTF-8" in line
    line = one_line_error(cli_run("report", "--db", small_url, f"a_dst={not_utf8}"), EXIT_INPUT)
    assert "a_dst=" in line and "not UTF-8" in line
    target = tmp_path / f"report{not_utf8}.csv"  # a file name may hold any bytes
    result = cli_run("report", "--db", small_url, "--format", "csv", "--output", str(target), *PERIOD)
    assert result.returncode == 0, result.stderr
    assert os.listdir(os.fsencode(tmp_path)).count(b"report\xff.csv") == 1


@pytest.mark.parametrize("engine_kind", ["sqlite"])
def test_a_closed_standard_output_is_one_line(cli_run, monkeypatch, small_url):
    monkeypatch.setattr(sys, "stdout", None)  # Python's sys.stdout when started with >&-
    result = cli_run("report", "--db", small_url, "--format", "csv", *PERIOD)
    assert result.returncode == 1
    assert result.stderr == "error: standard output is closed; give --output FILE\n"
