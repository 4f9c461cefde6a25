"""The app's cache: how long a repeated report takes when the app's report cache serves it.

`python -m bench.app_cache [DB_URL …]` (part of `make bench`) runs the month report through the
app's own cached function (ui.state._cached_report: the cache bounded in bytes of
core/report_cache.py, outside a Streamlit server) once cold and several times warm, and
prints the times.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime, timezone

from core.params import Params
from core.settings import Settings
from core.sources.db import DatabaseSource

MONTH = (int(datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()),
         int(datetime(2024, 6, 30, 23, 59, 59, tzinfo=timezone.utc).timestamp()))
DEFAULT_URLS = ("sqlite:///bench/cache/demo_1M_20240701_s7.sqlite",
                "duckdb:///bench/cache/demo_1M_20240701_s7.duckdb")


def measure(url: str, repeats: int = 20) -> dict:
    from ui.state import _cached_report  # the very function the pages call
    source = DatabaseSource(url)
    params = Params(u="admin", from_=MONTH[0], till=MONTH[1], profit_show=True)
    settings = Settings()
    key = ("bench", url)

    def cached():  # keyed as the pages key it: the acting user first
        return _cached_report(params.u, key, params.cache_key(), settings.cache_key(),
                              source, params, settings)

    def once() -> float:
        started = time.perf_counter()
        report = cached()
        assert len(report.rows) > 0
        return time.perf_counter() - started

    cold = once()
    warm = [once() for _ in range(repeats)]
    return {"url": url, "cold": cold, "warm_median": statistics.median(warm), "warm_max": max(warm),
            "rows": len(cached().rows)}


def main(argv: list[str]) -> int:
    import logging
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from bench.output import CACHE_RESULTS, _read_json
    recorded = _read_json(CACHE_RESULTS)
    for url in argv or DEFAULT_URLS:
        r = measure(url)
        recorded[url] = r
        print(f"{r['url']}: {r['rows']} rows; first run {r['cold'] * 1000:.0f} ms; "
              f"from cache median {r['warm_median'] * 1000:.1f} ms, max {r['warm_max'] * 1000:.1f} ms")
    CACHE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    CACHE_RESULTS.write_text(json.dumps(recorded, indent=1))
    print(f"recorded in {CACHE_RESULTS}; `python -m bench --report-only` puts it in docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
