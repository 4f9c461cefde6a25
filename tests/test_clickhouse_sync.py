"""`sync --to chdb:///PATH`: the copy in chDB, resumed after an interrupt without duplicates."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from core import clickhouse
from core.schema import calls, users
from core.sync import copy_state, sync

SOURCE = {
    "users": [{"id": 1, "username": "ann", "usertype": "user"}],
    "calls": [{"id": i, "calldate": f"2024-0{1 + i % 3}-10 12:00:00", "user_id": 1, "billsec": 10 * i}
              for i in (3, 5, 8)],
}


def _read(path):
    engine = clickhouse.configure(create_engine(f"chdb:///{path}", poolclass=NullPool))
    try:
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(calls.c.id).order_by(calls.c.id))]
            billsec = conn.execute(select(func.sum(calls.c.billsec))).scalar()
            return ids, int(billsec or 0), conn.execute(select(func.count()).select_from(users)).scalar(), \
                copy_state(conn)
    finally:
        engine.dispose()


def test_sync_into_chdb_resumes_after_an_interrupt(db_url_factory, engine_kind, tmp_path):
    if engine_kind not in ("sqlite", "duckdb"):
        pytest.skip("one source engine kind is enough here; chDB holds the copy")
    _engine, url = db_url_factory(SOURCE)
    target = tmp_path / "copy.chdb"

    def stop_after_first(copied, last_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(url, f"chdb:///{target}", batch_rows=1, show_progress=False, on_batch=stop_after_first)
    ids, _, _, state = _read(target)
    assert ids == [3] and state["last_id"] == 3 and state["complete"] is False

    result = sync(url, f"chdb:///{target}", batch_rows=1, show_progress=False)
    assert result.copied == 2
    ids, billsec, n_users, state = _read(target)
    assert ids == [3, 5, 8]                  # no call twice, none missing
    assert billsec == 30 + 50 + 80
    assert n_users == 1 and state["complete"] is True and state["last_id"] == 8
