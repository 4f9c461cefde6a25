"""core.server as a plain HTTP client sees it: MOR's checks, envelope, limits, the command."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from core.server import create_app, normalise_prefix, read_only
from core.settings import Settings
from core.sources.db import DatabaseSource
from core.sources.mor_api import mor_hash
from core.sources.mor_xml import mor_error, parse_document
from tests.test_mor_api import (FROM, RESELLER_SECRET, ROOT, SECRET, TILL, api_run, build_db,
                                mor_server, params, serving)

HASH = mor_hash(SECRET)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    return build_db(tmp_path_factory.mktemp("srv") / "mor.sqlite")


@pytest.fixture(scope="module")
def endpoint(db_url):
    with mor_server(db_url) as base:
        yield base + "/api/aggregate_get"


def post(url, **form):
    with requests.Session() as session:
        return session.post(url, data={"u": "admin", "hash": HASH, "from": FROM, "till": TILL,
                                       **form}, timeout=10)


def error_of(response) -> str | None:
    return mor_error(parse_document(response.content))


def test_success_is_the_xml_of_the_spec(endpoint):
    response = post(endpoint, group_by_day=1)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = parse_document(response.content)
    assert root.tag == "page" and [c.tag for c in root] == ["aggregates", "totals"]
    first = root.find("aggregates/aggregate")
    assert [c.tag for c in first][:4] == ["day", "total_calls", "answered_calls",
                                          "billed_originator"]


def test_errors_are_mor_envelopes_with_http_200(endpoint):
    response = post(endpoint, hash="0" * 40)
    assert response.status_code == 200
    assert response.text.endswith("<page>\n  <status>\n    <error>Incorrect hash</error>\n"
                                  "  </status>\n</page>\n")


@pytest.mark.parametrize("form, text", [
    ({"group_by_day": "2"}, "group_by_day: '2' is not accepted; use 0 or 1"),
    ({"nonsense": "1"}, "nonsense: is not an aggregate_get parameter"),
    ({"from": "10", "till": "5"}, "till: 5 is before from=10"),
    ({"u": ""}, "Bad login"),
    ({"u": "acc", "s_device": "999"}, "Device was not found"),
])
def test_refusals(endpoint, form, text):
    assert error_of(post(endpoint, **form)).startswith(text)


def test_p_and_test_are_ignored_and_hash_case_is_not_significant(endpoint):
    response = post(endpoint, p="x", test="1", hash=HASH.upper())
    assert error_of(response) is None and b"<aggregates>" in response.content


def test_missing_hash(endpoint):
    with requests.Session() as session:
        response = session.post(endpoint, data={"u": "admin"}, timeout=10)
    assert error_of(response) == "Incorrect hash"


def test_a_reseller_without_a_key_of_his_own_uses_the_admins(tmp_path):
    with mor_server(build_db(tmp_path / "k.sqlite", reseller_key=None)) as base:
        assert not api_run(base, params("respro"), SECRET).empty


def test_reseller_key_is_his_alone(endpoint):
    assert error_of(post(endpoint, u="admin", hash=mor_hash(RESELLER_SECRET))) == "Incorrect hash"
    assert error_of(post(endpoint, u="respro", hash=mor_hash(RESELLER_SECRET))) is None


def test_request_size_is_bounded(endpoint):
    response = post(endpoint, clid="x" * 70_000)
    assert response.status_code == 413


def test_other_paths_and_methods(endpoint):
    with requests.Session() as session:
        missing = session.post(endpoint.replace("aggregate_get", "user_details_get"), timeout=10)
        put = session.put(endpoint, timeout=10)
    assert missing.status_code == 404 and error_of(missing) == "Not Found"
    assert put.status_code == 405 and error_of(put) == "Method Not Allowed"


def test_concurrent_requests(endpoint):
    answers, errors = [], []

    def ask():
        try:
            answers.append(post(endpoint, group_by_user=1, group_by_hour=1).content)
        except Exception as exc:  # collected, then asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(answers) == 12 and len(set(answers)) == 1


def test_unreadable_database_is_a_503_that_the_client_reports(tmp_path):
    empty = DatabaseSource(read_only(create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")))
    with serving(create_app(empty, Settings())) as root:
        with requests.Session() as session:
            response = session.post(root + "/billing/api/aggregate_get", data={"u": "a"}, timeout=10)
        assert response.status_code == 503
        assert error_of(response) == "The report database is unavailable"
        assert b"sqlite" not in response.content  # no detail of the database leaks
        with pytest.raises(Exception, match=r"HTTP 503"):
            api_run(root + "/billing", params(), retries=1, backoff=0.01)


def test_connections_refuse_writes(db_url):
    engine = read_only(create_engine(db_url))
    with engine.connect() as conn, pytest.raises(OperationalError, match="readonly|read-only"):
        conn.execute(text("DELETE FROM calls"))
    engine.dispose()


def test_prefix_forms():
    assert normalise_prefix("billing/") == "/billing"
    assert normalise_prefix("/") == "" and normalise_prefix("") == ""
    with pytest.raises(ValueError, match="prefix"):
        normalise_prefix("/a b")


def test_serve_command(db_url):
    env = {**os.environ, "MOR_API_SECRET": SECRET}
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--db", db_url,
                               "--port", "0", "--prefix", "/mor"],
                              cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert line.startswith("Serving MOR aggregate_get on http://127.0.0.1:")
        url = line.split()[4]
        assert url.endswith("/mor/api/aggregate_get")
        base = url[: -len("/api/aggregate_get")]
        result = subprocess.run([sys.executable, "-m", "core", "report", "--api", base,
                                 "--format", "csv", f"from={FROM}", f"till={TILL}"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0].startswith("originator_id,originator,terminator_id")
        assert result.stdout.splitlines()[-1].startswith("Total,")
    finally:
        server.terminate()
        server.wait(10)
        server.stderr.close()


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "port: 70000 is not a TCP port"),
    (["--prefix", "/a?b"], "prefix: '/a?b' is not a URL path"),
    (["--timezone", "Mars/Olympus"], "timezone: 'Mars/Olympus' is not an IANA time zone"),
])
def test_serve_bad_options_exit_2(db_url, args, message):
    result = subprocess.run([sys.executable, "-m", "core", "serve", "--db", db_url, *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr
