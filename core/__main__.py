"""Command line: `python -m core report|demo|serve|sync …`.

Exit codes: 0 success; 2 invalid input (one line naming the problem); 3 the source failed
(database or server unreachable, access denied, a row not found); 1 anything unexpected.
Never a traceback: `--debug` shows one, and the report's SQL, for whoever asks.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from .errors import ReportError
from .params import ParamError, parse_params
from .settings import ANSWERED_RULES, Settings, SettingsError

EXIT_OK, EXIT_FAILURE, EXIT_INPUT, EXIT_SOURCE = 0, 1, 2, 3


class InputError(Exception):
    """Bad command-line input; exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise InputError(f"{message} (see `python -m core {self.prog.split()[-1]} --help`)")


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        if "=" not in item:
            raise InputError(f"'{item}' is not name=value; parameters are given as e.g. "
                             "group_by_day=1 a_currency=EUR")
        name, value = item.split("=", 1)
        pairs.append((name.strip(), value))
    return pairs


def write_output(text: str, output: str | None) -> None:
    """stdout, or a file written whole: a temp file renamed into place, never half-written."""
    if not output or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    if not target.parent.exists():
        raise InputError(f"--output: the folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_secret(secret_file: str | None) -> str | None:
    """The API secret from --secret-file or MOR_API_SECRET; never from an argument."""
    if secret_file:
        try:
            return Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"--secret-file: cannot read {secret_file}: {exc.strerror}") from None
    return os.environ.get("MOR_API_SECRET")


def cmd_report(args) -> int:
    from .exports import export
    from .formatting import display_frame

    settings = Settings(timezone=args.timezone, answered_rule=args.answered_rule)
    pairs = _pairs(args.params)
    given_u = [v for k, v in pairs if k == "u"]
    if args.user and given_u and given_u[0] != args.user:
        raise InputError(f"--user {args.user} and u={given_u[0]} disagree; give the acting user once")
    if not given_u:
        pairs.append(("u", args.user or "admin"))
    params = parse_params(pairs, tz=settings.timezone)
    source = make_source(args)
    report = source.run(params, settings)
    if args.format == "table":
        if report.empty:
            print(f"No calls match this report in {report.source} for the period "
                  f"{params.from_}–{params.till}; widen the period or relax the filters.",
                  file=sys.stderr)
        frame = display_frame(report)
        text = frame.to_string(index=False) + "\n"
    else:
        text = export(report, args.format)
    write_output(text, args.output)
    return EXIT_OK


def make_source(args):
    if getattr(args, "api", None):
        from .sources.mor_api import MorApiSource
        return MorApiSource(args.api, secret=read_secret(args.secret_file),
                            use_get=args.get, verify=args.ca_bundle or True,
                            timeout=args.timeout)
    from .sources.db import DatabaseSource
    url = args.db
    if not url:
        from .demo import ensure_demo
        url = ensure_demo(progress=lambda m: print(m, file=sys.stderr))
    return DatabaseSource(url)


def cmd_demo(args) -> int:
    from .demo import DEFAULT_DEMO_PATH, build_demo
    url = args.db or f"sqlite:///{DEFAULT_DEMO_PATH}"
    summary = build_demo(url, calls=args.calls, days=args.days, seed=args.seed,
                         replace=args.replace, progress=lambda m: print(m, file=sys.stderr))
    print(summary)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="log the SQL and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    report = sub.add_parser("report", help="run an aggregate report",
                            description="Run MOR's aggregate report. Parameters are given as "
                                        "name=value with MOR's aggregate_get names, e.g. "
                                        "group_by_day=1 a_currency=EUR profit_show=1.")
    report.add_argument("--db", help="SQLAlchemy URL of a MOR database (default: the demo database)")
    report.add_argument("--api", metavar="BASE", help="a MOR server, e.g. https://host/billing")
    report.add_argument("--secret-file", help="file holding the API secret key (else $MOR_API_SECRET)")
    report.add_argument("--get", action="store_true", help="use GET (MOR needs 'Allow GET API')")
    report.add_argument("--ca-bundle", help="CA bundle to verify the MOR server's TLS certificate")
    report.add_argument("--timeout", type=float, default=60.0, help="API read timeout, seconds")
    report.add_argument("--user", help="acting MOR username (default admin)")
    report.add_argument("--timezone", default="UTC", help="report time zone, IANA name (default UTC)")
    report.add_argument("--answered-rule", choices=ANSWERED_RULES, default="disposition")
    report.add_argument("--format", choices=("table", "csv", "json", "xml"), default="table")
    report.add_argument("--output", help="write to this file instead of standard output")
    report.add_argument("params", nargs="*", metavar="name=value")
    report.set_defaults(func=cmd_report)

    demo = sub.add_parser("demo", help="build the demo MOR database")
    demo.add_argument("--db", help="SQLAlchemy URL to build into (default sqlite:///data/demo.sqlite)")
    demo.add_argument("--calls", type=int, default=200_000)
    demo.add_argument("--days", type=int, default=30)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--replace", action="store_true", help="replace an existing demo database")
    demo.set_defaults(func=cmd_demo)

    for extra in _extra_commands():
        extra(sub)
    return parser


def _extra_commands():
    """Subcommands that live in their own modules (server, sync), registered when present."""
    found = []
    for module in ("server", "sync"):
        try:
            mod = __import__(f"core.{module}", fromlist=["register"])
        except ImportError:
            continue
        if hasattr(mod, "register"):
            found.append(mod.register)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (InputError, ParamError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except ReportError as exc:
        print(f"error: {exc.full()}", file=sys.stderr)
        return EXIT_SOURCE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if debug:
            raise
        print(f"error: unexpected {exc.__class__.__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
