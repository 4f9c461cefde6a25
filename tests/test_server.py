"""core.server, mostly as a plain HTTP client sees it: MOR's checks and envelope, the
conflines, every engine, the XML it writes, its limits (methods, rows, request size,
connections) and the command."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from core.errors import SourceUnavailable
from core.exports import EXPORTERS, to_xml, xml_chunks
from core.params import ParamError, parse_params
from core.report import Report
from core.server import create_app, create_server, normalise_prefix, read_only
from core.settings import Settings
from core.sources.db import DatabaseSource
from core.sources.mor_api import mor_hash
from core.sources.mor_xml import mor_error, parse_document
from tests import fixture_small
from tests.engines import populate
from tests.test_mor_api import (
    FROM,
    RESELLER_SECRET,
    ROOT,
    SECRET,
    SETTINGS,
    TILL,
    api_run,
    assert_same_report,
    build_db,
    mor_server,
    mor_tables,
    params,
    refusal,
    serving,
)

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
    (["--max-rows", "0"], "--max-rows: 0 is not a number of rows"),
    (["--connection-limit=-3"], "--connection-limit: '-3' is not a number of connections"),
    (["--channel-timeout", "1.5"], "--channel-timeout: '1.5' is not a number of seconds"),
])
def test_serve_bad_options_exit_2(db_url, args, message):
    result = subprocess.run([sys.executable, "-m", "core", "serve", "--db", db_url, *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_serve_command_limits(db_url):
    """--max-rows reaches the app, --connection-limit and --channel-timeout the server."""
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--db", db_url, "--port", "0",
                               "--max-rows", "1", "--connection-limit", "1",
                               "--channel-timeout", "2"],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        url = server.stderr.readline().split()[4]
        port = int(url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as silent:
            silent.sendall(HALF_REQUEST)
            time.sleep(0.3)
            started = time.monotonic()
            response = post(url)  # waits for the one slot, which the silent client holds 2 s
            waited = time.monotonic() - started
            assert hung_up(silent)
        assert re.fullmatch(r"Too many rows: \d+ aggregates exceed this server's limit of 1; "
                            r"narrow the period or the grouping", error_of(response))
        assert 1 < waited < 8
    finally:
        server.terminate()
        server.wait(10)
        server.stderr.close()


# --- every engine and the conflines, through the client ------------------------------------

@pytest.mark.parametrize("case", [
    {"group_by_day": 1, "group_by_hour": 1, "profit_show": 1, "a_currency": "EUR"},
    {"from_user_perspective": 1, "group_by_dst": 1, "group_by_device": 1, "dst_group": "%mobile"},
])
def test_parity_on_every_engine(make_db, case):
    """The server over SQLite, MariaDB (a SELECT-only account) and DuckDB, against the
    database path on the same engine."""
    engine = make_db(mor_tables())
    database = DatabaseSource(engine)
    with serving(create_app(DatabaseSource(read_only(engine)), SETTINGS)) as root:
        for user, secret in (("admin", SECRET), ("respro", RESELLER_SECRET)):
            p = params(user, **case)
            assert_same_report(api_run(root + "/billing", p, secret), database.run(p, SETTINGS))


def test_xml_writer_shape_and_escaping():
    rows = pd.DataFrame({"originator_id": [12], "originator": ["A <b> & \"c\"\r\x01"],
                         "total_calls": [3], "answered_calls": [1],
                         "billed_originator": [0.1 + 0.2], "duration": [61]})
    report = Report(rows=rows, totals={"total_calls": 3, "billed_originator": 0.30000000000000004},
                    currency="USD", from_=0, till=1, key_columns=["originator_id", "originator"],
                    metric_columns=["total_calls", "answered_calls", "billed_originator", "duration"])
    text = to_xml(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <aggregates>\n'
                           "    <aggregate>\n      <originator_id>12</originator_id>\n")
    assert "<originator>A &lt;b&gt; &amp; \"c\"&#13;\ufffd</originator>" in text
    assert "<billed_originator>0.30000000000000004</billed_originator>" in text
    assert text.endswith("  <totals>\n    <total_calls>3</total_calls>\n"
                         "    <billed_originator>0.30000000000000004</billed_originator>\n"
                         "  </totals>\n</page>\n")
    assert EXPORTERS["xml"].mime == "application/xml"
    root = parse_document(text.encode())
    assert root.find("aggregates/aggregate/originator").text == 'A <b> & "c"\r\ufffd'


@pytest.mark.parametrize("switches, text", [
    ({"Allow_API": "0"}, "API Requests are disabled"),
    ({"Allow_API": None}, "API Requests are disabled"),
    ({"API_Secret_Key": ""}, "API must have Secret Key"),
])
def test_server_switches(tmp_path, switches, text):
    with mor_server(build_db(tmp_path / "s.sqlite", switches, reseller_key=None)) as base:
        err = refusal(base)
    assert type(err) is SourceUnavailable and str(err) == text and err.hint


def test_hash_checking_disabled(tmp_path):
    url = build_db(tmp_path / "h.sqlite", {"API_Disable_hash_checking": "1", "API_Secret_Key": ""})
    with mor_server(url) as base:
        assert not api_run(base, params(), secret=None).empty
        assert not api_run(base, params(), secret="anything").empty


# --- the XML it writes ----------------------------------------------------------------------

def three_days() -> Report:
    rows = pd.DataFrame({"day": ["2024-03-15", "2024-03-16", "2024-03-17"],
                         "total_calls": [3, 0, 12], "billed_originator": [1.5, 0.0, 0.1 + 0.2]})
    return Report(rows=rows, totals={"total_calls": 15, "billed_originator": 1.8},
                  currency="USD", from_=0, till=1, key_columns=["day"],
                  metric_columns=["total_calls", "billed_originator"])


THREE_DAYS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <aggregates>\n'
    "    <aggregate>\n      <day>2024-03-15</day>\n      <total_calls>3</total_calls>\n"
    "      <billed_originator>1.5</billed_originator>\n    </aggregate>\n"
    "    <aggregate>\n      <day>2024-03-16</day>\n      <total_calls>0</total_calls>\n"
    "      <billed_originator>0.0</billed_originator>\n    </aggregate>\n"
    "    <aggregate>\n      <day>2024-03-17</day>\n      <total_calls>12</total_calls>\n"
    "      <billed_originator>0.30000000000000004</billed_originator>\n    </aggregate>\n"
    "  </aggregates>\n  <totals>\n    <total_calls>15</total_calls>\n"
    "    <billed_originator>1.8</billed_originator>\n  </totals>\n</page>\n")


@pytest.mark.parametrize("rows_per_chunk, pieces", [(1, 5), (2, 4), (3, 3), (1000, 3)])
def test_xml_chunks_join_to_the_whole_answer(rows_per_chunk, pieces):
    """The head, ceil(3 / rows_per_chunk) pieces of aggregates, then the totals."""
    chunks = list(xml_chunks(three_days(), rows_per_chunk))
    assert "".join(chunks) == THREE_DAYS_XML == to_xml(three_days())
    assert len(chunks) == pieces


def test_xml_of_no_rows():
    empty = Report(rows=pd.DataFrame({"day": [], "total_calls": []}), totals={},
                   currency="USD", from_=0, till=1, key_columns=["day"],
                   metric_columns=["total_calls"])
    assert to_xml(empty) == "".join(xml_chunks(empty)) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <aggregates>\n  </aggregates>\n'
        "  <totals>\n  </totals>\n</page>\n")


# --- the server's limits, on tests/fixture_small.py ------------------------------------------

# Its default report has 18 rows and one day, worked out by hand in tests/test_core_fixture.py.
SMALL_DEFAULT_ROWS = 18
SMALL_FORM = {"u": "admin", "hash": HASH, "from": str(fixture_small.FROM),
              "till": str(fixture_small.TILL)}


class CountingSource(DatabaseSource):
    """A DatabaseSource that counts the reports it runs."""

    runs = 0

    def run(self, params, settings):
        self.runs += 1
        return super().run(params, settings)


@pytest.fixture(scope="module")
def small_source(tmp_path_factory):
    """The small fixture with the API on and GET allowed, read through a counting source."""
    path = tmp_path_factory.mktemp("small") / "small.sqlite"
    writer = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    populate(writer, {**fixture_small.TABLES, "conflines": [
        dict(id=1, name="Allow_API", value="1", owner_id=0),
        dict(id=2, name="Allow_GET_API", value="1", owner_id=0),
        dict(id=3, name="API_Secret_Key", value=SECRET, owner_id=0)]})
    writer.dispose()
    source = CountingSource(read_only(create_engine(f"sqlite:///{path}")))
    yield source
    source.engine.dispose()


@pytest.fixture(scope="module")
def small_endpoint(small_source):
    with serving(create_app(small_source, SETTINGS)) as root:
        yield root + "/billing/api/aggregate_get"


def aggregates(response) -> int:
    return len(parse_document(response.content).findall("aggregates/aggregate"))


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "TRACE",
                                    "PROPFIND", "FOO"])
def test_only_get_and_post_run_a_report(small_source, small_endpoint, method):
    with requests.Session() as session:
        before = small_source.runs
        response = session.request(method, small_endpoint, params=SMALL_FORM, data=SMALL_FORM,
                                   timeout=10)
        assert small_source.runs == before
        assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"
        if method == "HEAD":
            assert response.content == b""
        else:
            assert error_of(response) == "Method Not Allowed"
        get = session.get(small_endpoint, params=SMALL_FORM, timeout=10)
        post = session.post(small_endpoint, data=SMALL_FORM, timeout=10)
    assert aggregates(get) == aggregates(post) == SMALL_DEFAULT_ROWS
    assert small_source.runs == before + 2


def test_more_rows_than_the_limit_are_refused(small_source):
    with serving(create_app(small_source, SETTINGS, max_rows=SMALL_DEFAULT_ROWS - 1)) as root:
        url = root + "/billing/api/aggregate_get"
        with requests.Session() as session:
            refused = session.post(url, data=SMALL_FORM, timeout=10)
            one_day = session.post(url, data={**SMALL_FORM, "group_by_day": "1"}, timeout=10)
        with pytest.raises(SourceUnavailable, match="^Too many rows: 18 aggregates"):
            api_run(root + "/billing", parse_params({k: v for k, v in SMALL_FORM.items()
                                                     if k != "hash"}))
    assert refused.status_code == 200
    assert error_of(refused) == ("Too many rows: 18 aggregates exceed this server's limit of 17; "
                                 "narrow the period or the grouping")
    assert aggregates(one_day) == 1
    with serving(create_app(small_source, SETTINGS, max_rows=SMALL_DEFAULT_ROWS)) as root:
        with requests.Session() as session:
            answered = session.post(root + "/billing/api/aggregate_get", data=SMALL_FORM, timeout=10)
    assert aggregates(answered) == SMALL_DEFAULT_ROWS


def test_the_answer_is_streamed_and_is_the_xml_writers(small_source, small_endpoint):
    form = {**SMALL_FORM, "group_by_user": "1", "profit_show": "1"}
    with requests.Session() as session:
        with session.post(small_endpoint, data=form, stream=True, timeout=10) as response:
            assert response.headers["Transfer-Encoding"] == "chunked"
            assert "Content-Length" not in response.headers
            body = response.content
    p = parse_params({k: v for k, v in form.items() if k != "hash"})
    assert body == to_xml(DatabaseSource(small_source.engine).run(p, SETTINGS)).encode()


@pytest.mark.parametrize("options, message", [
    ({"max_rows": 0}, "max_rows: 0 is not accepted"),
    ({"connection_limit": 0}, "connection_limit: 0 is not accepted"),
    ({"channel_timeout": -1}, "channel_timeout: -1 is not accepted"),
    ({"channel_timeout": True}, "channel_timeout: True is not accepted"),
    ({"threads": 0}, "threads: 0 is not accepted"),
])
def test_limits_are_whole_numbers_of_at_least_one(small_source, options, message):
    app_options = {k: v for k, v in options.items() if k == "max_rows"}
    with pytest.raises(ParamError, match=message):
        app = create_app(small_source, SETTINGS, **app_options)
        create_server(app, "127.0.0.1", 0, **options)


# --- connections that stall -------------------------------------------------------------------

HALF_REQUEST = b"POST /billing/api/aggregate_get HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def port_of(root: str) -> int:
    return int(root.rsplit(":", 1)[1])


def hung_up(sock: socket.socket) -> bool:
    """Whether the server closed this connection (within 5 s)."""
    sock.settimeout(5)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_connection_limit_counts_client_connections(small_source):
    """Two allowed: with one silent connection a request is answered at once; with two it
    waits until the server drops a silent one after the channel timeout (2 s)."""
    app = create_app(small_source, SETTINGS)
    with serving(app, threads=1, connection_limit=2, channel_timeout=2) as root, \
            contextlib.ExitStack() as stack:
        url = root + "/billing/api/aggregate_get"
        silent = stack.enter_context(socket.create_connection(("127.0.0.1", port_of(root))))
        silent.sendall(HALF_REQUEST)
        time.sleep(0.3)
        started = time.monotonic()
        assert aggregates(requests.post(url, data=SMALL_FORM, timeout=10)) == SMALL_DEFAULT_ROWS
        assert time.monotonic() - started < 1.5
        other = stack.enter_context(socket.create_connection(("127.0.0.1", port_of(root))))
        other.sendall(HALF_REQUEST)
        time.sleep(0.3)
        started = time.monotonic()
        assert aggregates(requests.post(url, data=SMALL_FORM, timeout=10)) == SMALL_DEFAULT_ROWS
        assert 1.5 < time.monotonic() - started < 6
        assert hung_up(silent) and hung_up(other)


def test_silent_and_trickling_requests_do_not_shut_out_a_valid_one(small_source):
    """More half-requests than the limit, and as many connections as the limit sending a
    header byte every 0.2 s, which never look idle: a valid request is still answered."""
    app = create_app(small_source, SETTINGS)
    with serving(app, threads=2, connection_limit=2, channel_timeout=1) as root, \
            contextlib.ExitStack() as stack:
        address = ("127.0.0.1", port_of(root))
        trickling = [stack.enter_context(socket.create_connection(address)) for _ in range(2)]
        silent = [stack.enter_context(socket.create_connection(address)) for _ in range(3)]
        for sock in silent:
            sock.sendall(HALF_REQUEST)
        stop = threading.Event()

        def trickle():
            for i in range(50):  # at most 10 s
                if stop.wait(0.2):
                    return
                for sock in trickling:
                    with contextlib.suppress(OSError):
                        sock.send(HALF_REQUEST[i:i + 1] or b"x")

        sender = threading.Thread(target=trickle)
        sender.start()
        try:
            started = time.monotonic()
            response = requests.post(root + "/billing/api/aggregate_get", data=SMALL_FORM,
                                     timeout=12)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            sender.join(5)
        assert aggregates(response) == SMALL_DEFAULT_ROWS and elapsed < 10
        assert all(hung_up(sock) for sock in trickling)


def test_an_answer_left_unread_frees_its_thread():
    """One thread; a client asks for 40 MB and never reads: after the channel timeout the
    server drops it, and the next request is served."""
    from flask import Flask, Response
    app = Flask("unread")

    @app.route("/big")
    def big():
        return Response(b"x" * 2**16 for _ in range(40 * 16))

    @app.route("/small")
    def small():
        return "small"

    with serving(app, threads=1, channel_timeout=1) as root, \
            socket.create_connection(("127.0.0.1", port_of(root))) as reader:
        reader.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.5)
        started = time.monotonic()
        assert requests.get(root + "/small", timeout=10).text == "small"
        assert time.monotonic() - started < 6


def test_output_counts_as_unread_only_once_it_has_waited_a_whole_timeout():
    """The worker thread adds an answer to a channel that has been quiet for longer than the
    timeout (it waited in the queue) an instant before sending it: the server loop may look
    in between, and must not take that instant for a client that stopped reading."""
    from types import SimpleNamespace

    from core.server import deadline_channel
    channel = object.__new__(deadline_channel(1))
    channel.adj = SimpleNamespace(send_bytes=1)
    channel.request = None
    now = time.time()
    channel.last_activity = now - 5
    channel.total_outbufs_len = 5
    assert not channel.stalled(now)  # the answer has only just appeared
    assert not channel.stalled(now + 0.9)
    assert channel.stalled(now + 1.1)  # and nothing has been read for a second since
    channel.last_activity = now + 1.0  # the client read some of it
    assert not channel.stalled(now + 1.5)
    channel.total_outbufs_len = 0  # all of it sent: the clock stops
    assert not channel.stalled(now + 9)
    channel.total_outbufs_len = 5
    assert not channel.stalled(now + 9.5)
