"""Data source: which database or MOR server reports read, in which time zone, by which rules."""
from zoneinfo import available_timezones

import streamlit as st

from core.settings import ANSWERED_RULES, Settings
from ui import state, view
from ui.state import API, COPY, DEMO, SECRETS, SourceChoice

st.title("Data source")
current = state.source_choice()
secrets_url = state.secrets_db_url()
secrets_api = state.secrets_api()

KINDS = {DEMO: "Demo database (built on first use)",
         SECRETS: "MOR database from .streamlit/secrets.toml ([connections.mor])",
         COPY: "DuckDB analytics copy of a MOR database (fast at millions of calls)",
         API: "MOR server through its API (aggregate_get, MOR X18 or later)"}
kind = st.radio("Read reports from", list(KINDS), format_func=KINDS.get,
                index=list(KINDS).index(current.kind), key="source_kind")

if kind == DEMO:
    choice = SourceChoice(kind=DEMO, url=f"sqlite:///{state.demo_path()}")
    st.caption(f"A generated MOR database at `{state.demo_path()}`, ending now; rebuild it with "
               "`python -m core demo --replace`.")
elif kind == SECRETS:
    if not secrets_url:
        st.warning("No `[connections.mor]` in `.streamlit/secrets.toml`. Copy "
                   "`.streamlit/secrets.toml.example` and fill in your MOR database (a read-only "
                   "account is enough).", icon=":material/key_off:")
    choice = SourceChoice(kind=SECRETS, url=secrets_url)
elif kind == COPY:
    url = st.text_input("Analytics copy", value=current.url if current.kind == COPY else state.copy_url(),
                        help="A DuckDB file made by `python -m core sync --from <MOR database URL> "
                             "--to duckdb:///data/mor.duckdb`; re-run the sync (e.g. from cron) to refresh it.")
    choice = SourceChoice(kind=COPY, url=url.strip())
    view.freshness_panel(choice.url)
else:
    base = st.text_input("MOR server", value=current.api_base or secrets_api.get("base", ""),
                         placeholder="https://mor.example.com/billing",
                         help="The address of MOR's GUI; the API is at …/api/aggregate_get.")
    user = st.text_input("API username", value=current.api_user or secrets_api.get("username", ""))
    from_secrets = bool(secrets_api.get("secret"))
    secret = st.text_input("API secret key", type="password",
                           placeholder="from secrets.toml" if from_secrets else "",
                           help="MOR: Settings → API → Secret key. Kept in this session only; "
                                "put it in `[mor_api]` of secrets.toml to avoid typing it.")
    use_get = st.checkbox("Use GET (only if MOR has 'Allow GET API' on)", value=current.use_get)
    choice = SourceChoice(kind=API, api_base=base.strip(), api_user=user.strip(),
                          api_secret=secret or current.api_secret or str(secrets_api.get("secret", "")),
                          use_get=use_get)

st.subheader("Report rules")
settings = state.settings()
zones = sorted(available_timezones())
timezone = st.selectbox("Report time zone", zones, index=zones.index(settings.timezone),
                        help="The zone in which MOR stores call dates (its server's local time). "
                             "Periods and the date pickers use it.")
rule = st.radio("A call is answered when", ANSWERED_RULES, index=ANSWERED_RULES.index(settings.answered_rule),
                format_func={"disposition": "disposition is ANSWERED (MOR's SQL report)",
                             "hangupcause": "hangup cause is 16, normal clearing (MOR's Elasticsearch report)"}.get,
                horizontal=True)
stats = st.checkbox("Accountants may see statistics", value=settings.accountant_stats)
financial = st.checkbox("Accountants may see money columns", value=settings.accountant_financial)
new_settings = Settings(timezone=timezone, answered_rule=rule, accountant_stats=stats,
                        accountant_financial=financial)

test, use = st.columns(2)
if test.button("Test connection", icon=":material/network_check:"):
    try:
        with st.spinner("Connecting…"):
            st.success(state.current_source(choice).test_connection())
    except Exception as exc:
        message, hint = state.describe_error(exc)
        st.error(f"**{message}**" + (f"  \n{hint}" if hint else ""))
if use.button("Use this source and these rules", type="primary", icon=":material/check:"):
    if choice.kind == API and choice.api_user:
        state.set_params(state.current_params().with_(u=choice.api_user))
    if choice != current:
        state.set_source_choice(choice)
    st.session_state.settings = new_settings
    st.session_state.pop("w_u", None)
    st.rerun()
