"""Losses: the groups that lose money (or whose margin is below a chosen percentage) in the
applied period, most lost first, with the money lost, the calls involved and a download."""
import streamlit as st

from ui import losses, state, view

st.title("Losses")
if not losses.sees_money():   # not in the navigation then; said plainly if reached anyway
    losses.refused()
    st.stop()

st.caption(view.period_text(state.current_params()))
by, margin_below = losses.choices()
found = losses.run(by, margin_below)
if found is not None:
    losses.show(found)
