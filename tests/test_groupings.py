"""core/groupings.py: one table of the ten groupings, and everything derived from it.

The expected columns, titles and defaults are written out by hand from spec section 3 and
the app's wording; the derived constants must agree with them, and core/query.py must be
able to compute every grouping in the table.
"""
from __future__ import annotations

from core import charts, params, query, report
from core.groupings import BY_FLAG, GROUPINGS
from tests.reference import KEY_COLUMNS

# flag: (key column, label column, title, is an id), by hand from spec section 3.
SPEC = {
    "user": ("originator_id", "originator", "Originator", True),
    "device": ("device_id", "device", "Device", True),
    "terminator": ("terminator_id", "terminator", "Terminator", True),
    "provider": ("provider_id", "provider", "Provider", True),
    "dst_group": ("dst_group_id", "dst_group", "Destination group", True),
    "dst": ("dst", "destination", "Destination", False),
    "day": ("day", None, "Day", False),
    "hour": ("hour", None, "Hour", False),
    "user_rate": ("user_rate", None, "Originator rate", False),
    "provider_rate": ("provider_rate", None, "Provider rate", False),
}


def test_the_table_is_the_spec_in_its_order():
    assert [g.flag for g in GROUPINGS] == list(SPEC)
    for g in GROUPINGS:
        assert (g.key, g.label, g.title, g.is_id) == SPEC[g.flag]
        assert g.columns == KEY_COLUMNS[g.flag]  # the test oracle's reading of the spec
        assert g.help.startswith("One row per")
    assert BY_FLAG["dst_group"].title == "Destination group"


def test_params_take_the_flags_and_mors_default_from_the_table():
    assert params.GROUP_FLAGS == tuple(SPEC)
    assert params.DEFAULT_GROUPS == ("user", "terminator", "dst_group")
    assert params.PARAM_NAMES[5:15] == tuple(f"group_by_{f}" for f in SPEC)


def test_headings_and_id_columns():
    assert report.LABELS["originator_id"] == "Originator ID"
    assert report.LABELS["dst_group_id"] == "Destination group ID"
    assert report.LABELS["dst"] == "Prefix" and report.LABELS["destination"] == "Destination"
    assert report.LABELS["user_rate"] == "Originator rate" and report.LABELS["hour"] == "Hour"
    assert set(report.ID_KEYS) == {"originator_id", "device_id", "terminator_id", "provider_id",
                                   "dst_group_id"}
    assert {"hour", *report.ID_KEYS} <= set(report.INTEGERS)
    assert {"user_rate", "provider_rate"} <= set(report.FLOATS)


def test_chart_dimensions_are_the_groupings_with_a_label():
    assert set(charts.DIMENSIONS) == {"originator", "device", "terminator", "provider",
                                      "dst_group", "destination"}
    assert charts.DIMENSIONS["destination"] == ("destination", ["dst", "destination"])


def test_query_can_compute_every_grouping():
    """A grouping whose key is not raw must be looked up; a label must have its join."""
    looked_up = set(query.looked_up_keys(query.raw_sums(*_report_inputs())))
    for g in GROUPINGS:
        assert (g.raw is not None) != (g.flag in looked_up), g.flag
        if g.label:
            assert g.label in query.LABELS, g.label
    assert set(query.LABELS) == {g.label for g in GROUPINGS if g.label}


def test_key_columns_follow_the_table_for_every_flag():
    for flag in SPEC:
        chosen = params.Params(u="admin", from_=0, till=1, **{f"group_by_{flag}": True})
        assert query.key_columns(chosen) == list(KEY_COLUMNS[flag])
    every = params.Params(u="admin", from_=0, till=1, **{f"group_by_{f}": True for f in SPEC})
    assert query.key_names(every) == [key for key, *_ in SPEC.values()]


def _report_inputs():
    from core.access import ActingUser
    from core.settings import Settings
    everything = params.Params(u="admin", from_=0, till=1, **{f"group_by_{f}": True for f in SPEC})
    return everything, ActingUser(0, "admin", "admin", False), Settings()
