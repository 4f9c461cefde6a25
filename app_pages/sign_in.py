"""Sign in: MOR's username and password, checked by the configured source, before any data;
or, where secrets.toml has an [auth] section, through its identity provider (st.login).

The password is read from the form into a local and handed to the source once: it never
enters session state or a cache, and the form is cleared after every attempt. Back from the
identity provider, its verified e-mail must be exactly one MOR user's users.email.
"""
import streamlit as st

from core.escaping import markdown_text
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

identity = state.sso_identity()
if identity is not None and state.sso_refusal() is None:
    try:
        with st.spinner("Signing in…"):
            state.sign_in_with_sso(view.source(config), config, identity)
    except Exception as exc:   # a refusal is said below, with the way to another account
        if state.sso_refusal() is None:
            view.show_error(exc)
    else:
        st.rerun()
if identity is not None and state.sso_refusal() is not None:
    view.show_error(state.sso_refusal())
    email = str(identity.get("email") or "no e-mail address")
    st.caption(f"Your sign-in provider signed you in as {markdown_text(email)}.")
    st.button("Use another account", on_click=state.sso_logout, icon=":material/switch_account:")

with st.form("sign_in", clear_on_submit=True, width=420):
    username = st.text_input("Username", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
for provider, shown in state.sso_providers():
    if st.button(f"Sign in with {shown}", key=f"sso_{provider}", icon=":material/key:", width=420):
        try:
            state.sso_login(provider)
        except Exception as exc:   # a broken [auth] section: said, the password form still works
            view.show_error(exc)
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
