"""With and without the recommended index, alternately in one process (same machine load):
`python -m bench.index_ab URL [URL...]` (SQLite or MariaDB URLs holding the index).

Without = the same statement with the covering index excluded (MariaDB `IGNORE INDEX`,
SQLite `INDEXED BY calls_calldate`, i.e. MOR's own calldate index). Results are merged into
bench/cache/index_ab.json for docs/benchmarks.md.
"""
from __future__ import annotations

import json
import sys
import time

from sqlalchemy import create_engine

from bench import reports
from bench.data import CACHE, COVERING_INDEX
from core.settings import Settings
from core.sources.db import DatabaseSource

REPORTS = ("default_day", "default_month", "by_day")


def without(sql: str, backend: str) -> str:
    hint = (f"IGNORE INDEX ({COVERING_INDEX})" if backend in ("mysql", "mariadb")
            else "INDEXED BY calls_calldate")
    return sql.replace("FROM calls ", f"FROM calls {hint} ", 1)


def main(urls, size: str, repeat: int = 2) -> None:
    path = CACHE / "index_ab.json"
    try:
        out = json.loads(path.read_text())
    except (OSError, ValueError):
        out = {}
    for url in urls:
        engine = create_engine(url)
        backend = engine.url.get_backend_name()
        source = DatabaseSource(engine)
        raw = engine.raw_connection()
        for report in REPORTS:
            sql, bound = reports.captured_sql(engine, source, reports.params_for(report), Settings())
            times = {"with": [], "without": []}
            for _ in range(repeat):
                for label, text in (("without", without(sql, backend)), ("with", sql)):
                    t0 = time.perf_counter()
                    reports.run_bare(raw.driver_connection, backend, text, bound)
                    times[label].append(time.perf_counter() - t0)
            key = f"{'mariadb' if backend in ('mysql', 'mariadb') else backend}|{size}|{report}"
            out[key] = {k: min(v) for k, v in times.items()}
            out[key]["at"] = time.strftime("%Y-%m-%d %H:%M:%S")
            print(key, out[key], flush=True)
            path.write_text(json.dumps(out, indent=1, sort_keys=True))
        raw.close()
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[2:], sys.argv[1])
