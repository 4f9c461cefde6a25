"""Driving the app in AppTest as a user would: open it, sign in, switch its source, read
what it shows.

Sources are configured as an operator would: the environment (MOR_DEMO_PATH, MOR_COPY_URL,
MOR_DB_URL) or secrets (`open_app(secrets=...)`, the [connections.*] and [mor_api] sections).
People sign in against the demo database (MOR_SOURCE=demo), which the tests point at their
own database; `open_app` signs in as the admin unless told another user, or no one."""
from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
USE_SOURCE = "Use this source and these rules"
PASSWORD = "demo"       # every user's, in the tests' databases


@contextlib.contextmanager
def app_environment(monkeypatch, demo_path: Path):
    """The app's demo database is `demo_path`, nothing else configured; UTC; no cache shared
    between tests."""
    monkeypatch.setenv("MOR_DEMO_PATH", str(demo_path))
    monkeypatch.setenv("MOR_SOURCE", "demo")
    for name in ("MOR_TIMEZONE", "MOR_ANSWERED_RULE", "MOR_ACCOUNTANT_STATS", "MOR_ACCOUNTANT_FINANCIAL",
                 "MOR_DB_URL", "MOR_COPY_URL", "MOR_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


def healthy(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def clean(at: AppTest) -> AppTest:
    """Healthy and without any error message on the page."""
    healthy(at)
    assert not at.error, [e.value for e in at.error]
    return at


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill the sign-in form and press Sign in, as a person would."""
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    [button] = [b for b in at.button if b.label == "Sign in"]
    button.click()
    return healthy(at.run())


def open_app(query: dict | None = None, page: str | None = None, secrets: dict | None = None,
             user: str | None = "admin", password: str = PASSWORD) -> AppTest:
    """The app opened (on `query`'s link), signed in as `user` (None: left on the sign-in
    page), then on `page`."""
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets:
        at.secrets.update(secrets)
    for name, value in (query or {}).items():
        at.query_params[name] = str(value)
    healthy(at.run())
    if user is None:
        return at
    sign_in(at, user, password)
    if "signed_in" not in at.session_state:   # refused: the sign-in page says why
        return at
    if page:
        at.switch_page(page)
        healthy(at.run())
    return at


def choose_source(at: AppTest, name: str) -> AppTest:
    """On the Data source page: pick a configured source by name (not yet applied)."""
    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    at.radio(key="source_radio").set_value(name)
    return healthy(at.run())


def click(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    button.click()
    return healthy(at.run())


def apply_source(at: AppTest, password: str = PASSWORD) -> AppTest:
    """Press "Use this source…", with the signed-in user's password on a source he has not
    signed in to this session (the page asks for it then)."""
    for box in at.text_input:
        if box.label.startswith("Your password on"):
            box.set_value(password)
    return click(at, USE_SOURCE)


def use_source(at: AppTest, name: str) -> AppTest:
    """Choose a source, apply it, and go back to the Aggregates page."""
    choose_source(at, name)
    apply_source(at)
    at.switch_page("app_pages/aggregates.py")
    return healthy(at.run())


def check_copy(at: AppTest, name: str, calls: int) -> AppTest:
    """On a report `at` shows: the copy `name`'s freshness (its `calls` call records, the
    newest in March 2024, a sync recorded), then the same report on it."""
    import pandas as pd

    expected = at.dataframe[0].value.reset_index(drop=True)
    assert len(expected) >= 1
    choose_source(at, name)
    assert not at.metric  # nothing read before the button
    click(at, "Check freshness")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Call records"] == f"{calls:,}"
    assert metrics["Newest call"].startswith("2024-03-")
    assert metrics["Last sync (UTC)"] != "never"
    use_source(at, name)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["source_name"] == name
    pd.testing.assert_frame_equal(at.dataframe[0].value.reset_index(drop=True), expected,
                                  check_exact=False)
    return at
