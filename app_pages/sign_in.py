"""Sign in: MOR's username and password, checked by the configured source, before any data.

The password is read from the form into a local and handed to the source once: it never
enters session state or a cache, and the form is cleared after every attempt.
"""
import streamlit as st

from core.sources.config import DEMO
from ui import state, view

st.title("Sign in")
st.caption("With your MOR username and password. You see what MOR would show you: an admin "
           "everything, a Reseller PRO his own users' calls, an accountant what his permissions allow.")
try:
    config = state.sign_in_config()
except Exception as exc:   # a misnamed [app] source: said, and no form to fill
    view.show_error(exc)
    st.stop()

with st.form("sign_in", clear_on_submit=True, width=420):
    username = st.text_input("Username", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
if config.name == DEMO:
    st.info("Demo: every user's password is `demo` (e.g. admin, reseller_pro, accountant).",
            icon=":material/info:")

if submitted:
    try:
        with st.spinner("Signing in…"):
            state.sign_in(view.source(config), config, username.strip(), password)
    except Exception as exc:   # wrong, blocked, refused, throttled or unreachable: one message
        view.show_error(exc)
    else:
        st.rerun()
    finally:
        del password
