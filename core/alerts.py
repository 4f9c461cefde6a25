"""Alert rules: a report and a condition on its rows, checked from cron.

Rules are TOML, each a `[[rule]]` table:

    [[rule]]
    name = "negative margin by destination group"
    params = { period = "yesterday", group_by_dst_group = 1, profit_show = 1 }
    compare = "previous"      # optional: prev_*/delta_*/delta_pct_* usable in `when`
    when = "margin < 0"       # COLUMN OP NUMBER, OP one of < <= > >= == !=
    min_calls = 10            # optional: rows with fewer total calls are ignored

Every rule is checked before any report runs (parameters, operator, column), so a typo is
one line naming the rule, not a half-run. Conditions are evaluated as pandas masks over the
whole result, never row by row in Python. A row with no value in the column (e.g. ASR with
no calls, a percent change from 0) never fires.
"""
from __future__ import annotations

import hashlib
import html
import json
import operator
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from .compare import LABEL_COLUMNS, run_report
from .exports import _json_value
from .params import COMPARES, ParamError, Params, parse_params
from .report import ADDITIVE, COMPARE_COLUMNS, KINDS, PROFIT, RATIOS, Report

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "==": operator.eq, "!=": operator.ne}
_WHEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>|=<|=>|=|<>)\s*"
                   r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*")
RULE_KEYS = ("name", "params", "compare", "when", "min_calls")
MAX_RULES = 200


class RuleError(ValueError):
    """A bad rule file or rule; the message names the rule and what is wrong (exit code 2)."""


@dataclass(frozen=True)
class Rule:
    name: str
    params: dict[str, str]    # MOR key=value pairs (compare included when set)
    column: str
    op: str
    threshold: float
    min_calls: int | None = None

    @property
    def when(self) -> str:
        return f"{self.column} {self.op} {self.threshold:g}"

    def definition(self) -> dict:
        """The rule as its TOML table (what the app stores and exports)."""
        params = {k: v for k, v in self.params.items() if k != "compare"}
        out = {"name": self.name, "params": params, "when": self.when}
        if "compare" in self.params:
            out["compare"] = self.params["compare"]
        if self.min_calls is not None:
            out["min_calls"] = self.min_calls
        return out


@dataclass
class Fired:
    """The rows of one rule's report that meet its condition."""

    rule: Rule
    report: Report            # only the firing rows (totals as of the whole report)
    keys: list[str] = field(default_factory=list)   # one quiet-period key per row

    def records(self) -> list[dict]:
        """The rows as in the JSON export: its columns, its order, its values."""
        columns = self.report.columns
        return [{c: _json_value(v) for c, v in zip(columns, values, strict=True)}
                for values in self.report.rows[columns].itertuples(index=False, name=None)]


# --- reading and checking rules -----------------------------------------------------------

def parse_rules(text: str, tz: str = "UTC") -> list[Rule]:
    """The rules of a TOML text, each checked; RuleError naming the rule otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"the rules are not valid TOML: {exc}") from None
    unknown = [k for k in data if k != "rule"]
    if unknown:
        raise RuleError(f"unknown top-level key {unknown[0]!r}; write each rule as a [[rule]] table")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RuleError("no rules: write each rule as a [[rule]] table with name, params and when")
    if len(tables) > MAX_RULES:
        raise RuleError(f"{len(tables)} rules; at most {MAX_RULES} are accepted in one file")
    rules, seen = [], set()
    for number, table in enumerate(tables, start=1):
        rule = rule_from(table, number, tz)
        if rule.name in seen:
            raise RuleError(f"rule '{rule.name}': the name is used twice; give each rule its own")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def rule_from(table: Mapping, number: int = 1, tz: str = "UTC") -> Rule:
    """One rule from its table, checked: parameters, operator and column."""
    name = table.get("name") if isinstance(table, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"rule {number}: needs a name (name = \"…\")")
    name = " ".join(name.split())
    where = f"rule '{name}'"
    extra = [k for k in table if k not in RULE_KEYS]
    if extra:
        raise RuleError(f"{where}: unknown key {extra[0]!r}; a rule has {', '.join(RULE_KEYS)}")
    raw = table.get("params", {})
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where}: params must be a table, e.g. params = {{ period = \"yesterday\" }}")
    pairs: dict[str, str] = {}
    for key, value in raw.items():
        if key in ("u", "hash"):
            raise RuleError(f"{where}: params.{key} is not accepted; the acting user is given with --user")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (str, int)) or isinstance(value, float):
            raise RuleError(f"{where}: params.{key} must be text or a whole number, not {value!r}")
        pairs[str(key)] = str(value)
    compare = table.get("compare")
    if compare is not None:
        if compare not in COMPARES:
            raise RuleError(f"{where}: compare '{compare}' is not accepted; use {', '.join(COMPARES)}")
        if pairs.get("compare", compare) != compare:
            raise RuleError(f"{where}: compare and params.compare disagree; give it once")
        pairs["compare"] = compare
    try:
        params = parse_params({**pairs, "u": "admin"}, tz=tz)
    except ParamError as exc:
        raise RuleError(f"{where}: parameter {exc}") from None
    when = table.get("when")
    if not isinstance(when, str):
        raise RuleError(f"{where}: needs when = \"COLUMN OP NUMBER\", e.g. when = \"margin < 0\"")
    match = _WHEN.fullmatch(when)
    if not match:
        raise RuleError(f"{where}: when = {when!r} is not COLUMN OP NUMBER; OP is one of "
                        f"{' '.join(OPERATORS)}, e.g. \"margin < 0\"")
    column, op, number_text = match.groups()
    if op not in OPERATORS:
        raise RuleError(f"{where}: '{op}' is not an operator; use one of {' '.join(OPERATORS)}")
    columns = result_columns(params)
    if column not in columns:
        hint = (" (prev_/delta_ columns need compare)" if column.startswith(("prev_", "delta_"))
                and not params.compare else "")
        hint = hint or (" (profit, margin and markup need profit_show = 1)"
                        if column in PROFIT and not params.profit_show else "")
        raise RuleError(f"{where}: '{column}' is not a column of this report{hint}; accepted are "
                        + ", ".join(columns))
    if KINDS.get(column, "text") == "text":
        raise RuleError(f"{where}: '{column}' holds text; compare a number column such as "
                        "total_calls, asr or margin")
    min_calls = table.get("min_calls")
    if min_calls is not None and (isinstance(min_calls, bool) or not isinstance(min_calls, int)
                                  or min_calls < 0):
        raise RuleError(f"{where}: min_calls must be a whole number ≥ 0, not {min_calls!r}")
    return Rule(name=name, params=pairs, column=column, op=op, threshold=float(number_text),
                min_calls=min_calls)


def result_columns(params: Params) -> list[str]:
    """The columns the report of `params` has (money columns assume the right to see them)."""
    from .query import key_columns
    metrics = list(ADDITIVE + RATIOS) + (list(PROFIT) if params.profit_show else [])
    if params.compare:
        metrics = [c for m in metrics for c in (m, f"prev_{m}", f"delta_{m}", f"delta_pct_{m}")
                   if c == m or c in COMPARE_COLUMNS]
    return key_columns(params) + metrics


# --- evaluating ----------------------------------------------------------------------------

def firing(rule: Rule, report: Report) -> pd.Series:
    """A boolean mask of the report's rows that meet the rule (vectorised)."""
    if rule.column not in report.rows.columns:
        raise RuleError(f"rule '{rule.name}': this report has no '{rule.column}' column (a user "
                        "without the right to see money has no money columns)")
    values = pd.to_numeric(report.rows[rule.column], errors="coerce")
    mask = OPERATORS[rule.op](values, rule.threshold) & values.notna()
    if rule.min_calls is not None:
        mask &= pd.to_numeric(report.rows["total_calls"], errors="coerce").fillna(0) >= rule.min_calls
    return mask.fillna(False).astype(bool)


def row_keys(report: Report) -> list[str]:
    """One short key per row from its grouping ids (labels only where a grouping has no id),
    for the quiet period: the same row of the same rule is the same alert."""
    keys = [c for c in report.key_columns if c not in LABEL_COLUMNS] or list(report.key_columns)
    if not keys:
        return ["total"] * len(report.rows)
    frame = report.rows[keys].astype(str)
    joined = frame.iloc[:, 0].str.cat([frame[c] for c in keys[1:]], sep="\x1f") if len(keys) > 1 \
        else frame.iloc[:, 0]
    return [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in joined]


def evaluate(rule: Rule, report: Report) -> Fired:
    mask = firing(rule, report)
    rows = report.rows[mask.to_numpy()].reset_index(drop=True)
    subset = replace(report, rows=rows, notes=list(report.notes))
    return Fired(rule=rule, report=subset, keys=row_keys(subset))


def run_rules(rules: list[Rule], source, settings, user: str) -> list[Fired]:
    """Each rule's report run as `user` and its firing rows (rules with none left out)."""
    tz = getattr(settings, "timezone", "UTC") or "UTC"
    out = []
    for rule in rules:
        params = parse_params({**rule.params, "u": user}, tz=tz)
        fired = evaluate(rule, run_report(source, params, settings))
        if not fired.report.empty:
            out.append(fired)
    return out


def as_json(fired: list[Fired]) -> str:
    """[{"rule": NAME, "row": {…}}, …]: one object per fired row."""
    items = [{"rule": f.rule.name, "row": row} for f in fired for row in f.records()]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


# --- mail ------------------------------------------------------------------------------------

def alert_message(fired: list[Fired], *, sender: str, recipients: list[str]):
    """One mail for the fired alerts: a text and an HTML list (every value escaped), and
    the fired rows attached as JSON."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from .formatting import shown
    from .mail import period_text

    count = sum(len(f.report.rows) for f in fired)
    names = ", ".join(f.rule.name for f in fired)
    message = EmailMessage()
    message["Subject"] = " ".join(f"MOR alert: {count} row{'s' * (count != 1)} fired ({names})".split())
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    text, parts = [], []
    e = html.escape
    for f in fired:
        report = f.report
        columns = report.columns
        text += [f"{f.rule.name}: {f.rule.when} — {len(report.rows)} row(s), {period_text(report)}"]
        head = "".join(f"<th>{e(report.label(c))}</th>" for c in columns)
        body = []
        for record in report.rows.to_dict("records"):
            cells = [shown(c, record.get(c), report.currency) for c in columns]
            text.append("  " + "; ".join(f"{report.label(c)}: {v}"
                                         for c, v in zip(columns, cells, strict=True)))
            body.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in cells) + "</tr>")
        parts.append(f"<h3>{e(f.rule.name)}: {e(f.rule.when)}</h3><p>{e(period_text(report))}</p>"
                     f"<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\"><tr>{head}</tr>"
                     f"{''.join(body)}</table>")
        text.append("")
    message.set_content("\n".join(text) + "\n")
    message.add_alternative("<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>",
                            subtype="html")
    message.add_attachment(as_json(fired).encode("utf-8"), maintype="application", subtype="json",
                           filename="alerts.json")
    return message

