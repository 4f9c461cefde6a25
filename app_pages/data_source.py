"""Data source: which configured source reports read, in which time zone, by which rules.

The sources are the operator's: `.streamlit/secrets.toml` or the environment defines them,
and this page only chooses one by name. No one types a URL, host, secret or driver option
here, and nothing connects until a button says so. Choosing is the signed-in admin's alone
(viewing as someone, he keeps it); everyone else sees what is in force, and nothing that
counts calls outside his scope (no freshness, no connection test).
"""
from zoneinfo import available_timezones

import streamlit as st

from core.escaping import markdown_text
from core.settings import ANSWERED_RULES
from core.sources.config import ANALYTICS, CLICKHOUSE, DEMO, MOR, MOR_API, SECRETS_FILE
from ui import state, view

ABOUT = {
    DEMO: "A generated MOR database that ends now; rebuild it with `python -m core demo --replace`.",
    MOR: "Your MOR database, read with the configured account (a read-only one is enough).",
    ANALYTICS: "A DuckDB copy of a MOR database made by `python -m core sync`, fast at millions of calls; "
               "re-run the sync (e.g. from cron) to refresh it.",
    MOR_API: "A MOR server's `aggregate_get` API (MOR X18 or later). Its secret goes to this server only. "
             "The API cannot list names, so the sidebar asks for ids.",
    CLICKHOUSE: "A ClickHouse copy of a MOR database made by `python -m core sync --to`, in a ClickHouse "
                "server or in chDB (in-process: a sync and the app take turns on its data directory); "
                "see docs/scaling.md for going past one machine.",
}
RULES = {"disposition": "disposition is ANSWERED (MOR's SQL report)",
         "hangupcause": "hangup cause is 16, normal clearing (MOR's Elasticsearch report)"}

st.title("Data source")
configuration = state.configuration()
for problem in state.problems():
    st.error(markdown_text(problem), icon=":material/settings_alert:")


def title(name: str) -> str:
    config = configuration.sources.get(name)
    return config.title if config else f"{state.KNOWN_SOURCES[name][0]} (not configured)"


settings = state.settings()
allowed = {True: "allowed", False: "not allowed"}


def permissions() -> None:
    st.markdown(f"Accountants may see statistics: **{allowed[settings.accountant_stats]}** · "
                f"money columns: **{allowed[settings.accountant_financial]}**")
    st.caption(f"MOR's accountant permissions, set by the operator (`[report]` accountant_stats and "
               f"accountant_financial in `{SECRETS_FILE}`, or MOR_ACCOUNTANT_STATS and "
               "MOR_ACCOUNTANT_FINANCIAL), not on this page.")


if not state.is_admin():   # what is in force, read-only
    st.markdown(f"Reports read from: **{title(state.source_name())}**  \n"
                f"Report time zone: **{settings.timezone}**  \n"
                f"A call is answered when {RULES[settings.answered_rule]}")
    permissions()
    st.caption("Only MOR's admin chooses the source and the report rules.")
    st.stop()

names = list(state.KNOWN_SOURCES)
in_use = state.source_name()
name = st.radio("Read reports from", names, format_func=title, key="source_radio",
                index=names.index(in_use) if in_use in names else 0,
                help=f"The sources configured in `{SECRETS_FILE}` or the environment "
                     "(see `.streamlit/secrets.toml.example`).")
chosen = configuration.sources.get(name)
if chosen is None:
    st.warning(f"Not configured: {state.KNOWN_SOURCES[name][1]}.", icon=":material/key_off:")
else:
    st.caption(f"{ABOUT[name]}  \n`{chosen.shown()}`")
    if st.button("Check freshness", icon=":material/update:",
                 help="How many calls it holds, the newest one, and for a copy its last sync."):
        st.session_state.freshness_for = name
    if st.session_state.get("freshness_for") == name:
        view.freshness_panel(chosen)

st.subheader("Report rules")
zones = sorted(available_timezones())
timezone = st.selectbox("Report time zone", zones, index=zones.index(settings.timezone),
                        help="The zone in which MOR stores call dates (its server's local time). "
                             "Periods and the date pickers use it.")
rule = st.radio("A call is answered when", ANSWERED_RULES, index=ANSWERED_RULES.index(settings.answered_rule),
                format_func=RULES.get, horizontal=True)
permissions()

if st.button("Test connection", icon=":material/network_check:", disabled=chosen is None):
    try:
        with st.spinner("Connecting…"):
            st.success(markdown_text(view.source(chosen).test_connection()))
    except Exception as exc:
        view.show_error(exc)

# A source he has not signed in to this session asks for his password there (the form is
# cleared on submit, so the password never stays in the session).
with st.form("use_source", clear_on_submit=True, border=False):
    password = None
    if chosen is not None and state.needs_password(name):
        password = st.text_input(f"Your password on {title(name)}", type="password",
                                 autocomplete="current-password",
                                 help="Each source checks its own MOR users: sign in to it once "
                                      "this session.")
    use = st.form_submit_button("Use this source and these rules", type="primary",
                                icon=":material/check:", disabled=chosen is None)
if use:
    try:
        state.set_source(name, password)   # the acting user stays the signed-in one
    except Exception as exc:
        view.show_error(exc)
    else:
        state.set_rules(timezone, rule)
        st.session_state.pop("w_u", None)
        st.rerun()
    finally:
        del password
