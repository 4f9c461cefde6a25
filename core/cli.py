"""Command line: `python -m core report|losses|demo|serve|sync|saved|alerts …`.

Every command is declared here. A command's own modules are imported as soon as it is
chosen, before even its --help, so a broken module is one clear error, never a command that
silently vanishes; flask, waitress and duckdb are imported only by the commands that use them.

Exit codes: 0 success; 2 invalid input (one line naming the option or parameter and what
is accepted); 3 the source failed (database or server unreachable, access denied, a row not
found); 130 interrupted (Ctrl-C); 1 anything unexpected. Never a traceback: `--debug` shows
one, and the report's SQL, for whoever asks.
"""
from __future__ import annotations

import argparse
import importlib
import ipaddress
import logging
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ReportError, SourceUnavailable
from .exports import EXPORTERS, export_bytes, export_chunks
from .params import COMPARES, MAX_INT, ParamError, parse_params
from .settings import ANSWERED_RULES, SettingsError, settings_from

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_SOURCE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

PROG = "python -m core"
LOSS_BY = ("dst_group_terminator", "destination", "originator", "provider")
FORMATS = ("table", *EXPORTERS)
# The demo's own ceiling (core.demo lowers it on a machine with less memory): every record
# is held in memory while it is generated.
DEMO_MAX_CALLS = 50_000_000
SYNC_MAX_BATCH = 2_000_000
MAX_TIMEOUT = 3600.0
SECRET_MAX_BYTES = 4096


class InputError(Exception):
    """Bad command-line input; exit code 2."""


class OutputClosed(Exception):
    """Standard output is closed (its reader went away, or the command started with >&-);
    exit code 1."""


class BrokenModule(Exception):
    """A module of this program cannot be imported: the installation is broken; exit code 1."""


def load(module: str):
    """core.<module>, imported now; any failure is one BrokenModule line, never a skipped command."""
    try:
        return importlib.import_module(f"core.{module}")
    except Exception as exc:  # SyntaxError, ImportError, or whatever its top level raised
        raise BrokenModule(f"core.{module} cannot be imported ({exc.__class__.__name__}: {exc}); "
                           "the installation is broken (rerun with --debug for details)") from exc


# --- one line for a person: no escape sequence, bidi override or line break from the data ---

# C0 and C1 controls (ESC, CSI, DEL, line breaks included), bidi embeddings, overrides,
# isolates and marks, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` with every character that would steer a terminal replaced by U+FFFD."""
    return _UNSAFE.sub("\ufffd", text)


# --- option values: every one checked when parsed, with one line naming the option --------

def _shown(text: str) -> str:
    return f"'{text}'" if len(text) <= 40 else f"'{text[:40]}…'"


def path_value(text: str) -> str:
    """A file name: not empty, but any bytes the system allows (no UTF-8 check)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value is not accepted")
    return text


def is_text(text: str) -> bool:
    """Encodable as UTF-8: argv bytes that are not UTF-8 arrive as lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_value(text: str) -> str:
    """Any string option: an empty or blank value is an error, never a silent default."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value is not accepted")
    if not is_text(text):
        raise argparse.ArgumentTypeError("the value is not UTF-8 text")
    return text


def whole(low: int, high: int, what: str):
    """A whole number low..high written in ASCII digits (int() would also take '١٢٣')."""
    def parse(text: str) -> int:
        text_value(text)
        if not re.fullmatch(r"[0-9]{1,19}", text):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not {what}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not {what}")
        return value
    parse.__name__ = "whole number"
    return parse


def percentage(text: str) -> float:
    """A finite percentage, negative allowed (e.g. 10, -5 or 2.5)."""
    text_value(text)
    if not re.fullmatch(r"[+-]?([0-9]{1,6}(\.[0-9]{1,6})?|\.[0-9]{1,6})", text):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a percentage (e.g. 10, -5 or 2.5)")
    return float(text)


def seconds(text: str) -> float:
    """A finite number of seconds above 0 and at most MAX_TIMEOUT (never nan or inf)."""
    text_value(text)
    what = f"a number of seconds above 0 and at most {MAX_TIMEOUT:g} (e.g. 60 or 2.5)"
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?|\.[0-9]{1,6}", text):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not {what}")
    value = float(text)
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def is_host(text: str) -> bool:
    """An IP address or a host name (labels of letters, digits, - and _, at most 253 long)."""
    try:
        ipaddress.ip_address(text[1:-1] if text.startswith("[") and text.endswith("]") else text)
        return True
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    labels = name.split(".")
    # 999.1.1.1 is neither an address nor a name: a top-level domain is never all digits.
    return (0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
            and not labels[-1].isdigit())


def host(text: str) -> str:
    text_value(text)
    if not is_host(text):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not an address to listen on; use an IP "
                                         "address (127.0.0.1, 0.0.0.0, ::1) or a host name")
    return text[1:-1] if text.startswith("[") else text


def api_base(text: str) -> str:
    """An http(s) address with a host, a valid port and no query or fragment."""
    text_value(text)
    example = "give the MOR server's web address, e.g. https://mor.example.com/billing"
    try:
        parts = urlsplit(text.strip())
        port = parts.port  # ValueError when out of range or not a number
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a web address; {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not is_host(parts.hostname):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not an http(s) address with a host; "
                                         + example)
    if port == 0:
        raise argparse.ArgumentTypeError(f"{_shown(text)}: port 0 is not a TCP port (1-65535)")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise argparse.ArgumentTypeError(f"{_shown(text)} has a query or fragment; {example}")
    return text.strip()


_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def prefix(text: str) -> str:
    """A plain URL path such as /billing ('' or / for none): no scheme, query, fragment or '..'."""
    text_value(text)
    if text == "/":
        return ""
    segments = text.strip("/").split("/")
    if (len(text) > 200 or any(not _SEGMENT.fullmatch(s) or s in (".", "..") for s in segments)):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a URL path; use e.g. /billing (letters, digits and . _ ~ - "
            "between slashes; no scheme, query, fragment or '..')")
    return "/" + "/".join(segments)


DATABASES = ("sqlite", "duckdb", "mysql", "mariadb", "chdb", "clickhousedb")
_URL_EXAMPLES = ("use e.g. sqlite:///data/demo.sqlite, mysql+pymysql://reader@host/mor, "
                 "duckdb:///data/mor.duckdb, chdb:///data/mor.chdb or clickhousedb://user@host:8123/mor")


def database_url(text: str) -> str:
    """A SQLAlchemy URL of an engine we read, with its driver installed. The text itself is
    never echoed: it may hold a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    text_value(text)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise argparse.ArgumentTypeError(f"not a database URL; {_URL_EXAMPLES}") from None
    if url.get_backend_name() not in DATABASES:
        raise argparse.ArgumentTypeError(f"{url.get_backend_name()} databases are not supported; "
                                         + _URL_EXAMPLES)
    try:
        url.get_dialect()
    except (NoSuchModuleError, ImportError):
        raise argparse.ArgumentTypeError(f"no driver '{url.drivername}' is installed; "
                                         + _URL_EXAMPLES) from None
    return text


# --- the parser ------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), no abbreviated options, a non-empty check on
    every string option, and the chosen command's modules imported before its --help."""

    def __init__(self, *args, modules: tuple[str, ...] = (), **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.modules = modules

    def _add_action(self, action):
        if action.option_strings and action.nargs != 0 and action.type is None:
            action.type = text_value
        return super()._add_action(action)

    def parse_known_args(self, args=None, namespace=None):
        for module in self.modules:
            load(module)
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown argument is reported with its command's help."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            commands = getattr(self, "commands", {})
            commands.get(getattr(parsed, "command", None), self).error(
                "unrecognized arguments: " + " ".join(extras))
        return parsed

    def error(self, message: str):  # one line, not argparse's usage block
        raise InputError(f"{message} (see `{self.prog} --help`)")


def _switch(name: str, what: str) -> dict:
    return dict(choices=("0", "1"), default=None,
                help=f"1: accountants may see {what}; 0: they may not (else ${name}, else 0)")


def shared_options() -> dict[str, argparse.ArgumentParser]:
    """The options several commands share, declared once (argparse parent parsers)."""
    database = Parser(add_help=False)
    database.add_argument("--db", metavar="URL", type=database_url,
                          help="SQLAlchemy URL of a MOR database; the password comes from "
                               "$MOR_DB_PASSWORD (default: the demo database, built when missing)")

    settings = Parser(add_help=False)
    settings.add_argument("--timezone", metavar="TZ",
                          help="the zone of MOR's stored call dates, an IANA name "
                               "(else $MOR_TIMEZONE, else UTC)")
    settings.add_argument("--answered-rule", choices=ANSWERED_RULES,
                          help="what counts as answered (else $MOR_ANSWERED_RULE, else disposition)")
    settings.add_argument("--accountant-stats", **_switch("MOR_ACCOUNTANT_STATS", "statistics"))
    settings.add_argument("--accountant-financial",
                          **_switch("MOR_ACCOUNTANT_FINANCIAL", "money columns"))

    remote = Parser(add_help=False)
    remote.add_argument("--api", metavar="BASE", type=api_base,
                        help="a MOR server instead of a database, e.g. https://host/billing")
    remote.add_argument("--secret-file", metavar="FILE", type=path_value,
                        help="file holding the API secret key (else $MOR_API_SECRET)")
    remote.add_argument("--get", action="store_true", help="use GET (MOR needs 'Allow GET API')")
    remote.add_argument("--ca-bundle", metavar="FILE", type=path_value,
                        help="CA bundle to verify the MOR server's TLS certificate")
    remote.add_argument("--timeout", type=seconds,
                        metavar="SECONDS",
                        help=f"API read timeout in seconds, above 0 and at most {MAX_TIMEOUT:g} "
                             "(default 60)")
    remote.add_argument("--user", metavar="NAME", help="acting MOR username (default admin)")

    output = Parser(add_help=False)
    output.add_argument("--format", choices=FORMATS, default="table",
                        help="table for a person (default) or an export: " + ", ".join(EXPORTERS)
                             + " (xlsx needs --output)")
    output.add_argument("--output", metavar="FILE", type=path_value,
                        help="write to this file, whole or not at all (default: standard output)")
    return {"database": database, "settings": settings, "remote": remote, "output": output}


def report_settings(args):
    """Settings from the command's options, else the environment, else MOR's defaults."""
    return settings_from(env=os.environ, timezone=args.timezone, answered_rule=args.answered_rule,
                         accountant_stats=args.accountant_stats,
                         accountant_financial=args.accountant_financial)


def demo_fallback(args) -> str:
    """--db, or the demo database (built when missing) when --db is absent."""
    if args.db is not None:
        return args.db
    from .demo import DemoExists, ensure_demo
    try:
        return ensure_demo(progress=lambda m: print(m, file=sys.stderr))
    except (DemoExists, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SourceUnavailable(f"the demo database cannot be built: {reason}",
                                hint="give a MOR database with --db") from None


# --- report ------------------------------------------------------------------------------

def _pairs(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        if not is_text(item):
            raise InputError(f"{item.encode('utf-8', 'backslashreplace').decode()} is not UTF-8 "
                             "text; parameters are given as e.g. a_dst=370%")
        if "=" not in item:
            raise InputError(f"'{item}' is not name=value; parameters are given as e.g. "
                             "group_by_day=1 a_currency=EUR")
        name, value = item.split("=", 1)
        if not name.strip():
            raise InputError(f"'{item}' has no parameter name; parameters are given as e.g. "
                             "group_by_day=1 a_currency=EUR")
        pairs.append((name.strip(), value))
    return pairs


def read_secret(args) -> str | None:
    """The API secret from --secret-file or $MOR_API_SECRET; never from an argument."""
    if args.secret_file is None:
        secret = os.environ.get("MOR_API_SECRET")
        if secret is not None and not secret.strip():
            raise InputError("MOR_API_SECRET is set but empty; set the API secret key or unset it")
        return secret
    name = args.secret_file
    try:
        with open(name, "rb") as handle:  # a pipe such as <(pass show mor) is fine
            data = handle.read(SECRET_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"--secret-file: cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > SECRET_MAX_BYTES:
        raise InputError(f"--secret-file: {name} is larger than a secret key "
                         f"({SECRET_MAX_BYTES} bytes at most)")
    try:
        secret = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError(f"--secret-file: {name} is not UTF-8 text") from None
    if not secret:
        raise InputError(f"--secret-file: {name} is empty")
    return secret


API_ONLY = (("secret_file", "--secret-file"), ("get", "--get"), ("ca_bundle", "--ca-bundle"),
            ("timeout", "--timeout"))


def make_source(args):
    """The report's source: a MOR server (--api), a database (--db), else the demo database."""
    if args.api is None:
        for dest, option in API_ONLY:
            if getattr(args, dest) not in (None, False):
                raise InputError(f"{option} applies to a MOR server's API: give --api too")
        from .sources.db import DatabaseSource
        return DatabaseSource(demo_fallback(args))
    if args.db is not None:
        raise InputError("--db and --api name two sources; give one")
    if args.ca_bundle is not None and not os.path.isfile(args.ca_bundle):
        raise InputError(f"--ca-bundle: {args.ca_bundle} is not a file; give a PEM file of the CA "
                         "that signed the MOR server's certificate")
    from .sources.mor_api import MorApiSource
    return MorApiSource(args.api, secret=read_secret(args), use_get=args.get,
                        verify=args.ca_bundle or True,
                        timeout=60.0 if args.timeout is None else args.timeout)


def table_text(report) -> str:
    """The report as a table for a person, with nothing in it that steers the terminal."""
    from .formatting import display_frame

    frame = display_frame(report)
    frame = frame.rename(columns=lambda c: terminal_safe(str(c)))
    for column in frame.columns:  # object or string dtype alike
        frame[column] = frame[column].map(lambda v: terminal_safe(v) if isinstance(v, str) else v)
    return frame.to_string(index=False) + "\n"


def command_params(args, settings):
    """The report's Params from name=value pairs, --user and --compare."""
    pairs = _pairs(args.params)
    given_u = [v for k, v in pairs if k == "u"]
    if args.user and given_u and given_u[0] != args.user:
        raise InputError(f"--user {args.user} and u={given_u[0]} disagree; give the acting user once")
    if not given_u:
        pairs.append(("u", args.user or "admin"))
    compare = getattr(args, "compare", None)
    if compare is not None:
        given = [v for k, v in pairs if k == "compare"]
        if given and given[0] != compare:
            raise InputError(f"--compare {compare} and compare={given[0]} disagree; give it once")
        if not given:
            pairs.append(("compare", compare))
    return parse_params(pairs, tz=settings.timezone)


def check_format(args) -> None:
    """A binary export (xlsx) goes to a file, never to a terminal or a pipe."""
    if args.format != "table" and EXPORTERS[args.format].binary and args.output in (None, "-"):
        raise InputError(f"--format {args.format} needs --output FILE (a binary file, not text "
                         "for a terminal)")


def write_binary_export(report, fmt: str, output: Path | None) -> None:
    """A binary export (xlsx): built whole (a refusal such as too many rows comes first), then
    written as write_output writes a file."""
    from .xlsx import ExportTooLarge
    try:
        data = export_bytes(report, fmt)
    except ExportTooLarge as exc:
        raise InputError(str(exc)) from None
    write_binary_output(data, output)


def cmd_report(args) -> int:
    from .compare import run_report

    settings = report_settings(args)
    params = command_params(args, settings)
    check_format(args)
    output = check_output(args.output, args)
    source = make_source(args)
    report = run_report(source, params, settings)
    for note in report.notes:   # e.g. an analytics copy whose last sync did not finish
        print(f"warning: {note}", file=sys.stderr)
    if args.format == "table" and report.empty:
        print(terminal_safe(f"No calls match this report in {report.source} for the period "
                            f"{params.from_}–{params.till}; widen the period or relax the "
                            "filters."), file=sys.stderr)
    write_report(report, args.format, output)
    return EXIT_OK


def write_report(report, fmt: str, output: Path | None) -> None:
    """The report in `fmt`: a table for a person, else an export (binary ones to a file only)."""
    if fmt == "table":
        write_output(table_text(report), output, for_terminal=True)
    elif EXPORTERS[fmt].binary:
        write_binary_export(report, fmt, output)
    else:
        write_output(export_chunks(report, fmt), output)


def cmd_losses(args) -> int:
    from .losses import LOSS_TITLES, run_losses

    settings = report_settings(args)
    params = command_params(args, settings)
    check_format(args)
    output = check_output(args.output, args)
    source = make_source(args)
    found = run_losses(source, params, settings, by=args.by, margin_below=args.margin_below)
    report = found.report
    for note in report.notes:
        print(f"warning: {note}", file=sys.stderr)
    what = ("losing money" if args.margin_below is None
            else f"with a margin below {args.margin_below:g} %")
    print(terminal_safe(f"{len(report.rows)} rows by {LOSS_TITLES[args.by].lower()} {what}: "
                        f"{found.lost:,.2f} {report.currency} lost over {found.calls:,} calls"),
          file=sys.stderr)
    write_report(report, args.format, output)
    return EXIT_OK


# --- --output: a whole file or nothing, never a surprise ----------------------------------

def _output_error(output: str, problem: str) -> InputError:
    return InputError(f"--output: {output} {problem}")


def check_output(output: str, args=None) -> Path | None:
    """Where --output writes: None for standard output, else the file (a symlink's target).

    Refused with one line: a folder, a device, pipe or socket, a read-only file, a missing
    folder, the database being read. Checked before the report runs, and again when written.
    """
    if output is None or output == "-":
        return None
    target = Path(os.path.realpath(output))  # a symlink is followed: its target is written
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _output_error(output, f"cannot be used: {exc.strerror or exc}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise _output_error(output, "is a folder; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise _output_error(output, "is not a regular file (a device, pipe or socket); "
                                        "use - for standard output")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise _output_error(output, "is read-only; make it writable or choose another file")
        db_file = _database_file(getattr(args, "db", None))
        if db_file is not None and db_file.exists() and db_file.samefile(target):
            raise _output_error(output, "is the database the report reads")
    if not target.parent.is_dir():
        where = "" if target == Path(os.path.abspath(output)) else f" (where {output} points)"
        raise InputError(f"--output: the folder {target.parent} does not exist{where}")
    return target


def _database_file(url: str | None) -> Path | None:
    if not url:
        return None
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    if parsed.get_backend_name() in ("sqlite", "duckdb") and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database)
    return None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_output(text: str | Iterable[str], target: Path | None, *, for_terminal: bool = False) -> None:
    """Standard output, or a file written whole: a temp file renamed into place.

    `text` is the whole text or its pieces (an export's chunks, written as they come, so a
    report of millions of rows never has all its text in memory). A new file gets the mode
    the umask gives (as the shell's > would); a replaced file keeps its mode (and owner,
    where allowed). Exports are UTF-8; a table for a terminal is written in the terminal's
    encoding.
    """
    pieces = [text] if isinstance(text, str) else text
    if target is None:
        if sys.stdout is None:  # started with standard output closed (>&-)
            raise OutputClosed("standard output is closed; give --output FILE")
        try:
            if for_terminal or not hasattr(sys.stdout, "buffer"):
                encoding = sys.stdout.encoding or "utf-8"
                for piece in pieces:
                    sys.stdout.write(piece.encode(encoding, "replace").decode(encoding))
            else:
                sys.stdout.flush()
                for piece in pieces:
                    sys.stdout.buffer.write(piece.encode("utf-8"))
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): nothing more to say on stdout.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise OutputClosed("standard output was closed before the report was written") from None
        return
    def write_text(handle) -> None:
        for piece in pieces:
            handle.write(piece)

    write_whole(target, write_text, binary=False)


def write_binary_output(data: bytes, target: Path | None) -> None:
    """Bytes (an xlsx) into a file, whole or not at all, as write_output writes text."""
    if target is None:
        raise InputError("a binary export needs --output FILE")
    write_whole(target, lambda handle: handle.write(data), binary=True)


def write_whole(target: Path, write: Callable, *, binary: bool) -> None:
    """`write(handle)` into a temp file beside `target`, renamed into place when complete: a
    new file gets the umask's mode (as the shell's > would); a replaced one keeps its mode
    (and owner, where allowed)."""
    check_output(str(target))
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise InputError(f"--output: cannot write in the folder {target.parent}: "
                         f"{exc.strerror or exc}") from None
    try:
        opened = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with opened as handle:
            write(handle)
            handle.flush()
            if existing is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(existing.st_mode))
                try:
                    os.fchown(handle.fileno(), existing.st_uid, existing.st_gid)
                except OSError:
                    pass  # not ours to give away: the file becomes the writer's
            else:
                os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"--output: cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- demo ----------------------------------------------------------------------------------

def cmd_demo(args) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from .demo import DEFAULT_DEMO_PATH, DemoExists, build_demo

    url = args.db if args.db is not None else f"sqlite:///{DEFAULT_DEMO_PATH}"
    try:
        summary = build_demo(url, calls=args.calls, days=args.days, seed=args.seed,
                             replace=args.replace, progress=lambda m: print(m, file=sys.stderr))
    except DemoExists as exc:
        raise InputError(str(exc) if str(exc).startswith("--db") else f"--db: {exc}") from None
    except SQLAlchemyError as exc:
        cause = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        raise SourceUnavailable(f"the demo database could not be written: {cause}",
                                hint="check the URL, that the server runs, and the account's "
                                     "rights") from None
    except OSError as exc:
        raise InputError(f"--db: cannot write the demo database: {exc.strerror or exc}") from None
    print(summary)
    return EXIT_OK


# --- serve ---------------------------------------------------------------------------------

def cmd_serve(args) -> int:
    from .server import create_app, create_server, listening_url, read_only
    from .sources.db import DatabaseSource, open_engine

    settings = report_settings(args)
    source = DatabaseSource(read_only(open_engine(demo_fallback(args))))
    app = create_app(source, settings, args.prefix, max_rows=args.max_rows)
    try:
        server = create_server(app, args.host, args.port, args.threads,
                               connection_limit=args.connection_limit,
                               channel_timeout=args.channel_timeout)
    except OSError as exc:
        raise InputError(f"--host/--port: cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}") from None
    except ValueError:  # waitress: the host name does not resolve
        raise InputError(f"--host: cannot listen on {args.host}: no such address on this "
                         "machine") from None
    print(f"Serving MOR aggregate_get on {listening_url(server, args.prefix)} "
          f"from {source.describe()}", file=sys.stderr, flush=True)
    try:
        server.run()
    finally:
        server.close()
    return EXIT_OK


# --- sync ----------------------------------------------------------------------------------

def cmd_sync(args) -> int:
    from sqlalchemy.engine import make_url

    from .sync import sync

    if make_url(args.source).password is not None:
        raise ParamError("--from", "the URL carries a password, which other users of this "
                                   "machine could read in the process list; leave it out and "
                                   "set MOR_DB_PASSWORD instead")
    batch = {} if args.batch is None else {"batch_rows": args.batch}
    result = sync(args.source, args.target, full=args.full, show_progress=not args.quiet, **batch)
    print(result.describe())
    return EXIT_OK


# --- the commands ----------------------------------------------------------------------------

def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="MOR Aggregates on the command line: reports over "
                                           "Kolmisoft MOR's calls, the demo database, a "
                                           "MOR-compatible API server and the DuckDB analytics copy.",
                    epilog="Exit codes: 0 success, 2 invalid input, 3 the source failed, "
                           "130 interrupted, 1 unexpected.")
    parser.add_argument("--debug", action="store_true", help="log the SQL and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)
    shared = shared_options()
    parser.commands = sub.choices

    report_modules = ("sources.db", "sources.mor_api", "formatting", "compare")
    report = sub.add_parser(
        "report", help="run an aggregate report", modules=report_modules,
        parents=[shared["database"], shared["settings"], shared["remote"], shared["output"]],
        description="Run MOR's aggregate report. Parameters are given as name=value with MOR's "
                    "aggregate_get names, e.g. group_by_day=1 a_currency=EUR profit_show=1.")
    report.add_argument("--compare", choices=COMPARES,
                        help="add the other period's values and the changes: previous (the "
                             "same length just before), week (7 days earlier) or year (a year "
                             "earlier); columns prev_*, delta_*, delta_pct_*")
    report.add_argument("params", nargs="*", metavar="name=value")
    report.set_defaults(func=cmd_report)

    losses = sub.add_parser(
        "losses", help="the groups that lose money, most lost first",
        modules=report_modules + ("losses",),
        parents=[shared["database"], shared["settings"], shared["remote"], shared["output"]],
        description="The report's rows whose profit is below 0 (or whose margin is below "
                    "--margin-below PCT), most money lost first, with the money lost and the "
                    "calls involved. Needs the right to see money (else exit 3). Parameters as "
                    "for report; the grouping comes from --by.")
    losses.add_argument("--margin-below", metavar="PCT", type=percentage,
                        help="list the rows whose margin is below PCT %% instead of those losing money")
    losses.add_argument("--by", choices=LOSS_BY, default=LOSS_BY[0],
                        help="grouping: destination group × terminator (default), destination, "
                             "originator or provider")
    losses.add_argument("params", nargs="*", metavar="name=value")
    losses.set_defaults(func=cmd_losses)

    demo = sub.add_parser("demo", help="build the demo MOR database", modules=("demo",),
                          description="Build a MOR database of generated, realistic calls "
                                      "that end now.")
    demo.add_argument("--db", metavar="URL", type=database_url,
                      help="SQLAlchemy URL to build into (default sqlite:///data/demo.sqlite)")
    demo.add_argument("--calls", metavar="N", default=200_000,
                      type=whole(1, DEMO_MAX_CALLS, f"a number of call records from 1 to {DEMO_MAX_CALLS:,}"),
                      help=f"call records (default 200,000; at most {DEMO_MAX_CALLS:,}, fewer on a "
                           "small machine)")
    demo.add_argument("--days", metavar="D", default=30,
                      type=whole(1, 3660, "a number of days from 1 to 3660"),
                      help="days of calls, ending now (default 30)")
    demo.add_argument("--seed", metavar="S", default=7, type=whole(0, MAX_INT, f"a seed from 0 to {MAX_INT}"),
                      help="random seed: the same seed gives the same calls (default 7)")
    demo.add_argument("--replace", action="store_true", help="replace an existing demo database")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser(
        "serve", help="answer MOR's aggregate_get API over a MOR database", modules=("server",),
        parents=[shared["database"], shared["settings"]],
        description="Answer POST {prefix}/api/aggregate_get as MOR does, over any MOR-schema "
                    "database (read only). GET is answered only when the Allow_GET_API "
                    "confline is 1.")
    serve.add_argument("--host", metavar="ADDRESS", type=host, default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", metavar="PORT", default=8080,
                       type=whole(0, 65535, "a TCP port (0-65535; 0 = any free port)"),
                       help="port (default 8080; 0 = any free port)")
    serve.add_argument("--prefix", metavar="PATH", type=prefix, default="/billing",
                       help="path before /api (default /billing)")
    serve.add_argument("--threads", metavar="N", default=8,
                       type=whole(1, 256, "a number of threads from 1 to 256"),
                       help="requests served at once (default 8)")
    # The server's limits: absent, core.server's own defaults apply.
    serve.add_argument("--max-rows", metavar="N",
                       type=whole(1, 10_000_000, "a number of rows from 1 to 10,000,000"),
                       help="refuse a report of more aggregates than this (default 50,000)")
    serve.add_argument("--connection-limit", metavar="N",
                       type=whole(1, 10_000, "a number of connections from 1 to 10,000"),
                       help="client connections at once (default 4 per thread)")
    serve.add_argument("--channel-timeout", metavar="SECONDS",
                       type=whole(1, 3600, "a number of seconds from 1 to 3600"),
                       help="close a connection idle, sending one request, or not reading its "
                            "answer this long (default 10 s)")
    serve.set_defaults(func=cmd_serve)

    sync = sub.add_parser(
        "sync", help="copy a MOR database into an analytics copy: DuckDB, chDB or a ClickHouse "
                     "server (incremental)",
        modules=("sync",),
        description="Copy MOR's calls (incrementally by id) and lookup tables (in full) into "
                    "a DuckDB file, a chDB directory or a ClickHouse server, on which reports "
                    "run in well under a second. Safe to interrupt and re-run. Passwords come "
                    "from $MOR_DB_PASSWORD (the source) and $MOR_COPY_PASSWORD (a ClickHouse "
                    "server holding the copy); never put them on the command line.")
    sync.add_argument("--from", dest="source", required=True, metavar="URL", type=database_url,
                      help="SQLAlchemy URL of the MOR database, e.g. mysql+pymysql://reader@host/mor")
    sync.add_argument("--to", dest="target", required=True, metavar="URL", type=database_url,
                      help="the copy (created when missing): duckdb:///data/mor.duckdb, "
                           "chdb:///data/mor.chdb or clickhousedb://user@host:8123/mor")
    sync.add_argument("--batch", metavar="ROWS", type=whole(1, SYNC_MAX_BATCH, f"a number of rows from 1 to "
                                                               f"{SYNC_MAX_BATCH:,}"),
                      help="call records per committed batch (default 200,000)")
    sync.add_argument("--full", action="store_true",
                      help="copy all again beside the copy, swapped in when complete (after "
                           "re-rating, or to switch sources)")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.set_defaults(func=cmd_sync)

    from .cli_delivery import add_commands  # saved, alerts: delivery from cron (issue 14)
    add_commands(sub, shared)
    return parser


def _fail(message: str) -> None:
    lines = str(message).splitlines() or [""]
    print(f"error: {terminal_safe(' '.join(line.strip() for line in lines))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (InputError, ParamError, SettingsError) as exc:
        _fail(str(exc))
        return EXIT_INPUT
    except ReportError as exc:
        _fail(exc.full())
        return EXIT_SOURCE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # BrokenModule and the unexpected: one line, never a traceback
        if debug:
            raise
        if isinstance(exc, (BrokenModule, OutputClosed)):
            _fail(str(exc))
        else:
            _fail(f"unexpected {exc.__class__.__name__}: {exc} (rerun with --debug for details)")
        return EXIT_FAILURE
