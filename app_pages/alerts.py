"""Alerts: your rules (kept in the app database; edited, imported and exported as the TOML
that `python -m core alerts --rules FILE` reads, for cron), and what fires now, each fired
row linked to the report that shows it."""
import streamlit as st

from core.appdb import AppDatabaseError
from core.escaping import markdown_text
from ui import alerts, view

st.title("Alerts")
st.caption("Each `[[rule]]`: a report (`params`, optional `compare`), a condition `when = \"COLUMN OP "
           "NUMBER\"` (OP one of < <= > >= == !=) and optional `min_calls`. Rules run with your own "
           "scope. Cron mails them with `python -m core alerts --rules FILE --mail-to ADDRESS`.")
try:
    alerts.load_editor()
    stored = alerts.stored_toml()
except AppDatabaseError as exc:
    view.show_error(exc)
    st.stop()

st.text_area("Your rules (TOML)", key=alerts.EDITOR, height=260, placeholder=alerts.EXAMPLE)
buttons = st.container(horizontal=True)
buttons.button("Save rules", on_click=alerts.save_rules, type="primary", icon=":material/save:")
buttons.download_button("Export TOML", stored or alerts.EXAMPLE, file_name="alert_rules.toml",
                        mime="application/toml", icon=":material/download:", on_click="ignore")
st.file_uploader("Import TOML", type=["toml"], key="alerts_upload", on_change=alerts.import_file,
                 help="Its rules replace the editor's text; press Save rules to keep them.")
if st.session_state.get("alerts_error"):
    st.error(markdown_text(st.session_state.pop("alerts_error")), icon=":material/error:")
if st.session_state.get("alerts_done"):
    st.success(st.session_state.pop("alerts_done"), icon=":material/check:")

st.subheader("What fires now")
try:
    rules = alerts.stored_rules()
except Exception as exc:   # a stored rule no longer valid, or the app database
    view.show_error(exc)
    st.stop()
if not rules:
    st.info("No rules saved yet.", icon=":material/notifications_off:")
    st.stop()
if st.button("Check now", icon=":material/notifications_active:"):
    for rule, params, fired, error in alerts.fired_now(rules):
        alerts.show_fired(rule, params, fired, error)
