"""Mail delivery against a real SMTP server on loopback (aiosmtpd).

STARTTLS would need a certificate the test trusts; the login is tested over a plain
loopback connection instead (aiosmtpd's auth_require_tls=False), which core.mail allows
to a server on this machine only.
"""
from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.appdb import AppDb
from core.mail import MailError, SmtpSettings, send, smtp_settings
from core.params import Params
from tests.fixture_small import FROM, TABLES, TILL, build_small_sqlite
from tests.reference import reference_report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and (auth_data.login, auth_data.password) == (b"reports", b"s3cret"))
    return AuthResult(success=ok, handled=False)   # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def setup(tmp_path, monkeypatch, smtp):
    mor = build_small_sqlite(tmp_path / "mor.sqlite")
    app_url = f"sqlite:///{tmp_path}/app.sqlite"
    monkeypatch.chdir(tmp_path)
    for name in ("MOR_TIMEZONE", "MOR_SMTP_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = {"MOR_APP_DB_URL": app_url, "MOR_SMTP_HOST": "127.0.0.1", "MOR_SMTP_PORT": str(smtp.port),
           "MOR_SMTP_SECURITY": "none", "MOR_SMTP_USER": "reports", "MOR_SMTP_PASSWORD": "s3cret",
           "MOR_SMTP_FROM": "reports@example.com"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    db = AppDb(app_url)
    db.save("admin", "Daily <by day>", {"group_by_day": "1", "profit_show": "1",
                                        "from": str(FROM), "till": str(TILL)})
    return f"sqlite:///{mor}", db


def run(capsys, *args):
    from core.cli import main
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_saved_report_is_mailed_with_its_totals_and_the_export_attached(setup, smtp, capsys, tmp_path):
    mor, _ = setup
    code, out, err = run(capsys, "saved", "run", "Daily <by day>", "--db", mor, "--format", "csv",
                         "--mail-to", "acc@example.com", "boss@example.com")
    assert code == 0, err
    assert "mailed 'Daily <by day>'" in err and out == ""
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "reports@example.com"
    assert envelope.rcpt_tos == ["acc@example.com", "boss@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"].startswith("Daily <by day> — USD")
    _, totals = reference_report(TABLES, Params(u="admin", from_=FROM, till=TILL, group_by_day=True,
                                                profit_show=True))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"  Calls: {totals['total_calls']:,}\n" in text.replace("\r\n", "\n")
    assert "Period: 2024-03-15 00:00:00 – 2024-03-15 23:59:59 (UTC)" in text
    assert "Daily &lt;by day&gt;" in html and "<by day>" not in html      # escaped
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".csv")
    # The same report exported by `report` gives the same bytes.
    expected = tmp_path / "expected.csv"
    code, _, err = run(capsys, "report", "--db", mor, "--format", "csv", "--output", str(expected),
                       "group_by_day=1", "profit_show=1", f"from={FROM}", f"till={TILL}")
    assert code == 0, err
    assert attachment.get_payload(decode=True) == expected.read_bytes()


def test_an_xlsx_attachment_is_the_export_bytes(setup, smtp, capsys, tmp_path):
    mor, _ = setup
    code, _, err = run(capsys, "saved", "run", "Daily <by day>", "--db", mor, "--format", "xlsx",
                       "--mail-to", "acc@example.com")
    assert code == 0, err
    message = email.message_from_bytes(smtp.envelopes[0].content, policy=email.policy.default)
    [attachment] = list(message.iter_attachments())
    data = attachment.get_payload(decode=True)
    assert data[:2] == b"PK" and attachment.get_content_type().endswith("spreadsheetml.sheet")


def test_a_refused_connection_is_one_line_and_exit_3(setup, capsys, monkeypatch):
    mor, _ = setup
    monkeypatch.setenv("MOR_SMTP_PORT", str(free_port()))     # nobody listens there
    code, out, err = run(capsys, "saved", "run", "Daily <by day>", "--db", mor, "--mail-to", "a@example.com")
    assert code == 3 and out == "" and err.count("\n") == 1
    assert "could not be reached" in err and "the mail was not sent" in err
    assert "mailed" not in err


def test_a_wrong_password_is_one_line_and_exit_3(setup, smtp, capsys, monkeypatch):
    mor, _ = setup
    monkeypatch.setenv("MOR_SMTP_PASSWORD", "wrong")
    code, out, err = run(capsys, "saved", "run", "Daily <by day>", "--db", mor, "--mail-to", "a@example.com")
    assert code == 3 and err.count("\n") == 1
    assert "refused the login of reports (535)" in err
    assert smtp.envelopes == []


def test_a_refused_recipient_fails_the_delivery_and_says_who(smtp):
    from email.message import EmailMessage
    message = EmailMessage()
    message["Subject"], message["From"] = "x", "reports@example.com"
    message.set_content("x")
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", user="reports",
                            password="s3cret", sender="reports@example.com")
    with pytest.raises(MailError, match="refused nobody@example.com; it accepted the mail for the "
                                        "other recipients only"):
        send(message, settings, ["a@example.com", "nobody@example.com"])
    with pytest.raises(MailError, match="refused every recipient"):
        send(message, settings, ["nobody@example.com"])


def test_smtp_settings_take_the_password_from_the_environment_only():
    with pytest.raises(MailError, match="password is not read from a file"):
        smtp_settings({"smtp": {"host": "mail", "password": "x"}}, {})
    with pytest.raises(MailError, match="has no password"):
        smtp_settings({"smtp": {"host": "mail", "user": "u", "from": "r@example.com"}}, {})
    got = smtp_settings({"smtp": {"host": "mail", "user": "u", "from": "r@example.com", "security": "tls"}},
                        {"MOR_SMTP_PASSWORD": "p", "MOR_SMTP_HOST": "smtp.example.com"})
    assert (got.host, got.port, got.security, got.password) == ("smtp.example.com", 465, "tls", "p")


def test_no_password_crosses_the_network_unencrypted():
    settings = SmtpSettings(host="mail.example.com", port=25, security="none", user="u", password="p",
                            sender="r@example.com")
    with pytest.raises(MailError, match="unencrypted"):
        send(None, settings, ["a@example.com"])
