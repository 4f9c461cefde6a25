"""Command line for delivery from cron: `saved list|run` and `alerts` (core.cli registers them).

cron and systemd timers are the schedulers: these commands run once, deliver (a file, a
mail) and exit with the usual codes (0 done, 2 bad input, 3 the source, the app database
or the mail server failed). `alerts` exits 1 when a rule fired, so cron can act on it.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import cli
from .cli import EXIT_OK, InputError, path_value, whole
from .exports import EXPORTERS, export, export_bytes, filename

SECRETS = Path(".streamlit/secrets.toml")
EXIT_FIRED = 1
SAVED_ACTIONS = ("list", "run")


def read_secrets(path: Path = SECRETS) -> dict:
    """The app's secrets.toml ([app_db], [smtp]) for the command line; none when missing."""
    import tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path} could not be read: {getattr(exc, 'strerror', None) or exc}") from None


def open_app_db(args, secrets: dict):
    """The app's database, refused when it names a MOR database in use."""
    from .appdb import AppDb, app_db_url
    from .sources.config import configured_sources
    try:
        mor = [c.url for c in configured_sources(secrets).values() if c.url]
    except Exception:   # a malformed source section is not this command's business
        mor = []
    if getattr(args, "db", None):
        mor.append(args.db)
    return AppDb(app_db_url(secrets), mor_urls=mor)


def mail_addresses(args) -> list[str]:
    from .mail import check_addresses
    try:
        return check_addresses(args.mail_to or [])
    except ValueError as exc:
        raise InputError(f"--mail-to: {exc}") from None


# --- saved ------------------------------------------------------------------------------------

def cmd_saved(args) -> int:
    if args.action == "list":
        for option in ("name", "output", "mail_to", "owner"):
            if getattr(args, option):
                raise InputError("saved list takes no report name, --owner, --output or --mail-to")
        return saved_list(args)
    if not args.name:
        raise InputError("saved run needs the saved report's name or id (see `saved list`)")
    return saved_run(args)


def saved_list(args) -> int:
    secrets = read_secrets()
    db = open_app_db(args, secrets)
    reports = db.list_for(args.user, is_admin=args.user is None)
    if not reports:
        print("No saved reports.", file=sys.stderr)
        return EXIT_OK
    lines = [f"{'id':>5}  {'owner':<16} {'shared':<6} {'page':<12} name / parameters"]
    for s in reports:
        pairs = " ".join(f"{k}={v}" for k, v in s.params.items())
        lines.append(f"{s.id:>5}  {s.owner:<16} {'yes' if s.shared else 'no':<6} {s.page or '-':<12} "
                     f"{s.name}\n{'':>43}{pairs}")
    cli.write_output("\n".join(cli.terminal_safe(line) if "\n" not in line else
                               "\n".join(cli.terminal_safe(p) for p in line.split("\n"))
                               for line in lines) + "\n", None, for_terminal=True)
    return EXIT_OK


def _roles(source) -> dict[str, str] | None:
    listed = source.acting_users() if source.capabilities.lists_acting_users else None
    return None if listed is None else {name: role for name, role in listed}


def saved_run(args) -> int:
    from .compare import run_report
    from .saved import runner, saved_params

    settings = cli.report_settings(args)
    recipients = mail_addresses(args)
    fmt = args.format
    if recipients and fmt == "table":
        fmt = "csv"           # a mail carries an export: CSV unless --format says otherwise
    if not recipients:
        cli.check_format(args)
    output = cli.check_output(args.output, args)
    smtp = None
    secrets = read_secrets()
    if recipients:
        from .mail import smtp_settings
        smtp = smtp_settings(secrets)      # checked before the report runs
    db = open_app_db(args, secrets)
    saved = db.get(args.name, None, True, owner=args.owner)
    source = cli.make_source(args)
    narrowing = args.user not in (None, saved.owner)
    user = runner(saved, args.user, _roles(source) if narrowing else None)
    params = saved_params(saved, user, settings.timezone)
    report = run_report(source, params, settings)
    for note in report.notes:
        print(f"warning: {note}", file=sys.stderr)
    if output is not None or not recipients:   # with --mail-to, a file only when asked
        if fmt == "table":
            cli.write_output(cli.table_text(report), output, for_terminal=True)
        elif EXPORTERS[fmt].binary:
            cli.write_binary_export(report, fmt, output)
        else:
            cli.write_output(export(report, fmt), output)
    if recipients:
        from .mail import report_message, send
        from .xlsx import ExportTooLarge
        try:
            data = export_bytes(report, fmt)
        except ExportTooLarge as exc:
            raise InputError(str(exc)) from None
        title = f"{saved.name} — {report.currency}, {len(report.rows):,} rows"
        message = report_message(report, title=title, sender=smtp.sender, recipients=recipients,
                                 attachment=data, filename=filename(report, fmt, _stem(saved.name)),
                                 mime=EXPORTERS[fmt].mime)
        send(message, smtp, recipients)
        print(cli.terminal_safe(f"mailed '{saved.name}' ({fmt}, {len(report.rows):,} rows) to "
                                f"{', '.join(recipients)}"), file=sys.stderr)
    return EXIT_OK


def _stem(name: str) -> str:
    import re
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60] or "report"


# --- alerts -----------------------------------------------------------------------------------

def cmd_alerts(args) -> int:
    import time

    from .alerts import RuleError, alert_message, as_json, parse_rules, run_rules
    from .appdb import AppDatabaseError

    settings = cli.report_settings(args)
    recipients = mail_addresses(args)
    try:
        text = Path(args.rules).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--rules: cannot read {args.rules}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"--rules: {args.rules} is not UTF-8 text") from None
    try:
        rules = parse_rules(text, settings.timezone)
    except RuleError as exc:
        raise InputError(f"--rules {args.rules}: {exc}") from None
    secrets = read_secrets() if recipients else {}
    smtp = None
    if recipients:
        from .mail import smtp_settings
        smtp = smtp_settings(secrets)
    source = cli.make_source(args)
    try:
        fired = run_rules(rules, source, settings, args.user or "admin")
    except RuleError as exc:
        raise InputError(str(exc)) from None
    if args.format == "json":
        cli.write_output(as_json(fired), None)
    else:
        blocks = []
        for f in fired:
            rows = len(f.report.rows)
            heading = cli.terminal_safe(f"rule '{f.rule.name}' ({f.rule.when}): {rows:,} row(s)")
            blocks.append(heading + "\n" + cli.table_text(f.report))
        cli.write_output("\n".join(blocks) if blocks else "", None, for_terminal=True)
        if not fired:
            print("No rule fired.", file=sys.stderr)
    if fired and recipients:
        _mail_alerts(fired, recipients, smtp, args, secrets, alert_message, AppDatabaseError, time.time())
    return EXIT_FIRED if fired else EXIT_OK


def _mail_alerts(fired, recipients, smtp, args, secrets, alert_message, AppDatabaseError, now) -> None:
    """Mail the alerts not mailed within the quiet period; record them once the server took
    the mail. Without the app database every fired alert is mailed (with a warning)."""
    from dataclasses import replace

    from .mail import send

    since = int(now - args.quiet_hours * 3600)
    db = None
    try:
        db = open_app_db(args, secrets)
        fresh = []
        for f in fired:
            seen = db.recently_sent(f.rule.name, f.keys, since) if args.quiet_hours else set()
            keep = [k not in seen for k in f.keys]
            if any(keep):
                rows = f.report.rows[keep].reset_index(drop=True)
                fresh.append(replace(f, report=replace(f.report, rows=rows),
                                     keys=[k for k, new in zip(f.keys, keep, strict=True) if new]))
    except AppDatabaseError as exc:
        print(cli.terminal_safe(f"warning: the quiet period cannot be kept ({exc.full()}); "
                                "mailing every fired alert"), file=sys.stderr)
        db, fresh = None, fired
    if not fresh:
        print(f"every fired alert was mailed within the last {args.quiet_hours} h; no mail sent",
              file=sys.stderr)
        return
    send(alert_message(fresh, sender=smtp.sender, recipients=recipients), smtp, recipients)
    count = sum(len(f.keys) for f in fresh)
    print(f"mailed {count} alert(s) to {', '.join(recipients)}", file=sys.stderr)
    if db is not None:
        try:
            for f in fresh:
                db.mark_sent(f.rule.name, f.keys, int(now))
        except AppDatabaseError as exc:
            print(cli.terminal_safe(f"warning: the alerts were mailed but not recorded ({exc.full()})"),
                  file=sys.stderr)


# --- the parsers --------------------------------------------------------------------------------

def add_commands(sub, shared) -> None:
    """Declare `saved` and `alerts` on core.cli's sub-parsers."""
    modules = ("sources.db", "sources.mor_api", "formatting", "compare", "appdb", "saved", "mail")
    saved = sub.add_parser(
        "saved", help="list saved reports, or run one (for cron: to a file or by mail)",
        modules=modules,
        parents=[shared["database"], shared["settings"], shared["remote"], shared["output"]],
        description="`saved list` lists the saved reports (with --user: those he may open). "
                    "`saved run NAME` runs one (NAME or the id `saved list` shows) as its owner; "
                    "--user may narrow an admin's report to the user he names, never widen one. "
                    "With --mail-to the export (--format, CSV when table) is mailed; SMTP from "
                    "$MOR_SMTP_HOST/_PORT/_SECURITY/_USER/_FROM or [smtp] in the secrets, the "
                    "password only from $MOR_SMTP_PASSWORD. The app database: $MOR_APP_DB_URL, "
                    "[app_db] url, else sqlite:///data/app.sqlite.")
    saved.add_argument("action", choices=SAVED_ACTIONS, help="list or run")
    saved.add_argument("name", nargs="?", metavar="NAME", help="the saved report to run (name or id)")
    saved.add_argument("--owner", metavar="USER",
                       help="whose report NAME is, when several users saved one of that name")
    saved.add_argument("--mail-to", metavar="ADDRESS", nargs="+",
                       help="mail the report to these addresses")
    saved.set_defaults(func=cmd_saved)

    alerts = sub.add_parser(
        "alerts", help="check alert rules; exit 1 when one fired",
        modules=("sources.db", "sources.mor_api", "formatting", "compare", "alerts", "appdb", "mail"),
        parents=[shared["database"], shared["settings"], shared["remote"]],
        description="Run each [[rule]] of a TOML file (name, params, optional compare, when = "
                    "\"COLUMN OP NUMBER\", optional min_calls) and list the rows that meet it. "
                    "Exit 0 when none fired, 1 when one did, 2 for bad input, 3 when the source "
                    "or the mail failed. With --mail-to the same alert (rule and row) is not "
                    "mailed again within --quiet-hours.")
    alerts.add_argument("--rules", metavar="FILE", required=True, type=path_value,
                        help="the TOML file of [[rule]] tables")
    alerts.add_argument("--format", choices=("table", "json"), default="table",
                        help="table for a person (default) or json: [{\"rule\": NAME, \"row\": {…}}]")
    alerts.add_argument("--mail-to", metavar="ADDRESS", nargs="+", help="mail the fired alerts")
    alerts.add_argument("--quiet-hours", metavar="HOURS", default=24,
                        type=whole(0, 8760, "a number of hours from 0 to 8760"),
                        help="do not mail the same alert again within this many hours (default 24; "
                             "0 mails every time)")
    alerts.set_defaults(func=cmd_alerts)

