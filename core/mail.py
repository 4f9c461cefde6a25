"""Mail a report: a short text and HTML body (period, totals, top rows) and the export attached.

SMTP settings come from the environment ($MOR_SMTP_HOST, _PORT, _SECURITY, _USER, _FROM)
or `[smtp]` in secrets (host, port, security = starttls | tls | none, user, from); the
environment wins. The password only ever comes from $MOR_SMTP_PASSWORD, never from a file
others might read or a command line. TLS certificates are verified (the system's CAs, or
`ca_file` / $MOR_SMTP_CA_FILE); a password is never sent over an unencrypted connection
except to a server on this machine (loopback).

A delivery either is accepted by the server for every recipient, or is a MailError naming
what failed: nothing half-sent is reported as sent.
"""
from __future__ import annotations

import html
import ipaddress
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from zoneinfo import ZoneInfo

from .errors import ReportError
from .formatting import shown
from .report import Report

SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
TOP_ROWS = 10
_ADDRESS_MAX = 254


class MailError(ReportError):
    """The mail could not be delivered (or the SMTP settings are wrong); exit code 3."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    ca_file: str = ""
    timeout: float = 30.0


def smtp_settings(secrets: Mapping | None = None, environ: Mapping = os.environ) -> SmtpSettings:
    """The SMTP settings from the environment, else `[smtp]` in secrets; MailError naming
    what is missing or wrong."""
    section = (secrets or {}).get("smtp") or {}
    if not isinstance(section, Mapping):
        raise MailError("[smtp] in the secrets is not a table", hint="write it as an [smtp] section")
    if "password" in section:
        raise MailError("[smtp] password is not read from a file",
                        hint="remove it and set $MOR_SMTP_PASSWORD in the environment of the mailing command")

    def value(key: str, env: str) -> str:
        got = environ.get(env)
        if got is None or not str(got).strip():
            got = section.get(key, "")
        return str(got).strip()

    host = value("host", "MOR_SMTP_HOST")
    if not host:
        raise MailError("no SMTP server is configured",
                        hint="set $MOR_SMTP_HOST (or host in an [smtp] section of the secrets)")
    security = value("security", "MOR_SMTP_SECURITY").lower() or "starttls"
    if security not in SECURITIES:
        raise MailError(f"SMTP security '{security}' is not accepted", hint=f"use {', '.join(SECURITIES)}")
    port_text = value("port", "MOR_SMTP_PORT")
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        raise MailError(f"SMTP port '{port_text}' is not a TCP port", hint="use 1-65535, e.g. 587")
    port = int(port_text) if port_text else DEFAULT_PORTS[security]
    user = value("user", "MOR_SMTP_USER")
    sender = value("from", "MOR_SMTP_FROM") or user
    if not sender or "@" not in sender:
        raise MailError("no sender address is configured",
                        hint="set $MOR_SMTP_FROM (or from in [smtp]), e.g. reports@example.com")
    password = environ.get("MOR_SMTP_PASSWORD", "")
    if user and not password:
        raise MailError(f"the SMTP user {user} has no password", hint="set $MOR_SMTP_PASSWORD")
    return SmtpSettings(host=host, port=port, security=security, user=user, password=password,
                        sender=sender, ca_file=value("ca_file", "MOR_SMTP_CA_FILE"))


def check_addresses(addresses: Sequence[str]) -> list[str]:
    """Recipient addresses: one @, no spaces, commas or line breaks (no header injection)."""
    out = []
    for address in addresses:
        text = address.strip()
        local, _, domain = text.rpartition("@")
        if (not local or not domain or "." not in domain.strip(".") or len(text) > _ADDRESS_MAX
                or any(c.isspace() or c in ",;<>\"()[]\\" or ord(c) < 32 for c in text)):
            raise ValueError(f"'{address}' is not a mail address; give e.g. accounts@example.com")
        out.append(text)
    return out


# --- the message -------------------------------------------------------------------------

def _when(epoch: int, tz: str) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(tz or "UTC")).strftime("%Y-%m-%d %H:%M:%S")


def period_text(report: Report) -> str:
    tz = report.timezone or "UTC"
    return f"{_when(report.from_, tz)} – {_when(report.till, tz)} ({tz})"


def report_message(report: Report, *, title: str, sender: str, recipients: Sequence[str],
                   attachment: bytes, filename: str, mime: str, top: int = TOP_ROWS) -> EmailMessage:
    """The mail: subject `title`, a text and an HTML body with the period, the totals and the
    first `top` rows, and the export attached. Every value in the HTML is escaped."""
    message = EmailMessage()
    message["Subject"] = " ".join(title.split())    # no line break reaches a header
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)

    def cell(column: str, value) -> str:
        return shown(column, value, report.currency)

    metrics = [c for c in report.metric_columns if c in report.totals]
    head = report.rows.head(top)
    records = head.to_dict("records")
    lines = [title, "", f"Period: {period_text(report)}", f"Currency: {report.currency}",
             f"Rows: {len(report.rows):,}", "", "Totals:"]
    lines += [f"  {report.label(m)}: {cell(m, report.totals.get(m))}" for m in metrics]
    if records:
        lines += ["", f"First {len(records)} rows:"]
        for record in records:
            lines.append("  " + "; ".join(f"{report.label(c)}: {cell(c, record.get(c))}"
                                          for c in report.columns))
    lines += ["", f"The whole report is attached ({filename})."]
    message.set_content("\n".join(lines) + "\n")

    e = html.escape
    totals_html = "".join(f"<tr><th align=\"left\">{e(report.label(m))}</th>"
                          f"<td align=\"right\">{e(cell(m, report.totals.get(m)))}</td></tr>"
                          for m in metrics)
    rows_html = ""
    if records:
        header = "".join(f"<th>{e(report.label(c))}</th>" for c in report.columns)
        body = "".join("<tr>" + "".join(f"<td>{e(cell(c, r.get(c)))}</td>" for c in report.columns)
                       + "</tr>" for r in records)
        rows_html = (f"<h3>First {len(records)} of {len(report.rows):,} rows</h3>"
                     "<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">"
                     f"<tr>{header}</tr>{body}</table>")
    message.add_alternative(
        "<!DOCTYPE html><html><body>"
        f"<h2>{e(title)}</h2><p>Period: {e(period_text(report))}<br>Currency: {e(report.currency)}</p>"
        f"<h3>Totals</h3><table cellpadding=\"3\">{totals_html}</table>{rows_html}"
        f"<p>The whole report is attached ({e(filename)}).</p></body></html>", subtype="html")
    maintype, _, subtype = mime.partition("/")
    message.add_attachment(attachment, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=filename)
    return message


# --- sending -------------------------------------------------------------------------------

def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send(message: EmailMessage, settings: SmtpSettings, recipients: Sequence[str]) -> None:
    """Hand `message` to the SMTP server for every recipient, or raise MailError: a
    recipient the server refuses fails the whole delivery (named in the message)."""
    where = f"{settings.host}:{settings.port}"
    if settings.user and settings.security == "none" and not _loopback(settings.host):
        raise MailError(f"the SMTP password would cross the network unencrypted to {where}",
                        hint="use security = starttls or tls")
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.user:
                client.login(settings.user, settings.password)
            refused = client.send_message(message, from_addr=settings.sender, to_addrs=list(recipients))
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the mail server {where} refused the login of {settings.user} "
                        f"({exc.smtp_code})", hint="check $MOR_SMTP_PASSWORD and the SMTP user") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"the mail server {where} refused every recipient: "
                        f"{', '.join(exc.recipients)}; nothing was sent") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"the mail server {where} does not offer what the settings ask: {exc}",
                        hint="check security (starttls, tls, none) and the port") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        raise MailError(f"the mail server {where} answered {exc.smtp_code} {' '.join(str(text).split())}; "
                        "the mail was not sent") from None
    except ssl.SSLError as exc:
        raise MailError(f"TLS with the mail server {where} failed: {exc.reason or exc}",
                        hint="check security and port, or give ca_file for a private CA") from None
    except (OSError, smtplib.SMTPException) as exc:   # refused, unreachable, timed out, dropped
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        if isinstance(exc, socket.gaierror):
            reason = "no such host"
        raise MailError(f"the mail server {where} could not be reached: {reason}; the mail was not sent",
                        hint="check $MOR_SMTP_HOST/port and that the server runs") from None
    if refused:
        raise MailError(f"the mail server {where} refused {', '.join(sorted(refused))}; it accepted the "
                        "mail for the other recipients only",
                        hint="correct the refused addresses and send again")
