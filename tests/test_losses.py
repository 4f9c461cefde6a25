"""Losses (issue 13, item 2) on 2024-03-16 of tests/fixture_compare.py, worked out by hand:

c11 Bob  -> 3705 (group 2) via ProvB (terminator 2): 0.20 - 0.50 = -0.30, margin -150 %
c12 Ann  -> 447  (group 3) via ProvA (terminator 1): 0.10 - 0.15 = -0.05, margin  -50 %
c13 Ann  -> 3706 (group 1) via ProvA (terminator 1): 1.00 - 0.95 = +0.05, margin    5 %
c14 Rita -> 3705 (group 2) via ProvA (terminator 1): 0.30 - 0.40 = -0.10, margin -33.3 %
c15 Ann  -> 3705 (group 2) via ProvA, not answered:  0
"""
from __future__ import annotations

import math

import pytest

from core.cli import main
from core.errors import AccessDenied
from core.losses import run_losses
from core.params import Params
from core.settings import Settings
from core.sources.db import DatabaseSource
from tests.fixture_compare import LOSS_FROM, LOSS_TILL, TABLES


def losses(make_db, user="admin", settings=None, **kwargs):
    params = Params(u=user, from_=LOSS_FROM, till=LOSS_TILL)
    return run_losses(DatabaseSource(make_db(TABLES)), params, settings or Settings(), **kwargs)


def keys(found, *columns):
    return [tuple(r[c] for c in columns) for r in found.report.rows.to_dict("records")]


def test_losing_groups_most_lost_first(make_db):
    found = losses(make_db)
    # (group 2, terminator 2) -0.30; (group 2, terminator 1) c14 + c15 = -0.10; (3, 1) -0.05
    assert keys(found, "dst_group_id", "terminator_id") == [(2, 2), (2, 1), (3, 1)]
    assert [round(p, 6) for p in found.report.rows["profit"]] == [-0.3, -0.1, -0.05]
    assert math.isclose(found.lost, 0.45) and found.calls == 4
    assert math.isclose(found.report.totals["profit"], -0.45)
    assert found.report.totals["total_calls"] == 4


def test_by_destination(make_db):
    found = losses(make_db, by="destination")
    # 3705: c11 + c14 + c15 = 0.50 - 0.90 = -0.40; 447: -0.05; 3706 gains
    assert keys(found, "dst") == [("3705",), ("447",)]
    assert math.isclose(found.lost, 0.45) and found.calls == 4


def test_by_originator_and_provider(make_db):
    assert keys(losses(make_db, by="originator"), "originator_id") == [(3,), (7,)]   # Ann: -0.05+0.05=0
    assert keys(losses(make_db, by="provider"), "provider_id") == [(2,), (1,)]        # -0.30, -0.10


def test_margin_threshold(make_db):
    found = losses(make_db, margin_below=10)
    # the three losing rows and (group 1, terminator 1) with its 5 % margin, last
    assert keys(found, "dst_group_id", "terminator_id") == [(2, 2), (2, 1), (3, 1), (1, 1)]
    assert math.isclose(found.lost, 0.45) and found.calls == 5
    found = losses(make_db, margin_below=-40)
    # -150 % and -50 % are below -40 %; (2, 1) is 0.30 vs 0.40: -33.3 %, not below
    assert keys(found, "dst_group_id", "terminator_id") == [(2, 2), (3, 1)]
    assert math.isclose(found.lost, 0.35) and found.calls == 2


def test_a_resellers_losses_are_his_calls_only(make_db):
    found = losses(make_db, user="respro", by="destination")
    assert keys(found, "dst") == [("3705",)] and found.calls == 1


def test_an_accountant_without_money_is_refused(make_db):
    with pytest.raises(AccessDenied, match="Access Denied") as err:
        losses(make_db, user="acc", settings=Settings(accountant_stats=True, accountant_financial=False))
    assert "money" in err.value.full()
    found = losses(make_db, user="acc", settings=Settings(accountant_stats=True, accountant_financial=True))
    assert found.calls == 4


def test_the_command_line(db_url_factory, capsys, monkeypatch):
    _, url = db_url_factory(TABLES)
    period = [f"from={LOSS_FROM}", f"till={LOSS_TILL}"]
    assert main(["losses", "--db", url, "--format", "csv", *period]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("terminator_id,terminator,dst_group_id") or "dst_group_id" in lines[0]
    assert len(lines) == 1 + 3 + 1 and lines[-1].startswith("Total")
    assert "0.45 USD lost over 4 calls" in err
    assert main(["losses", "--db", url, "--margin-below", "-40", *period]) == 0
    out, err = capsys.readouterr()
    assert "0.35 USD lost over 2 calls" in err
    monkeypatch.setenv("MOR_ACCOUNTANT_STATS", "1")
    monkeypatch.setenv("MOR_ACCOUNTANT_FINANCIAL", "0")
    assert main(["losses", "--db", url, "--user", "acc", *period]) == 3
    out, err = capsys.readouterr()
    assert err.startswith("error: Access Denied") and "money" in err and out == ""
    assert main(["losses", "--db", url, "--margin-below", "ten", *period]) == 2
    assert "--margin-below" in capsys.readouterr().err
