"""The remote MOR API client against the real compatible server, on loopback.

No mocks: every request crosses a socket. Parity runs many parameter sets through both
paths (DatabaseSource, and MorApiSource -> core.server -> DatabaseSource) on the same
small database; the faults run against small real servers that misbehave on purpose.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from waitress import wasyncore

from core.errors import AccessDenied, NotFound, ReportError, SourceUnavailable
from core.exports import export, to_xml
from core.params import ParamError, parse_params
from core.report import Report
from core.schema import metadata
from core.server import create_app, create_server, read_only
from core.settings import Settings
from core.sources.db import DatabaseSource
from core.sources.mor_api import MorApiSource, mor_hash
from core.sources.mor_xml import parse_document, read_report

ROOT = Path(__file__).resolve().parents[1]
SECRET = "secret"
RESELLER_SECRET = "reseller-own-key"
FROM = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
TILL = FROM + 3 * 86400 - 1
SETTINGS = Settings()

SYSTEM_SWITCHES = {"Allow_API": "1", "API_Secret_Key": SECRET}


# --- a small MOR database --------------------------------------------------------------

def mor_rows(seed: int = 11) -> dict[str, list[dict]]:
    """Users of every role, two terminators, labels that need escaping, and 500 calls with
    failover attempts, card and incoming calls, fractional real_billsec and PDD."""
    users = [
        dict(id=0, username="admin", usertype="admin", first_name="System", last_name="Admin"),
        dict(id=1, username="acc", usertype="accountant"),
        dict(id=2, username="respro", usertype="reseller", own_providers=1,
             first_name="Rita", last_name="Reseller"),
        dict(id=3, username="resplain", usertype="reseller", own_providers=0),
        dict(id=4, username="john", usertype="user", first_name="John", last_name="Smith"),
        dict(id=5, username="ann", usertype="user", first_name="Ann <&>", last_name="O'Neil \"Q\""),
        dict(id=6, username="bob", usertype="user", owner_id=2),
        dict(id=7, username="eve", usertype="user", owner_id=2, first_name="=cmd|' /C calc'!A0"),
        dict(id=8, username="john2", usertype="user", first_name="John", last_name="Smith"),
        dict(id=9, username="plain", usertype="user", first_name="Šarūnas", last_name="Žukas"),
    ]
    devices = [dict(id=10 + u, user_id=u, name=f"dev{u}", device_type="SIP",
                    description="Office  desk " if u == 4 else "") for u in range(4, 10)]
    terminators = [dict(id=1, name="Carrier A"), dict(id=2, name="Reseller Term", user_id=2)]
    providers = [dict(id=1, name="ProvA", terminator_id=1), dict(id=2, name="ProvB"),
                 dict(id=3, name="ResProv", terminator_id=2, user_id=2),
                 dict(id=4, name="ProvC & Co", terminator_id=1)]
    groups = [dict(id=1, name="Lithuania Mobile"), dict(id=2, name="UK_Fixed")]
    directions = [dict(id=1, name="Lithuania", code="LTU"),
                  dict(id=2, name="United Kingdom", code="GBR")]
    destinations = [
        dict(id=1, prefix="3706", direction_code="LTU", subcode="MOB", name="Lithuania Mobile",
             destinationgroup_id=1),
        dict(id=2, prefix="44", direction_code="GBR", subcode="FIX", name="", destinationgroup_id=2),
        dict(id=3, prefix="3705", direction_code="LTU", subcode="FIX", name="Vilnius"),
    ]
    currencies = [dict(id=1, name="USD", exchange_rate=1.0),
                  dict(id=2, name="EUR", exchange_rate=0.9137),
                  dict(id=3, name="GBP", exchange_rate=0.787)]
    rnd = random.Random(seed)
    calls = []
    start = datetime(2023, 12, 31, 22, 0, 0)
    for i in range(1, 501):
        user_id = rnd.choice([4, 4, 5, 6, 7, 8, 9, -1, 0])
        answered = rnd.random() < 0.6
        billsec = rnd.choice([0, 30, 60, 61, 125, 3600]) if answered else 0
        uniqueid = f"u{i // 3 if i % 5 == 0 else i}"  # some failover attempts share one
        calls.append(dict(
            id=i, calldate=start + timedelta(seconds=rnd.randrange(0, 4 * 86400)),
            clid=rnd.choice(['"John" <37060000001>', "=HYPERLINK(1)", "Ann_%", ""]),
            src=rnd.choice(["37060000001", "37060000002", "441234", "3705_99"]),
            dst=rnd.choice(["37061234567", "442071234567", "37052000000", "99999"]),
            duration=billsec + rnd.randrange(0, 20), billsec=billsec,
            real_billsec=max(0.0, billsec - rnd.random()) if billsec else 0.0,
            disposition="ANSWERED" if answered else rnd.choice(["NO ANSWER", "BUSY", "FAILED"]),
            hangupcause=16 if answered else 17, uniqueid=uniqueid,
            src_device_id=10 + user_id if user_id > 0 else 0, user_id=user_id,
            user_rate=rnd.choice([0.012345678901, 0.05, 0.1]),
            user_billsec=(billsec + 59) // 60 * 60, user_price=round(rnd.random() * 3, 6),
            reseller_id=2 if user_id in (6, 7) else 0, reseller_price=round(rnd.random() * 2, 6),
            provider_id=rnd.choice([1, 2, 3, 4, 0]), provider_rate=rnd.choice([0.01, 0.0333]),
            provider_billsec=billsec, provider_price=round(rnd.random() * 2, 6),
            prefix=rnd.choice(["3706", "44", "3705", "999"]),
            card_id=rnd.choice([0, 0, 0, 0, 0, 0, 5, None]),
            pdd=rnd.choice([0.0, 0.0, 1.5, 2.25, 3.0])))
    return dict(users=users, devices=devices, terminators=terminators, providers=providers,
                destinationgroups=groups, directions=directions, destinations=destinations,
                currencies=currencies, calls=calls)


def mor_tables(switches: dict[str, str | None] | None = None,
               reseller_key: str | None = RESELLER_SECRET) -> dict[str, list[dict]]:
    """mor_rows() with the admin's API conflines (None drops one) and a reseller's own key."""
    rows = mor_rows()
    lines = {**SYSTEM_SWITCHES, **(switches or {})}
    rows["conflines"] = [dict(id=i, name=k, value=v, owner_id=0)
                         for i, (k, v) in enumerate(lines.items(), 1) if v is not None]
    if reseller_key:
        rows["conflines"].append(dict(id=99, name="API_Secret_Key", value=reseller_key, owner_id=2))
    return rows


def build_db(path: Path, switches: dict[str, str | None] | None = None,
             reseller_key: str | None = RESELLER_SECRET) -> str:
    """A SQLite MOR database at `path` (see mor_tables); returns its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url, poolclass=NullPool)
    metadata.create_all(engine)
    rows = mor_tables(switches, reseller_key)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            for row in rows.get(table.name, ()):  # one by one: rows differ in their keys
                conn.execute(table.insert(), row)
    engine.dispose()
    return url


@contextlib.contextmanager
def serving(app, **options):
    """A waitress server for `app` on a free loopback port, in a thread; yields its root URL.
    `options` go to core.server.create_server (threads: 4 unless given)."""
    server = create_server(app, "127.0.0.1", 0, **{"threads": 4, **options})
    stopping = threading.Event()

    def run():
        try:
            server.run()
        except OSError:  # closing from this thread can pull a socket from under poll()
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        # Connections still open (keep-alive, or left by a test) would keep run() looping
        # until the channel timeout; closing them all ends it now.
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=1)
        thread.join(5)


@contextlib.contextmanager
def mor_server(url: str, prefix: str = "/billing"):
    source = DatabaseSource(read_only(create_engine(url)))
    with serving(create_app(source, SETTINGS, prefix)) as root:
        yield root + prefix
    source.engine.dispose()


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    return build_db(tmp_path_factory.mktemp("mor") / "mor.sqlite")


@pytest.fixture(scope="module")
def base(db_url) -> str:
    with mor_server(db_url) as url:
        yield url


@pytest.fixture(scope="module")
def database(db_url) -> DatabaseSource:
    return DatabaseSource(db_url)


def client(base: str, secret: str | None = SECRET, **kw) -> MorApiSource:
    kw.setdefault("timeout", 10.0)
    kw.setdefault("retries", 0)
    return MorApiSource(base, secret=secret, **kw)


def api_run(base: str, p, secret: str | None = SECRET, **kw) -> Report:
    """One report over the API; the session is closed so that no connection lingers."""
    with client(base, secret, **kw) as source:
        return source.run(p, SETTINGS)


def params(u: str = "admin", **values):
    pairs = {"u": u, "from": str(FROM), "till": str(TILL),
             **{k: str(v) for k, v in values.items()}}
    return parse_params(pairs)


def outcome(run):
    """The report, or the (class, message) of the ReportError it ended in."""
    try:
        return run()
    except ReportError as exc:
        return (type(exc).__name__, str(exc))


def assert_same_report(api, db) -> None:
    if isinstance(db, tuple) or isinstance(api, tuple):
        assert api == db
        return
    assert api.key_columns == db.key_columns
    assert api.metric_columns == db.metric_columns
    pd.testing.assert_frame_equal(api.rows, db.rows, check_exact=True)
    assert api.totals == db.totals
    assert {k: type(v) for k, v in api.totals.items()} == {k: type(v) for k, v in db.totals.items()}
    assert (api.currency, api.from_, api.till) == (db.currency, db.from_, db.till)


# --- parity -------------------------------------------------------------------------------

GROUPS = ("user", "device", "terminator", "provider", "dst_group", "dst", "day", "hour",
          "user_rate", "provider_rate")
CASES = [
    {},
    *({f"group_by_{g}": 1} for g in GROUPS),
    {"group_by_day": 1, "group_by_hour": 1},
    {f"group_by_{g}": 1 for g in GROUPS},
    {"group_by_user": 1, "group_by_device": 1, "group_by_provider": 1, "group_by_dst": 1},
    {"s_originator_id": 4},
    {"s_originator_id": 6, "group_by_day": 1},
    {"s_terminator_id": 1},
    {"s_terminator_id": 2, "group_by_provider": 1},
    {"s_device": 13},
    {"s_provider": 2, "group_by_dst": 1},
    {"a_src": "3706%"},
    {"a_dst": "%44%", "group_by_dst": 1},
    {"a_src": "3705_99"},
    {"s_duration": 60},
    {"dst_group": "lithuania%"},
    {"dst_group": "UK_Fixed", "group_by_dst_group": 1},
    {"use_real_billsec": 1, "group_by_day": 1},
    {"from_user_perspective": 1},
    {"answered_calls": 5},
    {"profit_show": 1},
    {"profit_show": 1, "group_by_terminator": 1, "group_by_provider_rate": 1},
    {"clid": "JOHN"},
    {"clid": "_%"},
    {"from": 0, "till": 0},
    {"s_device": 999},
]


@pytest.mark.parametrize("currency", ["USD", "EUR"])
@pytest.mark.parametrize("user", ["admin", "respro"])
@pytest.mark.parametrize("case", CASES, ids=[",".join(f"{k}={v}" for k, v in c.items()) or "default"
                                             for c in CASES])
def test_parity(base, database, case, user, currency):
    secret = RESELLER_SECRET if user == "respro" else SECRET
    p = params(user, a_currency=currency, **case)
    db = outcome(lambda: database.run(p, SETTINGS))
    api = outcome(lambda: api_run(base, p, secret))
    assert_same_report(api, db)


def test_parity_holds_rows(base, database):
    """The parity cases are not all empty: the default report has rows and money."""
    report = api_run(base, params(profit_show=1))
    assert len(report.rows) > 5 and report.totals["billed_originator"] > 0
    assert report.rows["originator_id"].dtype == "int64"
    assert report.rows["billed_originator"].dtype == "float64"


def test_accountant_and_get_parity(tmp_path, caplog):
    url = build_db(tmp_path / "get.sqlite", {"Allow_GET_API": "1"})
    database = DatabaseSource(url)
    # urllib3's own level too: clickhouse-connect, once imported (the clickhouse kind's
    # tests), sets it to WARNING.
    with mor_server(url) as base, caplog.at_level(logging.DEBUG), \
            caplog.at_level(logging.DEBUG, logger="urllib3"):
        for user in ("admin", "acc"):
            p = params(user, group_by_day=1, profit_show=1)
            assert_same_report(api_run(base, p, use_get=True), database.run(p, SETTINGS))
    # urllib3 logs GET request lines at DEBUG (--debug); the hash in them is hidden.
    assert "hash=<hidden>" in caplog.text and mor_hash(SECRET) not in caplog.text


def test_csv_and_json_match_the_database_path(base, database):
    p = params(group_by_user=1, group_by_dst=1, profit_show=1, a_currency="GBP")
    api, db = api_run(base, p), database.run(p, SETTINGS)
    for fmt in ("csv", "json", "xml"):
        assert export(api, fmt) == export(db, fmt)


# --- XML reader ---------------------------------------------------------------------------

def test_xml_round_trip(database):
    for case in ({}, {"group_by_user": 1, "group_by_device": 1, "profit_show": 1},
                 {"group_by_day": 1, "group_by_hour": 1, "group_by_user_rate": 1},
                 {"from": 0, "till": 0}):
        p = params(**case)
        report = database.run(p, SETTINGS)
        back = read_report(parse_document(to_xml(report).encode()), p)
        assert_same_report(back, report)


def test_lenient_reading_of_other_mor_shapes():
    """Aliases, H:MM:SS, MOR's fractional ASR, unknown columns and missing totals."""
    body = b"""<?xml version="1.0"?><page><aggregates>
      <aggregate><dst_group_id>7</dst_group_id><dst_group>LT Mobile</dst_group>
        <price_orig>10.5</price_orig><terminator_billed>4.5</terminator_billed>
        <billsec_orig>1:00:00</billsec_orig><billsec_term>3600</billsec_term>
        <billsec>0:59:20</billsec><answered_calls>42</answered_calls>
        <total_calls>77</total_calls><asr>0.5455</asr><acd>0:01:25</acd>
        <note>vip</note></aggregate>
      <aggregate><dst_group_id>8</dst_group_id><dst_group>LT Fixed</dst_group>
        <user_billed>1.5</user_billed><billed_term>0.5</billed_term>
        <billsec_orig>60</billsec_orig><billsec_term>60</billsec_term>
        <billsec>60</billsec><answered_calls>1</answered_calls>
        <total_calls>3</total_calls><asr>33.3</asr><note>x</note></aggregate>
    </aggregates></page>"""
    p = params(group_by_dst_group=1)
    report = read_report(parse_document(body), p)
    assert report.key_columns == ["dst_group_id", "dst_group"]
    assert report.metric_columns == ["total_calls", "answered_calls", "billed_originator",
                                     "billed_terminator", "billed_duration_originator",
                                     "billed_duration_terminator", "duration", "asr", "acd",
                                     "note"]
    first = report.rows.iloc[0]
    assert first["billed_originator"] == 10.5 and first["duration"] == 3560
    assert first["asr"] == pytest.approx(42 / 77 * 100)  # derived, not MOR's 0.5455
    assert report.rows["billed_duration_originator"].tolist() == [3600, 60]
    assert report.rows["note"].tolist() == ["vip", "x"]
    assert report.totals["total_calls"] == 80 and isinstance(report.totals["total_calls"], int)
    assert report.totals["asr"] == pytest.approx(43 / 80 * 100)  # a ratio of sums
    assert report.totals["acd"] == pytest.approx(3620 / 43)


def test_fraction_asr_without_counts_becomes_percent():
    body = (b"<page><aggregates><aggregate><day>2024-01-01</day><asr>0.25</asr></aggregate>"
            b"</aggregates><totals><asr>0.5</asr></totals></page>")
    report = read_report(parse_document(body), params(group_by_day=1))
    assert report.rows["asr"].tolist() == [25.0] and report.totals["asr"] == 50.0
    percent = read_report(parse_document(body.replace(b"0.25", b"54.5")), params(group_by_day=1))
    assert percent.rows["asr"].tolist() == [54.5] and percent.totals["asr"] == 0.5


def test_errors_without_page_and_unknown_texts():
    from core.sources.mor_api import mor_failure
    from core.sources.mor_xml import mor_error
    assert mor_error(parse_document(b"<status><error>Bad login</error></status>")) == "Bad login"
    assert isinstance(mor_failure("Device was not found"), NotFound)
    assert isinstance(mor_failure("You are not authorized to use this functionality"), AccessDenied)
    strange = mor_failure("Something new")
    assert type(strange) is SourceUnavailable and str(strange) == "Something new" and strange.hint


def test_hash_is_sha1_of_the_secret():
    assert mor_hash("secret") == "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"


# --- MOR's refusals, through the real server --------------------------------------------

def refusal(base, p=None, **kw) -> ReportError:
    with pytest.raises(ReportError) as info:
        api_run(base, p or params(), **kw)
    return info.value


def test_wrong_hash(base):
    err = refusal(base, secret="wrong")
    assert type(err) is SourceUnavailable and str(err) == "Incorrect hash"
    assert "secret key" in err.hint


def test_no_secret_given(base):
    err = refusal(base, secret=None)
    assert str(err) == "Incorrect hash" and "MOR_API_SECRET" in err.hint


def test_reseller_uses_his_own_key(base):
    assert str(refusal(base, params("respro"), secret=SECRET)) == "Incorrect hash"
    assert api_run(base, params("respro"), RESELLER_SECRET).source.startswith("MOR API")


def test_unknown_user(base):
    err = refusal(base, params("nobody"))
    assert str(err) == "Bad login" and "username" in err.hint


@pytest.mark.parametrize("user", ["plain", "resplain"])
def test_plain_user_and_plain_reseller(base, user):
    err = refusal(base, params(user))
    assert type(err) is AccessDenied and str(err) == "Access Denied" and err.hint


def test_not_found_filters(base):
    err = refusal(base, params(s_terminator_id=77))
    assert type(err) is NotFound and str(err) == "Terminator was not found"
    assert str(refusal(base, params(a_currency="XYZ"))) == "Currency was not found"
    assert str(refusal(base, params("respro", s_originator_id=4), secret=RESELLER_SECRET)) \
        == "User was not found"


def test_get_refused_unless_allowed(base):
    err = refusal(base, use_get=True)
    assert str(err) == "GET Requests are disabled" and "POST" in err.hint


def test_test_connection(base):
    with client(base) as source:
        assert "answers" in source.test_connection()
        assert "admin may run" in source.test_connection("admin")
    with client(base, "wrong") as source, pytest.raises(SourceUnavailable, match="Incorrect hash"):
        source.test_connection("admin")


# --- misbehaving servers ------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<page><aggregates><aggregate><originator>&lol9;</originator></aggregate></aggregates></page>"""
SAMPLE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<page><aggregates><aggregate>'
          b"<originator_id>4</originator_id><total_calls>7</total_calls></aggregate>"
          b"</aggregates><totals><total_calls>7</total_calls></totals></page>")


@pytest.fixture(scope="module")
def bad_server():
    """One small Flask app on loopback whose routes misbehave in known ways."""
    from flask import Flask, Response
    app = Flask("misbehaving")
    hits = {"500": 0}

    def route(name):
        return app.route(f"/{name}/api/aggregate_get", methods=["GET", "POST"], endpoint=name)

    @route("e500")
    def e500():
        hits["500"] += 1
        return Response("<h1>Internal Server Error</h1>", status=500)

    @route("truncated")
    def truncated():
        return Response(SAMPLE[: len(SAMPLE) // 2], mimetype="application/xml")

    @route("laughs")
    def laughs():
        return Response(BILLION_LAUGHS, mimetype="application/xml")

    @route("huge")
    def huge():  # no Content-Length: the client must stop reading on its own
        def body():
            yield b"<page><aggregates>"
            row = b"<aggregate><total_calls>1</total_calls></aggregate>" * 1200
            for _ in range(60 * 2**20 // len(row)):
                yield row
        return Response(body(), mimetype="application/xml")

    @route("declared")
    def declared():
        return Response(b"<page>" + b" " * (2 * 2**20) + b"</page>", mimetype="application/xml")

    @route("html")
    def html():
        return Response("<!DOCTYPE html><html><body>Log in</body></html>", mimetype="text/html")

    @route("redirect")
    def redirect():
        return Response("", status=302, headers={"Location": "https://elsewhere.example/billing"})

    @route("sample")
    def sample():
        return Response(SAMPLE, mimetype="application/xml")

    with serving(app) as root:
        yield root, hits


def test_server_error_is_retried_then_reported(bad_server):
    root, hits = bad_server
    before = hits["500"]
    with pytest.raises(SourceUnavailable, match=r"failed \(HTTP 500\)"):
        api_run(f"{root}/e500", params(), retries=2, backoff=0.01)
    assert hits["500"] - before == 3


@pytest.mark.parametrize("name, message", [
    ("truncated", "not well-formed XML"),
    ("laughs", "DTD or XML entities"),
    ("html", "web page"),
    ("redirect", "redirects .* to https://elsewhere.example/billing"),
    ("missing", "HTTP 404"),
])
def test_broken_answers(bad_server, name, message):
    with pytest.raises(SourceUnavailable, match=message) as info:
        api_run(f"{bad_server[0]}/{name}", params())
    assert info.value.hint


def test_a_good_sample_from_the_same_server(bad_server):
    report = api_run(f"{bad_server[0]}/sample", params(group_by_user=1))
    assert report.rows.to_dict("records") == [{"originator_id": 4, "total_calls": 7}]


def test_huge_answer_is_cut_at_the_cap(bad_server):
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="larger than 50 MB") as info:
        api_run(f"{bad_server[0]}/huge", params())
    assert "narrow" in info.value.hint and time.monotonic() - started < 30


def test_declared_length_over_the_cap_is_not_read(bad_server):
    with pytest.raises(SourceUnavailable, match="larger than 1 MB"):
        api_run(f"{bad_server[0]}/declared", params(), max_bytes=2**20)


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections into the backlog, never reads or answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="did not answer within 0.5 s") as info:
            api_run(f"http://127.0.0.1:{port}/billing", params(), timeout=0.5, retries=2)
        assert time.monotonic() - started < 5 and "--timeout" in info.value.hint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_after_retries():
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="connection refused") as info:
        api_run(f"http://127.0.0.1:{free_port()}/billing", params(), retries=2, backoff=0.05)
    assert time.monotonic() - started >= 0.15  # two backoffs: 0.05 + 0.1
    assert "reachable" in info.value.hint


def test_bad_base_and_ca_bundle_are_input_errors(tmp_path):
    with pytest.raises(ParamError, match="not a MOR address"):
        MorApiSource("ftp://host/billing")
    with pytest.raises(ParamError, match="ca-bundle"):
        MorApiSource("https://host/billing", verify=str(tmp_path / "missing.pem"))
    source = MorApiSource("https://user:pw@host:8443/billing/api/aggregate_get/", secret="s3cr3t")
    assert source.url == "https://user:pw@host:8443/billing/api/aggregate_get"
    assert source.describe() == "MOR API https://host:8443/billing"
    assert "s3cr3t" not in repr(source) and "pw" not in repr(source)
    assert "s3cr3t" not in repr(vars(source))  # only its hash is kept


def test_shared_session_is_used_and_left_open(base):
    import requests
    with requests.Session() as session:
        source = client(base, session=session)
        source.run(params())
        source.close()
        assert source.session is session
        api_run(base, params(), session=session)  # still usable


# --- command line -------------------------------------------------------------------------

def run_cli(*args, secret: str | None = SECRET):
    env = {k: v for k, v in os.environ.items() if k != "MOR_API_SECRET"}
    if secret is not None:
        env["MOR_API_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_report_over_the_api_matches_the_database(base, db_url):
    args = ["--format", "json", "group_by_day=1", "profit_show=1", "a_currency=EUR",
            f"from={FROM}", f"till={TILL}"]
    api = run_cli("report", "--api", base, "--user", "admin", *args)
    db = run_cli("report", "--db", db_url, "--user", "admin", *args)
    assert api.returncode == 0, api.stderr
    assert json.loads(api.stdout) == json.loads(db.stdout)


def test_cli_server_refusal_exits_3_with_one_line(base):
    result = run_cli("report", "--api", base, "--user", "admin", secret="wrong")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Incorrect hash — ")
    assert "wrong" not in result.stderr and mor_hash("wrong") not in result.stderr


def test_cli_unreachable_server_exits_3(tmp_path):
    result = run_cli("report", "--api", f"http://127.0.0.1:{free_port()}/billing",
                     "--timeout", "2")
    assert result.returncode == 3 and result.stderr.count("\n") == 1
    assert "connection refused" in result.stderr


def test_cli_bad_parameter_exits_2(base):
    result = run_cli("report", "--api", base, "--user", "admin", "group_by_day=2")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "group_by_day" in result.stderr
