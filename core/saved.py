"""Running a saved report: as whom, with which parameters, and how cron or systemd runs it.

A saved report never carries who it runs as. The app runs it as the signed-in user who
opens it (a shared report under the opener's own scope); the command line runs it as its
owner, and `--user` may narrow that (an admin's report run as a reseller or accountant he
names), never widen it (a reseller's report is never run as the admin).
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .appdb import SavedReport
from .errors import AccessDenied
from .params import Params, parse_params

SCHEDULES = ("hourly", "daily", "weekly", "monthly")


def saved_params(saved: SavedReport, user: str, tz: str, now: datetime | None = None) -> Params:
    """The saved report's Params as `user` runs it: the stored u is never used, a relative
    period is resolved now in the report time zone."""
    pairs = {k: v for k, v in saved.params.items() if k not in ("u", "hash")}
    return parse_params({**pairs, "u": user}, tz=tz, now=now)


def runner(saved: SavedReport, requested: str | None, roles: Mapping[str, str] | None) -> str:
    """Who the command line runs `saved` as: its owner, or `requested` when that narrows.

    `roles` maps usernames to MOR roles (admin, Reseller PRO, accountant …) as the source
    lists them; None where the source cannot tell (a MOR server's API), and then only the
    owner may run it."""
    if requested is None or requested == saved.owner:
        return saved.owner
    if roles is None:
        raise AccessDenied(f"'{saved.name}' is {saved.owner}'s report and this source does not "
                           "tell users' roles", hint=f"run it as its owner (--user {saved.owner}) "
                                                     "or from a MOR database")
    owner_role = roles.get(saved.owner)
    if owner_role != "admin":
        raise AccessDenied(f"'{saved.name}' is {saved.owner}'s report "
                           f"({owner_role or 'not a user who may run reports'}); it runs as its owner only",
                           hint="--user may only narrow an admin's report to a user he names, "
                                "never run another's report with wider rights")
    if requested not in roles:
        raise AccessDenied(f"{requested} may not run reports",
                           hint="name an admin, a Reseller PRO or an accountant with statistics")
    return requested


# --- cron and systemd ------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """How a saved report is delivered on a schedule: the command and when it runs."""

    saved: SavedReport
    workdir: str                  # the project folder (where data/ and .streamlit/ are)
    python: str = ".venv/bin/python"
    fmt: str = "xlsx"
    mail_to: Sequence[str] = ()
    output: str | None = None
    schedule: str = "daily"       # hourly | daily | weekly (Mondays) | monthly (the 1st)
    at: str = "07:00"             # HH:MM in the machine's time zone (minute only for hourly)

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"'{self.schedule}' is not a schedule; use {', '.join(SCHEDULES)}")
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", self.at):
            raise ValueError(f"'{self.at}' is not a time of day; use HH:MM, e.g. 07:00")
        if not self.mail_to and not self.output:
            raise ValueError("a scheduled delivery needs a mail address or an output file")

    def arguments(self) -> list[str]:
        """`python -m core saved run …` as a list of arguments."""
        args = [self.python, "-m", "core", "saved", "run", str(self.saved.id),
                "--user", self.saved.owner, "--format", self.fmt]
        if self.output:
            args += ["--output", self.output]
        if self.mail_to:
            args += ["--mail-to", *self.mail_to]
        return args

    def crontab_line(self) -> str:
        """One crontab line: cd into the project and run the delivery. '%' is escaped (cron
        would end the command there). $MOR_SMTP_PASSWORD must be in cron's environment."""
        hour, minute = (int(x) for x in self.at.split(":"))
        when = {"hourly": f"{minute} * * * *", "daily": f"{minute} {hour} * * *",
                "weekly": f"{minute} {hour} * * 1", "monthly": f"{minute} {hour} 1 * *"}[self.schedule]
        command = f"cd {shlex.quote(self.workdir)} && " + " ".join(shlex.quote(a) for a in self.arguments())
        return f"{when} {command.replace('%', chr(92) + '%')}"

    @property
    def unit_name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.saved.name.lower()).strip("-")[:40] or "report"
        return f"mor-report-{self.saved.id}-{slug}"

    def systemd_service(self) -> str:
        """The .service unit (a oneshot); the SMTP password from an EnvironmentFile."""
        command = " ".join(_systemd_quote(a) for a in self.arguments())
        return ("[Unit]\nDescription=MOR Aggregates: deliver the saved report "
                f"{_systemd_text(self.saved.name)}\n\n"
                f"[Service]\nType=oneshot\nWorkingDirectory={_systemd_text(self.workdir)}\n"
                "# MOR_SMTP_PASSWORD=… (and MOR_DB_PASSWORD if the database needs one), mode 0600\n"
                "EnvironmentFile=-/etc/mor-aggregates/delivery.env\n"
                f"ExecStart={command}\n")

    def systemd_timer(self) -> str:
        hour, minute = self.at.split(":")
        calendar = {"hourly": f"*-*-* *:{minute}:00", "daily": f"*-*-* {hour}:{minute}:00",
                    "weekly": f"Mon *-*-* {hour}:{minute}:00",
                    "monthly": f"*-*-01 {hour}:{minute}:00"}[self.schedule]
        return (f"[Unit]\nDescription=MOR Aggregates: {self.schedule} delivery of "
                f"{_systemd_text(self.saved.name)}\n\n"
                f"[Timer]\nOnCalendar={calendar}\nPersistent=true\nUnit={self.unit_name}.service\n\n"
                "[Install]\nWantedBy=timers.target\n")


def _systemd_text(text: str) -> str:
    """A value on a unit line: specifiers (%) doubled, no line break."""
    return re.sub(r"[\r\n]", " ", text).replace("%", "%%")


def _systemd_quote(arg: str) -> str:
    """One ExecStart argument: double-quoted, \\ and \" escaped, % and $ doubled."""
    text = _systemd_text(arg).replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return text if re.fullmatch(r"[A-Za-z0-9_@./:=+,-]+", text) else f'"{text}"'
