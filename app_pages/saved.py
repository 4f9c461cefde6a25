"""Saved reports: the signed-in user's own and the shared ones (the admin's: all), each
opened as the one who opens it, renamed, shared or deleted by its owner, with the crontab
line and systemd units that deliver it."""
import streamlit as st

from core.escaping import markdown_text
from core.saved import SCHEDULES
from ui import saved

saved.goto_opened()
st.title("Saved reports")
st.caption("Save the applied report from the sidebar's **Save report**. Opening one runs it as "
           "you, with your own scope; a relative period (yesterday, last week …) is resolved now.")
if st.session_state.get("saved_error"):
    st.error(markdown_text(st.session_state.pop("saved_error")), icon=":material/error:")

reports = saved.listed()
if reports is None:
    st.stop()
if not reports:
    st.info("No saved reports yet.", icon=":material/bookmark:")
    st.stop()

with st.expander("Delivery: when and where", expanded=False, icon=":material/schedule:"):
    left, middle, right = st.columns(3)
    schedule = left.selectbox("Schedule", SCHEDULES, index=1, key="delivery_schedule",
                              help="daily at the time; weekly on Mondays; monthly on the 1st")
    at = middle.text_input("At (HH:MM, the server's time)", value="07:00", key="delivery_at")
    fmt = right.selectbox("Format", ("xlsx", "csv", "json"), key="delivery_format")
    mail_to = st.text_input("Mail to (addresses separated by spaces)", value="you@example.com",
                            key="delivery_mail_to")

for report in reports:
    saved.show_saved(report, schedule, at.strip(), fmt, mail_to)
