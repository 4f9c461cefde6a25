"""The Alerts page's pieces: the signed-in user's rules kept in the app database and edited
as the same TOML `python -m core alerts --rules` reads, and "what fires now", each rule run
with the acting user's scope, its fired rows linked to the report that shows them."""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from core.alerts import Fired, Rule, RuleError, evaluate, parse_rules
from core.drill import DrillRefused, drill
from core.errors import ReportError
from core.escaping import markdown_text
from core.params import GROUP_FLAGS, ParamError, Params, parse_params
from core.rules_toml import rules_toml
from ui import saved, state, view

EDITOR = "alerts_toml"
EXAMPLE = """[[rule]]
name = "negative margin by destination group"
params = { period = "yesterday", group_by_dst_group = 1, profit_show = 1 }
when = "margin < 0"
min_calls = 10
"""


def stored_toml() -> str:
    """The signed-in user's stored rules as TOML; AppDatabaseError when the database fails."""
    return rules_toml(r.definition for r in saved.app_db().rules_of(saved.owner()))


def load_editor() -> None:
    """The editor starts with the stored rules (once per session)."""
    if EDITOR not in st.session_state:
        st.session_state[EDITOR] = stored_toml()


def stored_rules() -> list[Rule]:
    """The stored rules, checked again (a rule may name a column a change made unknown)."""
    text = stored_toml()
    return parse_rules(text, state.settings().timezone) if text.strip() else []


def save_rules() -> None:
    """Check the editor's TOML and store exactly its rules (callback); a bad rule stores nothing."""
    text = st.session_state.get(EDITOR, "")
    st.session_state.pop("alerts_error", None)
    try:
        rules = parse_rules(text, state.settings().timezone) if text.strip() else []
        db, owner = saved.app_db(), saved.owner()
        keep = {r.name for r in rules}
        for old in db.rules_of(owner):
            if old.name not in keep:
                db.delete_rule(owner, old.name)
        for rule in rules:
            db.save_rule(owner, rule.name, rule.definition(), replace=True)
    except RuleError as exc:
        st.session_state.alerts_error = f"Not saved: {exc}"
        return
    except (ValueError, ReportError) as exc:
        st.session_state.alerts_error = "Not saved: " + (exc.full() if isinstance(exc, ReportError)
                                                        else str(exc))
        return
    st.session_state[EDITOR] = rules_toml(r.definition() for r in rules)
    st.session_state.alerts_done = f"Saved {len(rules)} rule(s)."


def import_file() -> None:
    """An uploaded TOML file replaces the editor's text (saved when Save rules is pressed)."""
    upload = st.session_state.get("alerts_upload")
    if upload is None:
        return
    try:
        st.session_state[EDITOR] = upload.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.session_state.alerts_error = f"{upload.name} is not UTF-8 text; a rules file is TOML text."


def fired_now(rules: list[Rule]) -> list[tuple[Rule, Params | None, Fired | None, Exception | None]]:
    """Each rule run now as the acting user (cached like any report): its parameters, what
    fired, or why it could not run."""
    tz, user = state.settings().timezone, state.acting_username()
    out = []
    for rule in rules:
        params = None
        try:
            params = parse_params({**rule.params, "u": user}, tz=tz)
            out.append((rule, params, evaluate(rule, state.run_report(view.source(), params)), None))
        except (ParamError, RuleError) as exc:
            message = str(exc) if str(exc).startswith("rule '") else f"rule '{rule.name}': {exc}"
            out.append((rule, params, None, RuleError(message)))
        except Exception as exc:   # a failing source: said for this rule, the others still run
            out.append((rule, params, None, exc))
    return out


def row_link(params: Params, record: dict) -> str | None:
    """The app's URL of the report that shows this row alone (its keys as filters, the rule's
    grouping), or None when aggregate_get cannot filter to it (a rate)."""
    try:
        narrowed = drill(params, record, state.settings().timezone)
    except DrillRefused:
        return None
    narrowed = narrowed.with_(**{f"group_by_{g}": getattr(params, f"group_by_{g}") for g in GROUP_FLAGS},
                              from_=narrowed.from_, till=narrowed.till)
    pairs = {k: v for k, v in narrowed.to_pairs().items() if k not in ("u", "hash")}
    return "./?" + urlencode(pairs)


def show_fired(rule: Rule, params: Params | None, fired: Fired | None, error: Exception | None) -> None:
    title = f"{rule.name}: {rule.when}" + (f", at least {rule.min_calls} calls" if rule.min_calls else "")
    if error is not None:
        st.markdown(f"**{markdown_text(title)}**")
        view.show_error(error)
        return
    count = len(fired.report.rows)
    if not count:
        st.markdown(f"**{markdown_text(title)}**: nothing fires · "
                    f"{markdown_text(view.period_text(params))}")
        return
    st.markdown(f"**{markdown_text(title)}**: {count} row{'s' * (count != 1)} fire · "
                f"{markdown_text(view.period_text(params))}")
    columns = fired.report.columns
    st.dataframe(fired.report.rows[columns], hide_index=True)
    for record in fired.records():
        link = row_link(params, record)
        words = " × ".join(markdown_text(str(record[c])) for c in fired.report.key_columns
                           if not c.endswith("_id")) or "Total"
        value = markdown_text(str(record.get(rule.column)))
        if link is None:
            st.markdown(f"- {words}: {rule.column} = {value} (no filter reaches this row alone)")
        else:
            st.markdown(f"- [{words}]({link}): {markdown_text(rule.column)} = {value}")
