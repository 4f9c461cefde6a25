"""The app's report cache is bounded in bytes: least recently used out first, a report
larger than the whole cache never kept, entries keyed on the acting user first."""
from __future__ import annotations

import pandas as pd
import pytest

from core.params import Params
from core.report import Report
from core.report_cache import CacheLimitError, ReportCache, limit_bytes, report_bytes


def report(rows: int, name: str = "x") -> Report:
    """A report whose rows take rows × 16 bytes of numbers, plus a text column."""
    frame = pd.DataFrame({"total_calls": range(rows), "duration": [1.5] * rows, "day": [name] * rows})
    return Report(rows=frame, totals={"total_calls": rows}, currency="USD", from_=0, till=1,
                  key_columns=["day"], metric_columns=["total_calls", "duration"])


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_reports_size_is_its_rows_in_memory():
    one, ten = report(1_000), report(10_000)
    assert report_bytes(ten) - report_bytes(one) >= 9_000 * 16     # two 8-byte columns a row
    assert report_bytes(ten) < 10 * report_bytes(one) + 10_000


def test_the_least_recently_used_report_goes_first():
    size = report_bytes(report(1_000))
    cache = ReportCache(max_bytes=3 * size)
    for key in ("a", "b", "c"):
        assert cache.put(key, report(1_000, key))
    assert cache.get("a") is not None          # a is now the most recently used
    cache.put("d", report(1_000, "d"))         # room for three: b, the least recent, goes
    assert [k for k in "abcd" if k in cache] == ["a", "c", "d"]
    assert cache.bytes == 3 * size
    # Use order now c, a, d. A report about twice the size: c, then a make room; d stays.
    cache.put("e", report(2_000, "e"))
    assert [k for k in "abcde" if k in cache] == ["d", "e"]
    assert cache.bytes <= cache.max_bytes


def test_eviction_order_by_use_not_by_insertion():
    size = report_bytes(report(1_000))
    cache = ReportCache(max_bytes=2 * size)
    cache.put("old", report(1_000))
    cache.put("new", report(1_000))
    cache.get("old")
    cache.put("third", report(1_000))
    assert "old" in cache and "new" not in cache and "third" in cache


def test_a_report_larger_than_the_cache_is_not_kept_and_keeps_the_others():
    small = report(1_000)
    cache = ReportCache(max_bytes=2 * report_bytes(small))
    cache.put("small", small)
    huge = report(100_000)
    assert cache.put("huge", huge) is False
    assert "huge" not in cache and "small" in cache and len(cache) == 1
    runs = []
    got = cache.get_or_run("huge", lambda: runs.append(1) or huge)
    assert len(got.rows) == 100_000 and runs == [1] and "huge" not in cache


def test_entries_expire_after_their_time():
    clock = Clock()
    cache = ReportCache(max_bytes=10**9, ttl=600, clock=clock)
    cache.put("k", report(10))
    clock.now += 599
    assert "k" in cache
    clock.now += 2
    assert "k" not in cache and cache.bytes == 0


def test_a_kept_report_is_served_without_running_and_cannot_be_changed_by_a_page():
    cache = ReportCache(max_bytes=10**9)
    runs = []
    first = cache.get_or_run("k", lambda: runs.append(1) or report(5))
    first.rows["total_calls"] = 0              # a page scribbling on its copy
    first.notes.append("scribble")
    second = cache.get_or_run("k", lambda: runs.append(1) or report(5))
    assert runs == [1]
    assert second.rows["total_calls"].tolist() == [0, 1, 2, 3, 4] and second.notes == []


@pytest.mark.parametrize("text, mb", [("", 512), ("64", 64), (" 0 ", 0), ("1.5", 1.5)])
def test_the_limit_comes_from_the_environment(text, mb):
    assert limit_bytes({"MOR_REPORT_CACHE_MB": text}) == int(mb * 2**20)


@pytest.mark.parametrize("text", ["lots", "-1", "nan", "1e12", "512MB"])
def test_a_bad_limit_is_one_clear_line(text):
    with pytest.raises(CacheLimitError, match="MOR_REPORT_CACHE_MB=.* is not a size: give megabytes"):
        limit_bytes({"MOR_REPORT_CACHE_MB": text})


def test_the_apps_cache_key_starts_with_the_acting_user(monkeypatch):
    """Two users asking the same report each get their own run: the key leads with the user."""
    import streamlit as st

    from core import compare
    from core.settings import Settings
    from ui import state
    st.cache_resource.clear()
    runs = []
    monkeypatch.setattr(compare, "run_report", lambda source, params, settings: runs.append(params.u)
                        or report(3, params.u))
    settings = Settings()
    for user in ("admin", "respro", "admin", "respro"):
        params = Params(u=user, from_=0, till=86399)
        got = state._cached_report(user, ("demo",), params.cache_key(), settings.cache_key(),
                                   None, params, settings)
        assert got.rows["day"].iloc[0] == user
    assert runs == ["admin", "respro"]
    [key_a, key_b] = list(state.kept_reports()._entries)
    assert key_a[0] == "admin" and key_b[0] == "respro"
    st.cache_resource.clear()


def test_a_bad_limit_is_said_on_the_page_and_the_default_used(monkeypatch):
    import streamlit as st

    from ui import state
    monkeypatch.setenv("MOR_REPORT_CACHE_MB", "lots")
    st.cache_resource.clear()
    assert "MOR_REPORT_CACHE_MB='lots' is not a size" in state._cache_problem()
    assert state.kept_reports().max_bytes == 512 * 2**20
    st.cache_resource.clear()
