"""python -m bench.large [--series results,catalogue] [--repeat 2] [--before-max 1M]

Issue 11's two series, each measurement in a process of its own (peak memory is that
process's VmHWM, as `/usr/bin/time` reports it):

- **Large results.** On the 10M-call DuckDB demo (bench/cache, built when missing), month
  reports of ~10k, ~51k (the accountant's originator × destination × day), ~100k, ~1.1M
  and ~2.5M rows, each measured as
  - `engine`: DuckDB runs the report's own statement into Arrow (what DuckDB alone costs),
    then pyarrow's CSV writer writes that table to a file (`engine + pyarrow csv`);
  - `report`: `python -m core report … --format csv --output FILE`, in process, end to end;
  - `before` (up to --before-max rows): the same with the row-by-row fetch and the
    cell-by-cell exporters of before (tests/legacy_exports.py).
- **Big catalogues.** The plain demo database, then copies with 10,000 and 100,000 more
  users (and 1.5 devices each): the Aggregates page signed in as the admin, opened then
  rerun, in Chromium (Playwright, a `streamlit run` of its own) and in AppTest (the server's
  side alone, with the options of its select boxes and the bytes of its elements); as the
  app is (`search`), and as it was (`listing`: every name listed).

Results go to bench/cache/large.json; `section()` writes them into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import data
from bench.child import memory_status, reset_peak
from bench.data import say, size_name
from bench.reports import DAYS, MONTH_FROM, MONTH_TILL, NOW

ROOT = Path(__file__).resolve().parent.parent
RESULTS = data.CACHE / "large.json"
CALLS = 10_000_000

# name -> (grouping, aggregate_get flags); rows as measured on the 10M demo (seed 7).
RESULT_REPORTS = {
    "10k": ("destination group × day × hour", ("dst_group", "day", "hour")),
    "accountant": ("originator × destination × day", ("user", "dst", "day")),
    "100k": ("originator × device × destination × day", ("user", "device", "dst", "day")),
    "1M": ("originator × device × destination × day × hour", ("user", "device", "dst", "day", "hour")),
    "2.5M": ("originator × device × terminator × provider × destination group × destination × day × hour",
             ("user", "device", "terminator", "provider", "dst_group", "dst", "day", "hour")),
}
CATALOGUE_USERS = (0, 10_000, 100_000)
CATALOGUE_CALLS = 200_000


# --- in the child process --------------------------------------------------------------------

def _report_args(url: str, report: str, output: str) -> list[str]:
    flags = [f"group_by_{f}=1" for f in RESULT_REPORTS[report][1]]
    return ["report", "--db", url, f"from={MONTH_FROM}", f"till={MONTH_TILL}", *flags,
            "--format", "csv", "--output", output]


def _engine_csv(url: str, report: str, output: str) -> dict:
    """DuckDB alone: the report's statement into Arrow, then pyarrow's CSV writer."""
    import pyarrow.csv

    from core.access import acting_user
    from core.params import Params
    from core.query import report_select
    from core.results import driver_sql
    from core.settings import Settings
    from core.sources.db import open_engine

    params = Params(u="admin", from_=MONTH_FROM, till=MONTH_TILL,
                    **{f"group_by_{f}": True for f in RESULT_REPORTS[report][1]})
    engine = open_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        stmt = report_select(params, acting_user(conn, "admin", Settings()), Settings())
        sql, values = driver_sql(conn, stmt)
        driver = conn.connection.driver_connection
        driver.abort()
        table = driver.sql(sql, params=values).to_arrow_table()
        queried = time.perf_counter()
        pyarrow.csv.write_csv(table, output)
    done = time.perf_counter()
    engine.dispose()
    return {"engine_seconds": queried - started, "seconds": done - started, "rows": table.num_rows}


def _report(url: str, report: str, output: str, before: bool) -> dict:
    """`python -m core report … --format csv --output FILE`, in this process."""
    from core import cli
    if before:
        import pandas as pd

        from core import results
        from tests import legacy_exports

        def row_by_row(conn, stmt):
            result = conn.execute(stmt)
            return pd.DataFrame([tuple(r) for r in result.fetchall()], columns=list(result.keys()))

        results.fetch = row_by_row
        cli.export_chunks = lambda report_, fmt: iter([legacy_exports.to_csv(report_)])
    started = time.perf_counter()
    code = cli.main(_report_args(url, report, output))
    if code != 0:
        raise RuntimeError(f"report exited {code}")
    seconds = time.perf_counter() - started
    with open(output, "rb") as fh:
        rows = sum(1 for _ in fh) - 2
    return {"seconds": seconds, "rows": rows}


def _page(db: str, mode: str) -> dict:
    """The Aggregates page in AppTest on `db`: opened (sign-in and first page), then rerun."""
    import logging
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    os.environ.update(MOR_DEMO_PATH=db, MOR_SOURCE="demo")
    for name in ("MOR_DB_URL", "MOR_COPY_URL", "MOR_API_SECRET"):
        os.environ.pop(name, None)
    if mode == "listing":   # as before issue 11: every name listed, whatever their number
        from core.sources import db as db_source
        db_source.MAX_LISTED = 10**9
    from tests.app_driver import healthy, open_app
    query = {"from": str(MONTH_FROM), "till": str(MONTH_TILL)}
    started = time.perf_counter()
    at = open_app(query)
    opened = time.perf_counter() - started
    [run] = [b for b in at.sidebar.button if b.label == "Run report"]
    started = time.perf_counter()
    run.click()
    healthy(at.run())
    rerun = time.perf_counter() - started
    options = [len(s.options) for s in at.selectbox]
    element_bytes = sum(e.proto.ByteSize() for e in _elements(at) if getattr(e, "proto", None) is not None)
    select_bytes = sum(s.proto.ByteSize() for s in at.selectbox)
    return {"opened": opened, "seconds": rerun, "max_options": max(options), "options": sum(options),
            "element_bytes": element_bytes, "select_bytes": select_bytes}


# The app run by Streamlit in a process of its own; `listing` lifts the threshold first.
_SERVE = ("import sys\n"
          "if sys.argv.pop(1) == 'listing':\n"
          "    import core.sources.db as source_db\n"
          "    source_db.MAX_LISTED = 10**9\n"
          "from streamlit.web.cli import main\n"
          "sys.argv[0] = 'streamlit'\n"
          "main()\n")
CHROMIUM = "/usr/bin/chromium"


def _browser(db: str, mode: str) -> dict:
    """The Aggregates page in Chromium (Playwright): sign-in to the first table, then a
    rerun (tick Day, Run report) to the new table."""
    import socket
    import urllib.request

    from playwright.sync_api import expect, sync_playwright
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOR_", "STREAMLIT_"))}
    env.update(MOR_DEMO_PATH=db, MOR_SOURCE="demo")
    server = subprocess.Popen([sys.executable, "-c", _SERVE, mode, "run", "app.py",
                               "--server.headless", "true", "--server.port", str(port),
                               "--server.address", "127.0.0.1",
                               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.2)
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(300_000)
            expect.set_options(timeout=300_000)
            idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
            # A first visit warms the server (imports, the source): not what a person waits for.
            page.goto(f"{base}/?from={MONTH_FROM}&till={MONTH_TILL}")
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(f"{base}/?from={MONTH_FROM}&till={MONTH_TILL}")
            main = page.get_by_test_id("stMain")
            main.get_by_role("textbox", name="Username").fill("admin")
            main.get_by_label("Password", exact=True).fill("demo")
            main.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
            idle.wait_for()
            opened = time.perf_counter() - started
            sidebar = page.get_by_test_id("stSidebar")
            started = time.perf_counter()
            sidebar.get_by_test_id("stCheckbox").filter(has_text="Day").first.click()
            sidebar.get_by_role("button", name="Run report").click()
            page.wait_for_function("() => new URLSearchParams(location.search).get('group_by_day') === '1'")
            expect(page.get_by_test_id("stDataFrame").first.locator("th").first).to_have_text("Day")
            idle.wait_for()
            rerun = time.perf_counter() - started
            chromium.close()
        return {"opened": opened, "seconds": rerun}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _elements(at):
    stack = [at._tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", {}).values())


def child(spec: dict) -> dict:
    import pandas  # noqa: F401  (imported before the baseline)
    reset_peak()
    base = memory_status()["VmRSS"]
    kind = spec["kind"]
    if kind == "engine":
        out = _engine_csv(spec["url"], spec["report"], spec["output"])
    elif kind in ("report", "before"):
        out = _report(spec["url"], spec["report"], spec["output"], before=kind == "before")
    elif kind == "browser":
        out = _browser(spec["db"], spec["mode"])
    else:
        out = _page(spec["db"], spec["mode"])
    status = memory_status()
    return {**out, "peak_mb": round(status["VmHWM"], 1), "growth_mb": round(status["VmHWM"] - base, 1)}


# --- the runs ----------------------------------------------------------------------------------

def _run_child(spec: dict, timeout: float) -> dict:
    try:
        done = subprocess.run([sys.executable, "-m", "bench.large", "--child", json.dumps(spec)],
                              capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def _best(runs: list[dict]) -> dict:
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[-1]
    best = dict(min(good, key=lambda r: r["seconds"]))
    best["runs"] = [round(r["seconds"], 3) for r in good]
    best["peak_mb"] = max(r["peak_mb"] for r in good)   # the worst peak of the runs
    return best


def results_series(results: dict, repeat: int, before_max: int, timeout: float) -> None:
    url = data.file_database("duckdb", CALLS)
    with tempfile.TemporaryDirectory(prefix="bench_large_") as tmp:
        for report in RESULT_REPORTS:
            for kind in ("engine", "report", "before"):
                key = f"results|{report}|{kind}"
                measured = results.get(f"results|{report}|report", {})
                if kind == "before" and measured.get("rows", 0) > before_max:
                    continue
                runs = []
                for _ in range(repeat if kind != "before" else 1):
                    output = str(Path(tmp) / f"{report}_{kind}.csv")
                    load = os.getloadavg()[0]
                    run = _run_child({"kind": kind, "url": url, "report": report, "output": output}, timeout)
                    run["load"] = round(load, 1)
                    if "error" not in run:
                        run["bytes"] = os.path.getsize(output)
                    runs.append(run)
                    Path(output).unlink(missing_ok=True)
                results[key] = {**_best(runs), "at": time.strftime("%Y-%m-%d %H:%M:%S")}
                save(results)
                r = results[key]
                say(f"{report:10} {kind:7} " + (r["error"] if "error" in r else
                    f"{r['seconds']:.2f} s, peak {r['peak_mb']:.0f} MB, {r['rows']:,} rows, "
                    f"load {r['load']}"))


def catalogue_db(users: int) -> str:
    """The plain demo (CATALOGUE_CALLS calls), with `users` more users and 1.5× as many devices."""
    data.CACHE.mkdir(parents=True, exist_ok=True)
    base = data.CACHE / f"catalogue_demo_{size_name(CATALOGUE_CALLS)}_s{data.SEED}.sqlite"
    if not base.exists():
        from core.demo import build_demo
        say(f"building {base.name}")
        tmp = base.with_name(base.name + ".building")
        tmp.unlink(missing_ok=True)
        build_demo(f"sqlite:///{tmp}", calls=CATALOGUE_CALLS, days=DAYS, seed=data.SEED, now=NOW,
                   replace=True, progress=lambda m: say(f"  {m}"))
        conn = sqlite3.connect(tmp)
        with conn:   # without the demo's mark the app uses it as it is, never rebuilt to end today
            conn.execute("DROP TABLE demo_build")
        conn.close()
        os.replace(tmp, base)
    if not users:
        return str(base)
    path = base.with_name(base.stem + f"_{size_name(users)}_users.sqlite")
    if not path.exists():
        say(f"adding {users:,} users and {users * 3 // 2:,} devices to a copy: {path.name}")
        tmp = path.with_name(path.name + ".building")
        shutil.copy(base, tmp)
        conn = sqlite3.connect(tmp)
        with conn:
            first = conn.execute("SELECT max(id) + 1 FROM users").fetchone()[0]
            first_device = conn.execute("SELECT max(id) + 1 FROM devices").fetchone()[0]
            conn.executemany(
                "INSERT INTO users (id, username, first_name, last_name, usertype, owner_id, password, "
                "blocked) VALUES (?, ?, ?, ?, 'user', 0, '', 0)",
                ((first + i, f"bulk{i}", f"First{i}", f"Last{i}") for i in range(users)))
            conn.executemany(
                "INSERT INTO devices (id, user_id, name, device_type, description) "
                "VALUES (?, ?, ?, 'SIP', ?)",
                ((first_device + i, first + i % users, f"b{i}", f"Bulk desk {i}")
                 for i in range(users * 3 // 2)))
        conn.close()
        os.replace(tmp, path)
    return str(path)


def catalogue_series(results: dict, repeat: int, timeout: float) -> None:
    for users in CATALOGUE_USERS:
        db = catalogue_db(users)
        for mode in ("search", "listing"):
            for kind in ("page", "browser"):
                key = f"{'catalogue' if kind == 'page' else 'browser'}|{users}|{mode}"
                runs = []
                for _ in range(repeat):
                    load = os.getloadavg()[0]
                    run = _run_child({"kind": kind, "db": db, "mode": mode}, timeout)
                    run["load"] = round(load, 1)
                    runs.append(run)
                results[key] = {**_best(runs), "at": time.strftime("%Y-%m-%d %H:%M:%S")}
                save(results)
                r = results[key]
                say(f"+{users:>7,} users {mode:7} {kind:7} " + (r["error"] if "error" in r else
                    f"open {r['opened']:.2f} s, rerun {r['seconds']:.2f} s" + (
                        f", longest select {r['max_options']:,}, {r['element_bytes'] / 1e6:.2f} MB of "
                        "elements" if kind == "page" else "") + f", load {r['load']}"))


def load() -> dict:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def save(results: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(f".{os.getpid()}.part")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True))
    os.replace(tmp, RESULTS)


# --- docs/benchmarks.md -------------------------------------------------------------------------

def _mb(r) -> str:
    return f"{r['peak_mb']:,.0f} MB" if r and "error" not in r else "—"


def _s(r, key="seconds") -> str:
    if not r or "error" in r:
        return "—" if not r else "failed"
    return f"{r[key]:.2f} s"


def section() -> list[str]:
    """The "Large results" and "Big catalogues" sections, from bench/cache/large.json."""
    results = load()
    if not results:
        return []
    meta = results.get("_meta", {})
    out = ["## Large results (issue 11)", "",
           f"Month reports over the {size_name(CALLS)}-call DuckDB demo as CSV files, each run in a "
           "process of its own (`python -m bench.large`). Peak memory is the process's whole "
           "resident peak (VmHWM, as `/usr/bin/time` reports it). *engine* runs the report's own "
           "statement in DuckDB into Arrow; *+ pyarrow csv* adds pyarrow's CSV writer to a file; "
           "*report* is `python -m core report … --format csv --output FILE` end to end; *before* "
           "is the same with the row-by-row fetch and the cell-by-cell exporters this replaced. "
           f"Best of {meta.get('repeat', '?')} runs (before: one); "
           f"machine: {meta.get('machine', '?')}; load average during the runs "
           f"{meta.get('load_results', '?')}.", "",
           "| rows | grouping | engine | engine + pyarrow csv | report | report ÷ (engine + csv) | "
           "peak: engine + csv | peak: report | before | peak: before |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, (grouping, _) in RESULT_REPORTS.items():
        e, r, b = (results.get(f"results|{name}|{k}") for k in ("engine", "report", "before"))
        if not (e or r):
            continue
        rows = (r or e).get("rows", 0)
        both = e and r and "error" not in e and "error" not in r
        ratio = f"{r['seconds'] / e['seconds']:.2f}×" if both else "—"
        out.append(f"| {rows:,} | {grouping} | {_s(e, 'engine_seconds')} | {_s(e)} | {_s(r)} | {ratio} | "
                   f"{_mb(e)} | {_mb(r)} | {_s(b)} | {_mb(b)} |")
    out += ["", "Targets (issue 11): the 2.5M-row report within 3× of the engine plus pyarrow's "
            "writer, under 1.5 GB, time and memory growing linearly with the rows. Before: "
            "130 s and 5.5 GB (measured when the issue was filed). MB here are MiB (VmHWM's "
            "KiB / 1024).", ""]
    e, r = results.get("results|2.5M|engine"), results.get("results|2.5M|report")
    if e and r and "error" not in e and "error" not in r:
        ratio, gib = r["seconds"] / e["seconds"], r["peak_mb"] / 1024
        out += [f"- At 2.5M rows: {r['seconds']:.1f} s, {ratio:.2f}× the engine plus pyarrow's writer "
                f"({'met' if ratio <= 3 else 'MISSED'}), peak {r['peak_mb']:,.0f} MiB = {gib:.2f} GiB = "
                f"{r['peak_mb'] * 2**20 / 1e9:.2f} GB ({'met' if gib < 1.5 else 'MISSED'} in GiB"
                f"{'' if r['peak_mb'] * 2**20 < 1.5e9 else ', just over in decimal GB'}). "
                "DuckDB's own run of the statement "
                f"is {e['engine_seconds']:.1f} s of it: the label joins and the ORDER BY over 2.5M rows, "
                "under its 256 MB memory limit (it spills the sort to disk).",
                "- The rows vary with the grouping, so do the columns (9 keys and labels at 1.1M "
                "rows, 14 at 2.5M): time and memory per row are comparable within a grouping, and "
                "the fixed ~430 MB is DuckDB's scan of the month under its memory limit.", ""]
    lines = [f"+{users:,} users" for users in CATALOGUE_USERS]
    out += ["## Big catalogues (issue 11)", "",
            f"The Aggregates page, signed in as the admin, on the plain demo "
            f"({size_name(CATALOGUE_CALLS)} calls) and on copies with 10,000 and 100,000 more users "
            "and 1.5 devices each. In Chromium (Playwright, headless): *opened* from the address "
            "to the first table after signing in, *rerun* from ticking Day and Run report to the "
            "new table. In AppTest (the server's side alone): sign-in to the first page, and "
            "Run report. *search* is the app (above core.sources.MAX_LISTED the sidebar "
            "searches); *listing* lists every name, as before. *select boxes* and *all elements* "
            "are the bytes the page's select boxes and all its elements carry. Load average "
            f"{meta.get('load_catalogue', '?')}.", "",
            "| users added | mode | Chromium: opened | Chromium: rerun | AppTest: opened | AppTest: rerun | "
            "longest select box | options in all | select boxes | all elements |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for users, label in zip(CATALOGUE_USERS, lines, strict=True):
        for mode in ("search", "listing"):
            r, b = results.get(f"catalogue|{users}|{mode}"), results.get(f"browser|{users}|{mode}")
            if not (r or b):
                continue
            chromium = (f"{_s(b, 'opened')} | {_s(b)}" if b and "error" not in b
                        else f"{'failed: ' + b['error'] if b else '—'} | —")
            if not r or "error" in r:
                out.append(f"| {label} | {mode} | {chromium} | {_s(r)} | | | | | |")
                continue
            out.append(f"| {label} | {mode} | {chromium} | {r['opened']:.2f} s | {r['seconds']:.2f} s | "
                       f"{r['max_options']:,} | {r['options']:,} | {r['select_bytes'] / 1e3:,.0f} kB | "
                       f"{r['element_bytes'] / 1e6:.2f} MB |")
    out.append("")
    listed, found, plain = (results.get(f"browser|{u}|{m}") for u, m in
                            ((100_000, "listing"), (100_000, "search"), (0, "search")))
    if all(r and "error" not in r for r in (listed, found, plain)):
        out += ["- On the plain demo both modes are the same page (no catalogue reaches the "
                "threshold): their differences are the machine's noise.",
                f"- With 100,000 more users listed, Chromium took {listed['opened']:.1f} s to open the "
                f"page and {listed['seconds']:.1f} s to rerun it; searching, {found['opened']:.1f} s and "
                f"{found['seconds']:.1f} s, as on the plain demo ({plain['opened']:.1f} s and "
                f"{plain['seconds']:.1f} s).", ""]
    return out


def write_docs(path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Put this module's sections into docs/benchmarks.md, replacing earlier ones, without
    rewriting the rest (whose results may come from another machine's bench/cache)."""
    ours = section()
    if not ours:
        return
    lines = path.read_text().splitlines() if path.exists() else ["# Benchmarks", ""]
    headings = {line for line in ours if line.startswith("## ")}
    kept, skipping = [], False
    for line in lines:
        if line.startswith("## "):
            skipping = line in headings
        if not skipping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    path.write_text("\n".join(kept + [""] + ours).rstrip("\n") + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__.splitlines()[0])
    p.add_argument("--series", default="results,catalogue")
    p.add_argument("--repeat", type=int, default=2, help="runs per measurement (best time kept)")
    p.add_argument("--before-max", default="1.2M",
                   help="largest result measured the old way (default 1.2M rows: 2.5M took 130 s)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        try:
            print(json.dumps(child(json.loads(args.child))))
        except Exception as exc:   # reported, not raised: one failure must not end the run
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            print(json.dumps({"error": f"{exc.__class__.__name__}: {first_line}"}))
        return 0
    from bench.output import machine
    results = load()
    info = machine()
    meta = results.setdefault("_meta", {})
    meta.update(repeat=args.repeat, machine=f"{info['cpu']}, {info['nproc']} CPUs, {info['ram_gb']} GB; "
                + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    series = [s.strip() for s in args.series.split(",") if s.strip()]
    if "results" in series:
        before = os.getloadavg()
        results_series(results, args.repeat, data.parse_size(args.before_max), args.timeout)
        meta["load_results"] = f"{before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    if "catalogue" in series:
        before = os.getloadavg()
        catalogue_series(results, args.repeat, args.timeout)
        meta["load_catalogue"] = f"{before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    save(results)
    write_docs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
