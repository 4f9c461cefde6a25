"""A filter found by searching, for a catalogue too long to list (core.sources.MAX_LISTED).

Type part of a name, a username or an id and press Enter; the database returns at most
core.sources.SEARCH_LIMIT matches within the acting user's scope; choose one and run the
report. Only the matches and the chosen one travel to the browser, so a page costs the same
with 100,000 customers as with 50. The filter's value is the id, as in the URL.
"""
from __future__ import annotations

import streamlit as st

from core.escaping import markdown_text
from core.sources import SEARCH_LIMIT, TooMany
from ui import state, view
from ui.form import key

# The report filter each catalogue names.
CATALOGUE = {"s_originator_id": "originators", "s_terminator_id": "terminators",
             "s_device": "devices", "s_provider": "providers"}


def id_filter(name: str, label: str, help_text: str, many: TooMany) -> None:
    kind = CATALOGUE[name]
    text = st.text_input(f"Find {label.lower()}", key=f"find_{name}",
                         placeholder="part of a name, username or id",
                         help=f"{many.count:,} {kind}: too many to list. Type part of a name, a "
                              f"username or an id and press Enter; up to {SEARCH_LIMIT} matches "
                              "are offered below.")
    matches = _matches(name, kind, text or "")
    current = st.session_state.get(key(name))
    labels = dict(matches)
    ids = [None] + list(labels)
    if current is not None and current not in labels:
        labels[current] = _name(name, kind, current)
        ids.insert(1, current)
    # None is "All": the browser shows a None value as no selection, hence the placeholder.
    st.selectbox(label, ids, key=key(name), help=help_text, placeholder="All",
                 format_func=lambda i: "All" if i is None else f"{labels.get(i) or 'unknown'} (#{i})")
    if (text or "").strip() and not matches:
        st.caption(markdown_text(f"No {kind} match “{text.strip()}”."))


def _matches(name: str, kind: str, text: str) -> list[tuple[int, str]]:
    """The matches of the text last searched, kept in the session until the text changes."""
    text = text.strip()
    kept = st.session_state.get(f"found_{name}")
    if kept is not None and kept[0] == (state.acting_username(), text):
        return kept[1]
    try:
        found = state.search(state.source(), kind, text)
    except Exception as exc:   # said in one line; the filter still works by its id
        st.caption(markdown_text(view.describe(exc)[0]))
        return []
    st.session_state[f"found_{name}"] = ((state.acting_username(), text), found)
    return found


def _name(name: str, kind: str, ident: int) -> str:
    """The label of the chosen id (from a link, say), if the acting user may see it; asked
    once, then kept in the session."""
    asked = (state.acting_username(), ident)
    kept = st.session_state.get(f"named_{name}")
    if kept is not None and kept[0] == asked:
        return kept[1]
    try:
        label = dict(state.search(state.source(), kind, f"#{ident}")).get(ident, "")
    except Exception:   # the report itself says what is wrong with the source
        return ""
    st.session_state[f"named_{name}"] = (asked, label)
    return label
