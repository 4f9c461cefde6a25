"""The benchmark's alternative from_user_perspective (MAX(id) per uniqueid) gives the same
reports as the core's window function, on every engine — so comparing their speed is fair."""
from __future__ import annotations

import pandas as pd
import pytest

import core.query as query
from bench.reports import counted_calls_maxid
from core.params import Params
from core.settings import Settings
from core.sources.db import DatabaseSource
from tests.fixture_small import FROM, TABLES, TILL


@pytest.mark.parametrize("variant", [
    dict(), dict(group_by_day=1, group_by_hour=1), dict(a_dst="3706%"),
    # Terminator 2 groups the admin's common-use ProvB, which the Reseller PRO may name too.
    dict(group_by_provider=1, s_terminator_id=2),
])
@pytest.mark.parametrize("user", ["admin", "respro"])
def test_maxid_equals_window(make_db, monkeypatch, variant, user):
    source = DatabaseSource(make_db(TABLES))
    params = Params(u=user, from_=FROM, till=TILL, from_user_perspective=1, **variant)
    window = source.run(params, Settings())
    monkeypatch.setattr(query, "counted_calls", counted_calls_maxid(query.counted_calls))
    maxid = source.run(params, Settings())
    pd.testing.assert_frame_equal(window.rows, maxid.rows)
    assert window.totals == pytest.approx(maxid.totals)
