"""`python -m core alerts`: rules checked first, rows that fire, exit codes, the quiet period.

The small fixture's day by originator (profit shown), worked out from tests/fixture_small.py
(and its plain-pandas reference):

    originator  total_calls  answered  ASR %   profit
         2           8           5      62.5    2.30
         3           8           5      62.5    1.25
         4           5           5     100.0    1.60
         7           2           2     100.0    2.10
         8           2           1      50.0    0.60
        11           1           1     100.0    0.60
        99           1           1     100.0    0.50

The day before holds one call, of originator 4 (call 16, one second before the day).
"""
from __future__ import annotations

import email
import email.policy
import json

import pytest

from core.alerts import RuleError, parse_rules
from tests.fixture_small import FROM, TILL, build_small_sqlite
from tests.test_mail import Inbox, free_port

PERIOD = f'"from" = "{FROM}", till = "{TILL}"'
BY_ORIGINATOR = f"params = {{ {PERIOD}, group_by_user = 1, profit_show = 1 }}"


def rules(*bodies: str) -> str:
    return "\n".join(f"[[rule]]\nname = \"r{i}\"\n{BY_ORIGINATOR}\n{body}\n" for i, body in enumerate(bodies))


@pytest.fixture
def mor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOR_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.delenv("MOR_TIMEZONE", raising=False)
    return f"sqlite:///{build_small_sqlite(tmp_path / 'mor.sqlite')}"


def alerts(capsys, tmp_path, text: str, *args: str):
    from core.cli import main
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    code = main(["alerts", "--rules", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def fired(out: str) -> dict[str, set]:
    got: dict[str, set] = {}
    for item in json.loads(out):
        got.setdefault(item["rule"], set()).add(item["row"]["originator_id"])
    return got


def test_each_operator_fires_on_the_rows_it_names(mor, capsys, tmp_path):
    text = rules('when = "total_calls < 2"', 'when = "total_calls <= 2"', 'when = "total_calls > 5"',
                 'when = "total_calls >= 5"', 'when = "asr == 100"', 'when = "asr != 100"')
    code, out, err = alerts(capsys, tmp_path, text, "--db", mor, "--format", "json")
    assert code == 1, err
    assert fired(out) == {"r0": {11, 99}, "r1": {7, 8, 11, 99}, "r2": {2, 3}, "r3": {2, 3, 4},
                          "r4": {4, 7, 11, 99}, "r5": {2, 3, 8}}


def test_min_calls_ignores_smaller_rows(mor, capsys, tmp_path):
    code, out, _ = alerts(capsys, tmp_path, rules('when = "asr == 100"\nmin_calls = 2'), "--db", mor,
                          "--format", "json")
    assert code == 1 and fired(out) == {"r0": {4, 7}}


def test_compare_columns(mor, capsys, tmp_path):
    text = rules('compare = "previous"\nwhen = "prev_total_calls > 0"',
                 'compare = "previous"\nwhen = "delta_pct_total_calls > 100"',   # 1 -> 5: +400 %
                 'compare = "previous"\nwhen = "delta_total_calls >= 8"')
    code, out, _ = alerts(capsys, tmp_path, text, "--db", mor, "--format", "json")
    assert code == 1 and fired(out) == {"r0": {4}, "r1": {4}, "r2": {2, 3}}


def test_a_fired_row_is_the_row_of_the_json_export(mor, capsys, tmp_path):
    from core.cli import main
    code, out, _ = alerts(capsys, tmp_path, rules('when = "total_calls > 5"'), "--db", mor,
                          "--format", "json")
    assert code == 1
    code = main(["report", "--db", mor, "--format", "json", f"from={FROM}", f"till={TILL}",
                 "group_by_user=1", "profit_show=1"])
    export = json.loads(capsys.readouterr().out)
    expected = [r for r in export["rows"] if r["total_calls"] > 5]
    assert [item["row"] for item in json.loads(out)] == expected


def test_exit_codes(mor, capsys, tmp_path):
    code, out, err = alerts(capsys, tmp_path, rules('when = "total_calls > 100"'), "--db", mor)
    assert code == 0 and out == "" and "No rule fired" in err
    code, out, _ = alerts(capsys, tmp_path, rules('when = "total_calls > 100"'), "--db", mor,
                          "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = alerts(capsys, tmp_path, rules('when = "total_calls > 5"'), "--db", mor)
    assert code == 1 and "rule 'r0' (total_calls > 5): 2 row(s)" in out
    missing = f"sqlite:///{tmp_path}/nothing-here.sqlite"
    code, _, err = alerts(capsys, tmp_path, rules('when = "total_calls > 5"'), "--db", missing)
    assert code == 3 and err.startswith("error: ")


@pytest.mark.parametrize("body, message", [
    ('when = "calls > 1"', "rule 'r0': 'calls' is not a column of this report; accepted are originator_id"),
    ('when = "total_calls =< 1"', "rule 'r0': '=<' is not an operator; use one of < <= > >= == !="),
    ('when = "total_calls ~ 1"', "rule 'r0': when = 'total_calls ~ 1' is not COLUMN OP NUMBER"),
    ('when = "prev_total_calls > 1"', "rule 'r0': 'prev_total_calls' is not a column of this report "
                                      "(prev_/delta_ columns need compare)"),
    ('when = "originator < 1"', "rule 'r0': 'originator' holds text"),
    ('when = "asr > 1"\nmin_calls = -1', "rule 'r0': min_calls must be a whole number ≥ 0"),
    ('when = "asr > 1"\nevery = 5', "rule 'r0': unknown key 'every'"),
    ('when = "asr > 1"\ncompare = "month"', "rule 'r0': compare 'month' is not accepted"),
])
def test_bad_rules_name_the_rule_and_what_is_wrong(body, message):
    with pytest.raises(RuleError) as caught:
        parse_rules(rules(body))
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_bad_parameter_is_named():
    text = '[[rule]]\nname = "daily"\nparams = { group_by_day = 2 }\nwhen = "asr < 50"\n'
    with pytest.raises(RuleError, match="rule 'daily': parameter group_by_day: '2' is not accepted; "
                                        "use 0 or 1"):
        parse_rules(text)
    with pytest.raises(RuleError, match="rule 'daily': parameter period: period=yesterday and from"):
        parse_rules('[[rule]]\nname = "daily"\nparams = { period = "yesterday", "from" = 1 }\n'
                    'when = "asr < 1"\n')
    with pytest.raises(RuleError, match="the name is used twice"):
        parse_rules(rules('when = "asr < 1"') + '[[rule]]\nname = "r0"\nwhen = "asr < 1"\n')


def test_every_rule_is_checked_before_any_report_runs(mor, capsys, tmp_path):
    """The first rule is fine, the second bad: exit 2 naming it, and no report ran (the
    database named does not exist, which would be exit 3)."""
    missing = f"sqlite:///{tmp_path}/nothing-here.sqlite"
    code, out, err = alerts(capsys, tmp_path, rules('when = "asr > 1"', 'when = "nope > 1"'), "--db", missing)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "rule 'r1': 'nope' is not a column" in err


# --- the quiet period ------------------------------------------------------------------------

@pytest.fixture
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    for name, value in {"MOR_SMTP_HOST": "127.0.0.1", "MOR_SMTP_PORT": str(controller.port),
                        "MOR_SMTP_SECURITY": "none", "MOR_SMTP_FROM": "alerts@example.com"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MOR_SMTP_USER", raising=False)
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_same_alert_is_not_mailed_again_within_the_quiet_period(mor, smtp, capsys, tmp_path):
    text = rules('when = "total_calls > 5"')
    code, _, err = alerts(capsys, tmp_path, text, "--db", mor, "--mail-to", "noc@example.com")
    assert code == 1 and "mailed 2 alert(s) to noc@example.com" in err
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["noc@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "MOR alert: 2 rows fired (r0)"
    [attachment] = list(message.iter_attachments())
    assert {i["row"]["originator_id"] for i in json.loads(attachment.get_payload(decode=True))} == {2, 3}

    # Again: the rule still fires (exit 1), but nothing new is mailed.
    code, _, err = alerts(capsys, tmp_path, text, "--db", mor, "--mail-to", "noc@example.com")
    assert code == 1 and "no mail sent" in err and len(smtp.envelopes) == 1
    # A wider rule of the same name: only the new row (originator 4) is mailed.
    code, _, err = alerts(capsys, tmp_path, rules('when = "total_calls >= 5"'), "--db", mor,
                          "--mail-to", "noc@example.com")
    assert code == 1 and "mailed 1 alert(s)" in err and len(smtp.envelopes) == 2
    # With no quiet period every alert is mailed again.
    code, _, err = alerts(capsys, tmp_path, text, "--db", mor, "--mail-to", "noc@example.com",
                          "--quiet-hours", "0")
    assert code == 1 and "mailed 2 alert(s)" in err and len(smtp.envelopes) == 3


def test_a_failed_alert_mail_is_exit_3_and_not_recorded(mor, smtp, capsys, tmp_path, monkeypatch):
    text = rules('when = "total_calls > 5"')
    good = smtp.envelopes
    monkeypatch.setenv("MOR_SMTP_PORT", str(free_port()))
    code, _, err = alerts(capsys, tmp_path, text, "--db", mor, "--mail-to", "noc@example.com")
    assert code == 3 and "could not be reached" in err
    monkeypatch.setenv("MOR_SMTP_PORT", str(smtp.port))
    code, _, err = alerts(capsys, tmp_path, text, "--db", mor, "--mail-to", "noc@example.com")
    assert code == 1 and "mailed 2 alert(s)" in err and len(good) == 1

