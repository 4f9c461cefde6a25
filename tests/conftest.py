"""Fixtures giving a MOR database on each engine (see tests/engines.py).

- `engine_kind`: "sqlite", "mariadb", "duckdb", "chdb" or "clickhouse" (a clickhousedb://
  server: $MOR_TEST_CLICKHOUSE_URL, else the chDB stand-in, see `clickhouse_url`); every
  test that uses it (directly or via `make_db` / `db_url_factory`) runs once per kind,
  with ids `[sqlite]`, `[mariadb]`, `[duckdb]`, so `pytest -k sqlite` picks one, and
  markers of the same names are added (`pytest -m "not mariadb"`). Restrict the kinds
  with `--engines=sqlite,duckdb` or MOR_TEST_ENGINES=sqlite,duckdb; the others are
  deselected.
- `make_db(tables) -> Engine`: a fresh database holding `tables` (name -> list of row dicts).
- `db_url_factory(tables) -> (Engine, url)`: the same, with the URL for command-line tests.
- `mariadb_server` (session): the private MariaDB server, started on first use. Without a
  MariaDB binary the mariadb tests skip, or fail when CI=true or MOR_REQUIRE_MARIADB=1.
- `clickhouse_url` (session): the clickhouse kind's server, started on first use.
- `small_url`: the hand fixture on each kind, as a URL; `cli_run(*args)`: the command line
  run in this process.
"""
from __future__ import annotations

import os

import pytest

from tests import clickhouse_http
from tests.engines import (
    CLICKHOUSE_ENV,
    ENGINE_KINDS,
    DatabaseFactory,
    mariadb_required,
    selected_engine_kinds,
)
from tests.mariadb_server import MariaDBServer, MariaDBStartError, MariaDBUnavailable


def pytest_addoption(parser):
    parser.addoption("--engines", default=None,
                     help="comma-separated engine kinds to test (default: $MOR_TEST_ENGINES, "
                          f"else all of {','.join(ENGINE_KINDS)})")


def _selected(config) -> tuple[str, ...]:
    try:
        return selected_engine_kinds(config.getoption("--engines"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config):
    return f"engines: {', '.join(_selected(config))}"


def pytest_collection_modifyitems(config, items):
    selected = _selected(config)
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("engine_kind") if callspec else None
        if kind is None:
            keep.append(item)
            continue
        item.add_marker(kind)
        (keep if kind in selected else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=ENGINE_KINDS, ids=ENGINE_KINDS)
def engine_kind(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def mariadb_server():
    """The private MariaDB server (tests/mariadb_server.py), started on first use."""
    try:
        server = MariaDBServer()
        problem = None
    except MariaDBUnavailable as exc:
        problem = str(exc)
    if problem:
        if mariadb_required():
            pytest.fail(f"{problem} (MariaDB is mandatory here: CI=true or "
                        "MOR_REQUIRE_MARIADB=1)", pytrace=False)
        pytest.skip(f"{problem} (set CI=true or MOR_REQUIRE_MARIADB=1 to make this a failure)")
    try:
        server.start()
        problem = None
    except MariaDBStartError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"could not start the test MariaDB server: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def clickhouse_url(tmp_path_factory):
    """The clickhouse kind's server: $MOR_TEST_CLICKHOUSE_URL (a real one), else the chDB
    stand-in (tests/clickhouse_http.py), started once for the session and killed after it.
    The stand-in runs our clickhousedb:// path on the real ClickHouse engine, but not a real
    server's own HTTP layer."""
    url = os.environ.get(CLICKHOUSE_ENV)
    if url:
        yield url
        return
    try:
        proc, base = clickhouse_http.start(str(tmp_path_factory.mktemp("clickhouse_http") / "data"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield f"clickhousedb://default@{base.removeprefix('http://')}/default"
    finally:
        clickhouse_http.stop(proc)


@pytest.fixture
def _db_factory(engine_kind, tmp_path, request):
    server = request.getfixturevalue("mariadb_server") if engine_kind == "mariadb" else None
    url = request.getfixturevalue("clickhouse_url") if engine_kind == "clickhouse" else None
    factory = DatabaseFactory(engine_kind, tmp_path, server, url)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def make_db(_db_factory):
    """make_db(tables: dict[str, list[dict]]) -> Engine, on the engine kind `engine_kind`."""
    return _db_factory


@pytest.fixture
def db_url_factory(_db_factory):
    """db_url_factory(tables) -> (Engine, url string with credentials) for CLI tests."""
    return _db_factory.build_for_url


@pytest.fixture
def cli_run(capsys, monkeypatch):
    """run(*args, env=None) -> Run(returncode, stdout, stderr): `python -m core *args` in this
    process (tests/test_cli.py `runner`)."""
    from tests.test_cli import runner
    return runner(capsys, monkeypatch)


@pytest.fixture
def small_url(db_url_factory) -> str:
    """The hand fixture (tests/fixture_small.py) on each engine kind, as a URL."""
    from tests.fixture_small import TABLES
    _, url = db_url_factory(TABLES)
    return url
