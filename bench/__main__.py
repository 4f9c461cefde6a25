"""python -m bench [--sizes 100k,1M,10M] [--engines sqlite,mariadb,duckdb,chdb] ...

Builds (or reuses) the demo databases, measures every report of bench/reports.py with the
core (DatabaseSource.run), the bare engine (the core's SQL through the DBAPI) and naive
pandas, each in a child process, and writes docs/benchmarks.md and docs/benchmarks.html.
Results accumulate in bench/cache/results.json (keyed by engine, size, report, method and
index mode), so a later run with --sizes 10M adds to an earlier 100k,1M run.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import data, output
from bench.data import say, size_name
from bench.reports import REPORTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = data.CACHE / os.environ.get("BENCH_RESULTS", "results.json")
ENGINES = ("sqlite", "mariadb", "duckdb", "chdb")
COPIES = ("duckdb", "chdb")      # analytics copies: their own indexes, none to choose
METHODS = ("core", "bare", "pandas")
INDEX_REPORTS = ("default_day", "default_month", "by_day")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def load_results(all_files: bool = False) -> dict:
    """This run's results file; with all_files, every bench/cache/results*.json merged
    (newest measurement of each key wins), for the docs."""
    if not all_files:
        return _read(RESULTS)
    merged: dict = {}
    for path in sorted(data.CACHE.glob("results*.json"), key=lambda p: p.stat().st_mtime):
        for k, v in _read(path).items():
            if k == "_meta":
                merged.setdefault("_meta", {}).update(v)
            elif k not in merged or v.get("at", "") >= merged[k].get("at", ""):
                merged[k] = v
    return merged


def save_results(results: dict) -> None:
    data.CACHE.mkdir(parents=True, exist_ok=True)
    current = _read(RESULTS)       # another run may share the file: merge, ours win
    current.update(results)
    tmp = RESULTS.with_suffix(f".{os.getpid()}.part")
    tmp.write_text(json.dumps(current, indent=1, sort_keys=True))
    os.replace(tmp, RESULTS)


def key(engine, size, report, method, indexes) -> str:
    return f"{engine}|{size}|{report}|{method}|{indexes}"


def child(url: str, report: str, method: str, repeat: int, budget: float, timeout: float) -> dict:
    spec = json.dumps({"url": url, "report": report, "method": method, "repeat": repeat,
                       "budget": budget})
    try:
        out = subprocess.run([sys.executable, "-m", "bench.child", spec], capture_output=True,
                             text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100k,1M,10M", help="call counts, e.g. 100k,1M (default 100k,1M,10M)")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--reports", default=",".join(REPORTS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--pandas-max", default="1M",
                   help="largest size measured with naive pandas, which holds every call "
                        "record of the period in memory (~1.5 GB per million); default 1M")
    p.add_argument("--pandas-reports", default=",".join(REPORTS),
                   help="reports measured with naive pandas (default: all)")
    p.add_argument("--mariadb-max", default="1M",
                   help="largest size loaded into MariaDB (default 1M: the demo builder loads "
                        "MariaDB at ~4-25k rows/s through pymysql, so 10M takes most of an hour)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    p.add_argument("--budget", type=float, default=30.0, help="seconds of repeats per measurement")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per measurement")
    p.add_argument("--no-index-study", action="store_true",
                   help="skip the with/without recommended index comparison (SQLite and "
                        "MariaDB at 1M, bench/index_ab.py)")
    p.add_argument("--report-only", action="store_true",
                   help="only rewrite docs/ from bench/cache/results.json")
    args = p.parse_args(argv)

    # SIGTERM (kill, a CI timeout) ends the run like Ctrl-C: the MariaDB server is stopped
    # and its data directory removed, and the results so far are written.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = load_results()
    if args.report_only:
        output.write(load_results(all_files=True))
        return 0
    sizes = [data.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    reports = [r.strip() for r in args.reports.split(",") if r.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name, allowed, given in (("engine", ENGINES, engines), ("report", REPORTS, reports),
                                 ("method", METHODS, methods)):
        bad = [g for g in given if g not in allowed]
        if bad:
            p.error(f"unknown {name}(s) {', '.join(bad)}; choose from {', '.join(allowed)}")
    pandas_max = data.parse_size(args.pandas_max)
    mariadb_max = data.parse_size(args.mariadb_max)

    results.setdefault("_meta", {}).update(output.machine())
    mariadb = None
    try:
        if "mariadb" in engines:
            mariadb = data.MariaDB().start()
            results["_meta"]["mariadb"] = mariadb.version()
        for size in sizes:
            for engine in engines:
                if engine == "mariadb" and size > mariadb_max:
                    continue
                url = mariadb.database(size) if engine == "mariadb" else data.file_database(engine, size)
                writer = mariadb.writer(size) if engine == "mariadb" else url
                modes = ["recommended"]
                for mode in modes:
                    if engine not in COPIES:
                        say(f"{engine} {size_name(size)}: indexes '{mode}'")
                        data.set_indexes(writer, mode)
                    for report in reports:
                        if mode == "schema" and report not in INDEX_REPORTS:
                            continue
                        for method in methods:
                            if mode == "schema" and method != "core":
                                continue
                            if method == "pandas" and size > pandas_max:
                                continue
                            if method == "pandas" and (report == "fup_maxid"
                                                       or report not in args.pandas_reports.split(",")):
                                continue
                            t0 = time.perf_counter()
                            load = os.getloadavg()[0]
                            res = child(url, report, method, args.repeat, args.budget, args.timeout)
                            res.update(engine=engine, size=size, report=report, method=method,
                                       indexes=mode if engine not in COPIES else "copy", load=round(load, 1),
                                       at=time.strftime("%Y-%m-%d %H:%M:%S"))
                            results[key(engine, size, report, method, res["indexes"])] = res
                            save_results(results)
                            shown = (f"{res['seconds']:.3f} s, peak +{res['peak_mb']:.0f} MB, "
                                     f"{res['rows']} rows" if "error" not in res else res["error"])
                            say(f"{engine:7} {size_name(size):>4} {report:13} {method:6} {mode:11} "
                                f"{shown} ({time.perf_counter() - t0:.0f} s)")
                if (engine in ("sqlite", "mariadb") and size == 1_000_000
                        and not args.no_index_study):
                    # With and without the recommended index, alternately in one process.
                    from bench import index_ab
                    say(f"{engine} {size_name(size)}: index study")
                    index_ab.main([writer], size_name(size))
    finally:
        if mariadb is not None:
            mariadb.stop()
        output.write(load_results(all_files=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
