"""One measurement in a process of its own: `python -m bench.child '<json>'`.

Input: {"url", "report", "method" (core|bare|pandas), "repeat", "budget"}. Prints one JSON
line: {"seconds": best wall time, "runs": [...], "rows": result rows, "peak_mb": the peak
resident memory growth over the process's state just before the first run (VmHWM after
resetting it, minus VmRSS), "rss_mb": the absolute peak}.
"""
from __future__ import annotations

import gc
import json
import sys
import time


def memory_status() -> dict:
    """VmRSS and VmHWM of this process, in MB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) / 1024.0
    return out


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")          # reset VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def measure(spec: dict) -> dict:
    from bench import reports
    from core.settings import Settings
    from core.sources.db import DatabaseSource, open_engine

    report, method = spec["report"], spec["method"]
    repeat = max(1, int(spec.get("repeat", 3)))
    budget = float(spec.get("budget", 20.0))
    if report == "fup_maxid":
        reports.use_maxid_fup()
    # As the app opens it (core.sources.db.open_engine): for DuckDB, no pooled connection
    # and the report memory limit.
    engine = open_engine(spec["url"])
    backend = engine.url.get_backend_name()
    params = reports.params_for(report)
    settings = Settings()
    source = DatabaseSource(engine)
    paired = method == "core" and spec.get("pair", True)
    raw = driver = sql = bound = None

    def prepare_bare():
        nonlocal raw, driver, sql, bound
        sql, bound = reports.captured_sql(engine, source, params, settings)
        raw = engine.raw_connection()
        driver = raw.driver_connection

    if method == "bare":
        prepare_bare()
    import pandas  # noqa: F401  (imported before the baseline)

    def once(how=method):
        if how == "core":
            return len(source.run(params, settings).rows)
        if how == "bare":
            return reports.run_bare(driver, backend, sql, bound)
        return len(reports.run_naive(engine, report))

    gc.collect()
    reset_peak()
    base = memory_status()["VmRSS"]
    runs, rows = [], 0
    deadline = time.perf_counter() + budget
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = once()
        runs.append(time.perf_counter() - t0)
        if time.perf_counter() + runs[-1] > deadline:
            break
    st = memory_status()
    bare_runs = []
    if paired:
        # The core and the bare engine alternately, under the same machine load: the fair
        # ratio. Peak memory above is the core's alone (read before these runs).
        prepare_bare()
        deadline = time.perf_counter() + budget
        for _ in range(repeat):
            t0 = time.perf_counter()
            once("bare")
            bare_runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            once("core")
            runs.append(time.perf_counter() - t0)
            if time.perf_counter() + runs[-1] + bare_runs[-1] > deadline:
                break
    if raw is not None:
        raw.close()
    engine.dispose()
    extra = {"bare_seconds": min(bare_runs), "bare_runs": bare_runs} if bare_runs else {}
    return {**extra, "seconds": min(runs), "runs": runs, "rows": rows,
            "peak_mb": round(st["VmHWM"] - base, 1), "rss_mb": round(st["VmHWM"], 1),
            "base_mb": round(base, 1)}


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    try:
        print(json.dumps(measure(spec)))
    except Exception as exc:  # reported, not raised: one failure must not end the run
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        print(json.dumps({"error": f"{exc.__class__.__name__}: {first_line}"}))
