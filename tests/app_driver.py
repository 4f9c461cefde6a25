"""Driving the app in AppTest as a user would: open it, switch its source, read what it shows."""
from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
USE_SOURCE = "Use this source and these rules"


@contextlib.contextmanager
def app_environment(monkeypatch, demo_path: Path):
    """The app's demo database is `demo_path`; UTC; no cache shared between tests."""
    monkeypatch.setenv("MOR_DEMO_PATH", str(demo_path))
    monkeypatch.delenv("MOR_TIMEZONE", raising=False)
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


def open_app(query: dict | None = None, page: str | None = None, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets:
        at.secrets.update(secrets)
    for name, value in (query or {}).items():
        at.query_params[name] = str(value)
    healthy(at.run())
    if page:
        at.switch_page(page)
        healthy(at.run())
    return at


def choose_source(at: AppTest, kind: str, fields: dict[str, str]) -> AppTest:
    """On the Data source page: pick the kind, fill the fields by label (not yet applied)."""
    at.switch_page("app_pages/data_source.py")
    healthy(at.run())
    at.radio(key="source_kind").set_value(kind)
    healthy(at.run())
    inputs = {t.label: t for t in at.text_input}
    for label, value in fields.items():
        inputs[label].set_value(value)
    return healthy(at.run())


def use_source(at: AppTest, kind: str, fields: dict[str, str]) -> AppTest:
    """Choose a source, apply it, and go back to the Aggregates page."""
    choose_source(at, kind, fields)
    [use] = [b for b in at.button if b.label == USE_SOURCE]
    use.click()
    healthy(at.run())
    at.switch_page("app_pages/aggregates.py")
    return healthy(at.run())
