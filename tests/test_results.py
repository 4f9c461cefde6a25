"""Rows come back as columns, and the report is the one the row-by-row fetch gave.

core.results.fetch reads DuckDB's result as Arrow (DECIMAL sums through their exact text,
HUGEINT as BIGINT) and other drivers' rows a partition at a time. The oracle is the fetch
it replaced: every row as a tuple into one DataFrame. Same frame, dtypes, totals, on every
engine, for reports that group by everything, nothing, a reseller's scope and no rows.
"""
from __future__ import annotations

import pandas as pd
import pytest

from core import results
from core.params import Params
from core.settings import Settings
from core.sources.db import DatabaseSource
from tests import fixture_small
from tests.fixture_small import FROM, TILL

EVERY_GROUPING = dict(group_by_user=1, group_by_device=1, group_by_terminator=1, group_by_provider=1,
                      group_by_dst_group=1, group_by_dst=1, group_by_day=1, group_by_hour=1,
                      group_by_user_rate=1, group_by_provider_rate=1)
REPORTS = {
    "default": dict(u="admin"),
    "every grouping, profit, EUR": dict(u="admin", profit_show=1, a_currency="EUR", **EVERY_GROUPING),
    "real billsec by day": dict(u="admin", use_real_billsec=1, group_by_day=1),
    "a Reseller PRO": dict(u="respro", profit_show=1, group_by_provider=1),
    "no rows": dict(u="admin", a_dst="0000%"),
}


def row_by_row(conn, stmt) -> pd.DataFrame:
    """The fetch before issue 11: every row a tuple, one DataFrame of them."""
    result = conn.execute(stmt)
    return pd.DataFrame([tuple(r) for r in result.fetchall()], columns=list(result.keys()))


@pytest.fixture
def source(make_db):
    return DatabaseSource(make_db(fixture_small.TABLES))


@pytest.mark.parametrize("name", REPORTS)
def test_the_report_is_the_row_by_row_one(source, name, monkeypatch):
    params = Params(from_=FROM, till=TILL, **REPORTS[name])
    columnar = source.run(params, Settings())
    monkeypatch.setattr(results, "fetch", row_by_row)
    rows = source.run(params, Settings())
    pd.testing.assert_frame_equal(columnar.rows, rows.rows, check_exact=True)
    assert columnar.totals == rows.totals
    assert (len(columnar.rows) == 0) == (name == "no rows")


def test_duckdb_hands_over_arrow_not_rows(make_db, engine_kind, monkeypatch):
    """On DuckDB nothing fetches Python rows: the fetch goes through a relation's Arrow reader."""
    if engine_kind != "duckdb":
        pytest.skip("DuckDB only")
    source = DatabaseSource(make_db(fixture_small.TABLES))
    monkeypatch.setattr(results, "frame", lambda result: pytest.fail("rows fetched one by one"))
    report = source.run(Params(u="admin", from_=FROM, till=TILL, **EVERY_GROUPING), Settings())
    assert report.totals["total_calls"] == 27          # tests/fixture_small.py: 27 counted records
    assert str(report.rows["originator"].dtype) == "str"


def test_a_failing_duckdb_statement_is_one_clear_source_error(make_db, engine_kind, monkeypatch):
    if engine_kind != "duckdb":
        pytest.skip("DuckDB only")
    from core.errors import SourceUnavailable
    source = DatabaseSource(make_db(fixture_small.TABLES))
    monkeypatch.setattr(results, "driver_sql", lambda conn, stmt: ("SELECT * FROM no_such_table", []))
    with pytest.raises(SourceUnavailable, match="no_such_table"):
        source.run(Params(u="admin", from_=FROM, till=TILL), Settings())
