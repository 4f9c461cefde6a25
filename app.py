"""MOR aggregate reports: page config, sign-in, navigation, and the shared sidebar.

Until someone is signed in the navigation holds the Sign-in page alone: no page, sidebar
or choice of names exists to show anything before that.
"""
import streamlit as st

from ui import losses, saved, sidebar, state

st.set_page_config(page_title="MOR Aggregates", page_icon=":material/analytics:", layout="wide")

if state.signed_in() is None:
    sidebar.remember_link()   # a shared link's report opens once signed in
    st.navigation([st.Page("app_pages/sign_in.py", title="Sign in", icon=":material/login:")]).run()
    st.stop()

# The folder is not called pages/: beside the main script that name switches Streamlit to its
# legacy multipage mode (PagesManager.uses_pages_directory), in which AppTest reruns the page
# alone, without this file's sidebar, and a server's first run builds its own navigation.
pages = [
    st.Page("app_pages/aggregates.py", title="Aggregates", icon=":material/table:", default=True),
    st.Page("app_pages/charts.py", title="Charts", icon=":material/bar_chart:"),
    # Losses are money: hidden from an accountant without it, and refused if reached by its URL.
    st.Page("app_pages/losses.py", title="Losses", icon=":material/trending_down:",
            visibility="visible" if losses.sees_money() else "hidden"),
    st.Page("app_pages/saved.py", title="Saved reports", icon=":material/bookmarks:"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("app_pages/data_source.py", title="Data source", icon=":material/database:"),
    st.Page("app_pages/about.py", title="About", icon=":material/help:"),
]
page = st.navigation(pages)

sidebar.load_from_url()
sidebar.render()
with st.sidebar:
    saved.save_form(page)
sidebar.sync_url()
page.run()
