"""The shared sidebar: the source in use, who is signed in, then every aggregate_get
parameter in one form; and, while the admin views as someone, a banner on every page.

Reports run when the form is applied, not on every keystroke. The applied parameters
live in the URL under their aggregate_get names, so a copied URL reopens the report, as
whoever opens it: the URL's `u` is kept for MOR's sake but never changes who is acting.
"""
from __future__ import annotations

import streamlit as st

from core.columns import split_query
from core.errors import ReportError
from core.escaping import markdown_text
from core.groupings import GROUPINGS
from core.params import COMPARES, ParamError, parse_params
from core.sources import TooMany
from ui import columns, form, search, state, view
from ui.form import key

STREAMLIT_QUERY_KEYS = {"embed", "embed_options"}
COMPARE_CHOICES = ("", *COMPARES)     # "" rather than None: a browser shows None as no choice
COMPARE_TITLES = {"": "Nothing", "previous": "The period before", "week": "A week earlier",
                  "year": "A year earlier"}

PATTERN_HELP = ("`%` matches any run of characters; without `%` the value must match exactly. "
                "`_` is an ordinary character. Letter case is ignored. Empty means all.")


# --- the URL ------------------------------------------------------------------------

def remember_link() -> None:
    """Before sign-in: keep the link's parameters, to open its report once signed in."""
    if "link_query" not in st.session_state:
        st.session_state.link_query = st.query_params.to_dict()


def load_from_url() -> None:
    """Once per signed-in session: a link's aggregate_get parameters set the report and its
    widgets, run as the acting user whatever its `u` says."""
    if st.session_state.get("url_loaded"):
        return
    st.session_state.url_loaded = True
    link = st.session_state.pop("link_query", None) or st.query_params.to_dict()
    query = {k: v for k, v in link.items() if k not in STREAMLIT_QUERY_KEYS}
    query, app_keys = split_query(query)   # the table's columns: the app's, not MOR's
    columns.load(app_keys)
    if not query:
        return
    query["u"] = state.acting_username()
    try:
        params = parse_params(query, tz=state.settings().timezone)
    except ParamError as exc:
        st.session_state.url_error = f"The link's {exc}. The report uses the defaults instead."
        return
    state.set_params(params)


def sync_url() -> None:
    """Keep the address bar equal to the applied report (pages and reruns may clear it)."""
    wanted = {**state.current_params().to_pairs(), **columns.url_pairs()}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


# --- callbacks ------------------------------------------------------------------------

def _show(params) -> None:
    st.session_state.update(form.widget_values(params, state.settings().timezone))
    st.session_state.update(form.option_values(params))


def _apply() -> None:
    try:
        params = form.params_from_widgets(st.session_state, state.settings().timezone,
                                          previous=state.current_params())
        if state.is_admin() and params.u != state.acting_username():  # the admin's "View as"
            state.view_as(params.u, state.source())
    except ParamError as exc:
        st.session_state.form_error = str(exc)
        return
    except ReportError as exc:
        st.session_state.form_error = exc.full()
        return
    st.session_state.pop("form_error", None)
    st.session_state.pop("url_error", None)
    state.set_params(params)
    _show(state.current_params())


def _back_to_admin() -> None:
    state.end_view_as()
    _show(state.current_params())


def _sign_out() -> None:
    state.sign_out()
    st.query_params.clear()


def _reset() -> None:
    st.session_state.pop("form_error", None)
    st.session_state.pop("url_error", None)
    params = state.default_params()
    state.set_params(params)
    _show(params)


# --- widgets ----------------------------------------------------------------------------

def _id_filter(name: str, label: str, help_text: str, options: list | TooMany | None) -> None:
    if isinstance(options, TooMany):  # too many to list (an operator's 100,000 users): search
        search.id_filter(name, label, help_text, options)
        return
    if options is None:  # the source cannot list names (MOR's API): ask for the id
        st.number_input(f"{label} id", key=key(name), min_value=0, step=1, value=None,
                        placeholder="all", help=help_text + " Enter the MOR id.")
        return
    labels = dict(options)
    ids = [None] + [i for i, _ in options]
    current = st.session_state.get(key(name))
    if current is not None and current not in labels:
        ids.append(current)
    # None is "All": the browser shows a None value as no selection, hence the placeholder.
    st.selectbox(label, ids, key=key(name), help=help_text, placeholder="All",
                 format_func=lambda i: "All" if i is None else f"{labels.get(i, 'unknown')} (#{i})")


def _view_as(users: list | None) -> None:
    """The admin's choice of whom to view as (`u`); no one else has it."""
    names = [u for u, _ in users or ()]
    roles = dict(users or ())
    if st.session_state.get(key("u")) not in names:
        names.append(st.session_state.get(key("u")))
    st.selectbox("View as", names, key=key("u"),
                 help="See exactly what another MOR user would see (`u`): a Reseller PRO his own "
                      "users' calls at his own prices, an accountant what his permissions allow.",
                 format_func=lambda u: f"{u} ({roles[u]})" if u in roles else f"{u}")


def _signed_in() -> None:
    user = state.signed_in()
    st.markdown(f"Signed in as **{markdown_text(user.username)}** · {markdown_text(state.role(user))}")
    st.button("Sign out", on_click=_sign_out, icon=":material/logout:", width="stretch")


def _banner() -> None:
    """Every page says plainly whose view it shows while the admin views as someone."""
    viewed = state.viewing_as()
    if viewed is None:
        return
    name, role = viewed
    text, back = st.columns([5, 1], vertical_alignment="center")
    text.info(f"Viewing as **{markdown_text(name)}** ({markdown_text(role)}): every page shows what "
              "this user would see.", icon=":material/visibility:")
    back.button("Back to admin", on_click=_back_to_admin, icon=":material/undo:", width="stretch")


def render() -> None:
    params = state.current_params()
    if key("u") not in st.session_state:
        _show(params)
    # Two lookups, two chances: a user the admin views as who is refused (Access Denied)
    # must not hide the list of users to pick another one from.
    st.session_state.pop("sidebar_error", None)
    users = options = source = None
    try:
        source = view.source()
        users = state.acting_users(source)
        options = state.choices(source, params.u)
    except Exception as exc:  # the pages report the failure; the form still shows
        st.session_state.sidebar_error = view.describe(exc)[0]
    may_view_as = state.is_admin() and (source is None or source.capabilities.lists_acting_users)

    _banner()
    with st.sidebar:
        rules = state.settings()
        st.caption(f"**Source:** {_source_name()}  \n"
                   f"**Time zone:** {rules.timezone} · **Answered:** {rules.answered_rule}")
        _signed_in()
        for problem in state.problems():  # a malformed secrets.toml is said, not taken for "not configured"
            st.warning(markdown_text(problem), icon=":material/settings_alert:")
        with st.form("report_form", border=False):
            if may_view_as:
                _view_as(users)
            st.subheader("Period")
            st.selectbox("Period", form.PERIOD_CHOICES, key=key("period"), label_visibility="collapsed",
                         help="A relative period, resolved whenever the report runs (a shared or "
                              "saved *Yesterday* stays yesterday: `period=yesterday`), or Custom "
                              "for the fixed dates and times below (in the report time zone, "
                              f"{state.settings().timezone}).")
            st.date_input("Days (Custom)", key=key("dates"), format="YYYY-MM-DD",
                          help="First and last day of a Custom period.")
            left, right = st.columns(2)
            left.time_input("From", key=key("time_from"), step=60,
                            help="Start time on the first day (`from`).")
            right.time_input("Till", key=key("time_till"), step=60,
                             help="End time on the last day (`till`), to the last second of that minute.")
            st.selectbox("Compare with", COMPARE_CHOICES, key=key("compare"),
                         format_func=lambda c: COMPARE_TITLES[c],
                         help="`compare`: run the period before as well and show, for every "
                              "column, its previous value and the change (Δ): the same length just "
                              "before, the same days a week earlier, or a year earlier.")
            if options is None:
                st.text_input("Currency", key=key("a_currency"),
                              help="`a_currency`: every money figure in this currency.")
            else:
                currencies = options["currencies"] or ["USD"]
                if st.session_state.get(key("a_currency")) not in currencies:
                    currencies = currencies + [st.session_state.get(key("a_currency"))]
                st.selectbox("Currency", currencies, key=key("a_currency"),
                             help="`a_currency`: every money figure is converted with its exchange rate.")

            with st.expander("Group by", expanded=True):
                if params.is_default_grouping:
                    st.caption("None ticked: MOR's default, by originator, terminator and destination group.")
                for grouping in GROUPINGS:  # titles and help from core/groupings.py
                    flag = f"group_by_{grouping.flag}"
                    st.checkbox(grouping.title, key=key(flag), help=f"`{flag}`: {grouping.help}")

            with st.expander("Filters"):
                _id_filter("s_originator_id", "Originator", "`s_originator_id`: only this user's calls.",
                           options and options["originators"])
                _id_filter("s_terminator_id", "Terminator",
                           "`s_terminator_id`: only calls through this terminator's providers.",
                           options and options["terminators"])
                _id_filter("s_device", "Device", "`s_device`: only calls from this device.",
                           options and options["devices"])
                _id_filter("s_provider", "Provider", "`s_provider`: only calls through this provider.",
                           options and options["providers"])
                st.text_input("Source number", key=key("a_src"),
                              help="`a_src`: the caller number. " + PATTERN_HELP)
                st.text_input("Destination number", key=key("a_dst"),
                              help="`a_dst`: the dialled number. " + PATTERN_HELP)
                st.text_input("Destination group", key=key("dst_group"),
                              help="`dst_group`: the destination group's name. " + PATTERN_HELP)
                st.text_input("CallerID contains", key=key("clid"),
                              help="`clid`: part of the CallerID number or name; `%` and `_` are "
                                   "ordinary characters.")
                st.number_input("Billed seconds equal", key=key("s_duration"), min_value=0, step=1,
                                value=None, placeholder="any",
                                help="`s_duration`: only calls whose billsec is exactly this.")

            with st.expander("Options"):
                st.checkbox("Real billsec", key=key("use_real_billsec"),
                            help="`use_real_billsec`: Duration sums the unrounded real billsec.")
                st.checkbox("From user perspective", key=key("from_user_perspective"),
                            help="`from_user_perspective`: count each user call once, not once per "
                                 "failover attempt.")
                st.number_input("Answered calls at least", key=key("answered_calls"), min_value=0, step=1,
                                value=None, placeholder="no threshold",
                                help="`answered_calls`: hide rows with fewer answered calls.")
                st.checkbox("Show profit", key=key("profit_show"),
                            help="`profit_show`: add profit, margin and markup.")

            st.form_submit_button("Run report", type="primary", on_click=_apply, width="stretch")
        st.button("Reset to defaults", on_click=_reset, width="stretch")
        if st.session_state.get("url_error"):  # said once, where every page shows it
            st.error(markdown_text(st.session_state.pop("url_error")))
        if st.session_state.get("form_error"):
            st.error(markdown_text(st.session_state.form_error))
        if st.session_state.get("sidebar_error"):
            st.warning("Names for the filters could not be listed, so ids are asked for instead: "
                       + markdown_text(st.session_state.sidebar_error))


def _source_name() -> str:
    """The source in use by its configured title (never a URL: it may hold a password)."""
    try:
        return state.current_config().title
    except ReportError:
        name = state.source_name()
        return f"{state.KNOWN_SOURCES.get(name, (name,))[0]} (not configured)"
