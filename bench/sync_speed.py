"""python -m bench.sync_speed [--calls 1M] [--targets duckdb,chdb]: the first copy's speed.

Loads the demo's calls into the tests' private MariaDB server (tests/mariadb_server.py),
then measures, each on the same table:

- the dump baseline: `mariadb -e 'select * from calls'` (MariaDB's own client, output to
  /dev/null; the password goes through MYSQL_PWD, never on its command line);
- the bulk read alone: connectorx into Arrow, and pymysql's unbuffered SSCursor;
- `python -m core sync --from <MariaDB> --to duckdb:///… / chdb:///…`, a first copy, run as
  the operator runs it (a subprocess, password from $MOR_DB_PASSWORD), with its peak memory.

Results go to bench/cache/sync.json, which docs/benchmarks.md is written from.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import URL, make_url

from bench import data
from bench.data import say, size_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = data.CACHE / "sync.json"


def _env_with_password(url: str) -> tuple[str, dict]:
    """The URL without its password, and an environment holding it as $MOR_DB_PASSWORD."""
    parsed = make_url(url)
    env = dict(os.environ, MOR_DB_PASSWORD=parsed.password or "", MYSQL_PWD=parsed.password or "")
    bare = URL.create(parsed.drivername, username=parsed.username, host=parsed.host, port=parsed.port,
                      database=parsed.database, query=parsed.query)
    return bare.render_as_string(hide_password=False), env


def dump_seconds(url: str) -> float:
    """`mariadb -e 'select * from calls'` into /dev/null, as an operator would dump it."""
    parsed = make_url(url)
    _, env = _env_with_password(url)
    client = shutil.which("mariadb") or shutil.which("mysql")
    t0 = time.perf_counter()
    subprocess.run([client, "--no-defaults", "-h", parsed.host, "-P", str(parsed.port), "-u", parsed.username,
                    parsed.database, "-e", "select * from calls"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def read_seconds(url: str, how: str, calls: int) -> float:
    """Reading every call into memory in batches, without writing: connectorx or SSCursor."""
    code = {
        "connectorx": ("from core import bulk; from core.schema import calls; from sqlalchemy import "
                       "select, create_engine; import sys; e = create_engine(sys.argv[1]); "
                       "n = sum(b.num_rows for b in bulk.arrow_batches(e, select(*calls.columns), "
                       "100000)); print(n)"),
        "sscursor": ("import sys, pymysql, pymysql.cursors; from sqlalchemy import make_url; "
                     "u = make_url(sys.argv[1]); c = pymysql.connect(host=u.host, port=u.port, "
                     "user=u.username, password=u.password, database=u.database, "
                     "cursorclass=pymysql.cursors.SSCursor); cur = c.cursor(); "
                     "cur.execute('select * from calls'); n = 0\n"
                     "while True:\n    rows = cur.fetchmany(100000)\n    if not rows: break\n"
                     "    n += len(rows)\nprint(n)"),
    }[how]
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    assert int(out.stdout.strip()) == calls, out.stdout
    return seconds


def sync_run(url: str, target: str) -> dict:
    """A first copy through the command line; seconds and the child's peak RSS."""
    bare, env = _env_with_password(url)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK_OF_CORE, "sync", "--from", bare, "--to", target],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"sync to {target} failed: {out.stderr.strip()[-500:]}")
    peak = [line for line in out.stderr.splitlines() if line.startswith("PEAK_KB ")]
    return {"seconds": seconds, "peak_mb": round(int(peak[-1].split()[1]) / 1024) if peak else None,
            "output": out.stdout.strip().splitlines()[-1:]}


# `python -m core ARGS`, then its own peak resident memory (VmHWM: ru_maxrss would carry
# the parent's peak across exec) on stderr.
PEAK_OF_CORE = """import runpy, sys
sys.argv = ["core"] + sys.argv[1:]
try:
    runpy.run_module("core", run_name="__main__")
finally:
    hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
    print("PEAK_KB", hwm[0], file=sys.stderr)
"""


# Measured once with --reads sscursor (1M calls, load ~5 on 2 CPUs): pymysql's unbuffered
# SSCursor alone took 84.8 s to read what connectorx read in 14.6 s; it is left out of the
# default run, which it would lengthen by a minute and a half.


def section() -> list[str]:
    """The "First copy" section of docs/benchmarks.md, from bench/cache/sync.json."""
    if not RESULTS.exists():
        return []
    r = json.loads(RESULTS.read_text())
    calls, dump = r["calls"], r["dump_s"]
    loads = [round(x, 1) for x in (*r.get("load_before", ()), *r.get("load_after", ()))[::3]]
    out = ["", "## First copy: MariaDB -> DuckDB / chDB", "",
           f"`python -m bench.sync_speed` ({r['at']}, {size_name(calls)} demo calls in the tests' "
           f"private MariaDB {r.get('mariadb', '')}, 1-minute load {loads[0] if loads else '?'} before "
           f"and {loads[-1] if len(loads) > 1 else '?'} after, on the machine above). The sync "
           "runs as an operator runs it (`python -m core sync --from mysql+pymysql://… --to …`, "
           "password from $MOR_DB_PASSWORD); its time is the whole process, start-up included; "
           "peak memory is the process's VmHWM. Calls are read in bulk (core/bulk.py: "
           "connectorx into Arrow). Versions: "
           + ", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items()) + ".", "",
           "| what | seconds | rows/s | time / dump's time | peak memory | size on disk |",
           "|---|---:|---:|---:|---:|---:|",
           f"| `mariadb -e 'select * from calls'` > /dev/null (the dump) | {dump:.1f} | "
           f"{calls / dump:,.0f} | 1.00 | | |"]
    if r.get("read_connectorx_s"):
        t = r["read_connectorx_s"]
        out.append(f"| connectorx read into Arrow alone (a process) | {t:.1f} | {calls / t:,.0f} | "
                   f"{t / dump:.2f} | | |")
    for kind in ("duckdb", "chdb"):
        run = r.get(f"sync_{kind}")
        if run:
            t, size = run["seconds"], r.get(f"{kind}_bytes")
            out.append(f"| sync -> {'DuckDB' if kind == 'duckdb' else 'chDB'} (first copy) | {t:.1f} | "
                       f"{calls / t:,.0f} | {t / dump:.2f} | {run.get('peak_mb', '?')} MB | "
                       + (f"{size / 2**20:,.0f} MB ({size / calls:.0f} bytes/call)" if size else "") + " |")
    out += ["", "pymysql's unbuffered SSCursor, measured once beside connectorx (same table, load "
            "~5): 84.8 s to read 1M calls against connectorx's 14.6 s; before the bulk read the "
            "first copy went through pymysql at about 20k rows/s.", ""]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sync_speed", description=__doc__.splitlines()[0])
    p.add_argument("--calls", default="1M")
    p.add_argument("--targets", default="duckdb,chdb")
    p.add_argument("--reads", default="connectorx,sscursor")
    args = p.parse_args(argv)
    calls = data.parse_size(args.calls)
    from importlib.metadata import version
    result = {"calls": calls, "at": time.strftime("%Y-%m-%d %H:%M:%S"), "load_before": os.getloadavg(),
              "versions": {name: version(name) for name in ("chdb", "connectorx", "duckdb", "pyarrow")}}
    mariadb = data.MariaDB(buffer_pool_mb=1024).start()
    work = Path(tempfile.mkdtemp(prefix="sync_speed_", dir=data.CACHE))
    try:
        result["mariadb"] = mariadb.version()
        url = mariadb.database(calls)
        say(f"dump baseline of {size_name(calls)} calls")
        dump_seconds(url)                                 # warm the buffer pool once
        result["dump_s"] = dump_seconds(url)
        say(f"dump: {result['dump_s']:.1f} s = {calls / result['dump_s']:,.0f} rows/s")
        for how in [r for r in args.reads.split(",") if r]:
            result[f"read_{how}_s"] = read_seconds(url, how, calls)
            say(f"read {how}: {result[f'read_{how}_s']:.1f} s")
        for kind in [t for t in args.targets.split(",") if t]:
            target = f"{kind}:///{work / ('copy.' + kind)}"
            run = sync_run(url, target)
            result[f"sync_{kind}"] = run
            say(f"sync -> {kind}: {run['seconds']:.1f} s = {calls / run['seconds']:,.0f} rows/s "
                f"({run['seconds'] / result['dump_s']:.2f}x the dump's time), peak {run['peak_mb']} MB")
            if kind == "chdb":
                result["chdb_bytes"] = sum(f.stat().st_size for f in (work / "copy.chdb").rglob("*")
                                           if f.is_file())
            else:
                result[f"{kind}_bytes"] = (work / f"copy.{kind}").stat().st_size
        result["load_after"] = os.getloadavg()
    finally:
        mariadb.stop()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
