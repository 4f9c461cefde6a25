"""A MOR-compatible aggregate_get server over any MOR-schema database (spec section 8).

`python -m core serve --db URL` answers POST {prefix}/api/aggregate_get as MOR X18 would:
the same checks in the same words, errors in MOR's envelope with HTTP 200, success in the
XML of core.exports.to_xml, streamed. Reports come from DatabaseSource, which only SELECTs;
the connection is made read-only as well where the engine allows it. The limits (rows in an
answer, connections, how long a connection may stall) are in docs/remote-api.md. Flask and
waitress are imported when serving, not on every command.
"""
from __future__ import annotations

import contextlib
import hmac
import logging
import re
import socket
import time
from xml.sax.saxutils import escape

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .errors import AccessDenied, NotFound, ReportError
from .exports import xml_chunks
from .params import SERVER_IGNORED, ParamError, parse_params
from .schema import conflines, users
from .settings import Settings
from .signin import SignInRefused, SignInThrottled, Throttle, check_credentials, throttle_keys
from .sources.db import DatabaseSource
from .sources.mor_api import ENDPOINT, LOGIN_ENDPOINT, mor_hash

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # an aggregate_get form is well under 2 KB; also the cap on its headers
# An aggregate row is 0.6-1.2 KB of XML (the widest: all ten group_by flags and profit_show),
# so 50,000 rows are 30-60 MB: about what MorApiSource reads by default (50 MB), and far
# more than a person reads. A larger answer gets a refusal that says to narrow the report.
MAX_ROWS = 50_000
# Seconds a connection may sit idle, take to send one whole request, or leave its answer
# unread, before it is closed. waitress's own default (120 s, idle only) let a hundred idle
# connections, or a few sending a header byte a second, shut everyone else out.
CHANNEL_TIMEOUT = 10
# Client connections per request thread: enough for keep-alive clients and a queue; each
# one may hold up to 64 KB of request and a buffered answer, so they are bounded too.
CONNECTIONS_PER_THREAD = 4
METHODS = ("GET", "POST")  # HEAD, OPTIONS and the rest never run a report
SWITCHES = ("Allow_API", "Allow_GET_API", "API_Disable_hash_checking", "API_Secret_Key")


class Refusal(Exception):
    """A request MOR would refuse: its text goes into the error envelope."""


def envelope(text: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<page>\n  <status>\n'
            f"    <error>{escape(text)}</error>\n  </status>\n</page>\n")


def login_answer(status: str) -> str:
    """MOR's answer to api/login: ok or failed, nothing that tells which part was wrong."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<action>\n  <name>login</name>\n'
            f"  <status>{status}</status>\n</action>\n")


def settings_of(conn, owner_id: int) -> dict[str, str]:
    """The API conflines of one owner: 0 for the admin's (system) settings."""
    rows = conn.execute(select(conflines.c.name, conflines.c.value)
                        .where(conflines.c.owner_id == owner_id,
                               conflines.c.name.in_(SWITCHES))).all()
    return {name: (value or "").strip() for name, value in rows}


def authenticate(conn, values: dict[str, str], method: str) -> None:
    """MOR's checks, in MOR's words, before any report runs.

    The switches are the admin's. The hash is checked against a reseller's own
    API_Secret_Key when he has set one, else against the admin's; every other role uses
    the admin's, as MOR keeps one system key.
    """
    system = settings_of(conn, 0)
    if system.get("Allow_API") != "1":
        raise Refusal("API Requests are disabled")
    if method == "GET" and system.get("Allow_GET_API") != "1":
        raise Refusal("GET Requests are disabled")
    username = values.get("u", "")
    user = conn.execute(select(users.c.id, users.c.usertype)
                        .where(users.c.username == username)).first() if username else None
    if user is None:
        raise Refusal("Bad login")
    if system.get("API_Disable_hash_checking") == "1":
        return
    key = system.get("API_Secret_Key", "")
    if (user.usertype or "").lower() == "reseller":
        key = settings_of(conn, user.id).get("API_Secret_Key") or key
    if not key:
        raise Refusal("API must have Secret Key")
    given = values.get("hash", "").strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(given, mor_hash(key).encode("ascii")):
        raise Refusal("Incorrect hash")


def read_only(engine: Engine) -> Engine:
    """Make every new connection refuse writes, where the engine has a switch for it
    (SQLite, MySQL/MariaDB, ClickHouse: readonly = 2 still lets the session choose its
    settings); on DuckDB the SELECT-only code is the guard."""
    if engine.url.get_backend_name() == "clickhousedb":     # stateless HTTP: a client setting
        @event.listens_for(engine, "connect")
        def _refuse_writes_on_clickhouse(dbapi_connection, _record):
            dbapi_connection.client.set_client_setting("readonly", "2")
        return engine
    statement = {"sqlite": "PRAGMA query_only = ON",
                 "mysql": "SET SESSION TRANSACTION READ ONLY",
                 "mariadb": "SET SESSION TRANSACTION READ ONLY",
                 "chdb": "SET readonly = 2"}.get(engine.url.get_backend_name())
    if statement:
        @event.listens_for(engine, "connect")
        def _refuse_writes(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
    return engine


def normalise_prefix(prefix: str) -> str:
    text = "/" + (prefix or "").strip().strip("/")
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", text):
        raise ParamError("prefix", f"'{prefix}' is not a URL path; use e.g. /billing")
    return "" if text == "/" else text


def positive(name: str, value) -> int:
    """A limit given as a whole number of at least 1 (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParamError(name, f"{value!r} is not accepted; use a whole number of at least 1")
    return value


def too_many_rows(count: int, limit: int) -> str:
    return (f"Too many rows: {count} aggregates exceed this server's limit of {limit}; "
            "narrow the period or the grouping")


def create_app(source: DatabaseSource, settings: Settings | None = None,
               prefix: str = "/billing", max_rows: int | None = None):
    """The Flask app answering {prefix}/api/aggregate_get.

    A report of more than `max_rows` aggregates (default MAX_ROWS) is refused in MOR's
    envelope instead of sent; an answer is streamed in chunks, never held whole in memory.
    """
    from flask import Flask, Response, request
    from werkzeug.exceptions import HTTPException, MethodNotAllowed

    settings = settings or Settings()
    max_rows = positive("max_rows", MAX_ROWS if max_rows is None else max_rows)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    def xml(body, status: int = 200) -> Response:
        return Response(body, status=status, mimetype="application/xml")

    # Werkzeug answers HEAD with every GET rule and Flask adds OPTIONS: both are refused
    # here, before any check or report runs.
    @app.route(normalise_prefix(prefix) + ENDPOINT, methods=list(METHODS),
               provide_automatic_options=False)
    def aggregate_get():
        if request.method not in METHODS:
            raise MethodNotAllowed(valid_methods=METHODS)
        started = time.perf_counter()
        pairs = list(request.args.items(multi=True))
        if request.method == "POST":
            pairs += list(request.form.items(multi=True))
        values = {}
        for name, value in pairs:
            values.setdefault(name, value)
        try:
            with source.engine.connect() as conn:
                authenticate(conn, values, request.method)
            params = parse_params([(k, v) for k, v in pairs if k != "hash"],
                                  tz=settings.timezone, ignore=SERVER_IGNORED,
                                  app_options=False)
            report = source.run(params, settings)
            if len(report.rows) > max_rows:
                raise Refusal(too_many_rows(len(report.rows), max_rows))
        except (Refusal, ParamError, AccessDenied, NotFound) as refusal:
            log.info("aggregate_get u=%s refused: %s", values.get("u", ""), refusal)
            return xml(envelope(str(refusal)))
        except (ReportError, SQLAlchemyError) as exc:
            log.warning("aggregate_get u=%s failed: %s", values.get("u", ""), exc)
            return xml(envelope("The report database is unavailable"), 503)
        log.info("aggregate_get u=%s: %d rows in %.3f s", params.u, len(report.rows),
                 time.perf_counter() - started)
        return xml(xml_chunks(report))

    throttle = Throttle()

    @app.route(normalise_prefix(prefix) + LOGIN_ENDPOINT, methods=list(METHODS),
               provide_automatic_options=False)
    def login():
        """MOR's login: `u` and `p`, answered ok or failed; failures are throttled per
        username and per client address, as in the app."""
        if request.method not in METHODS:
            raise MethodNotAllowed(valid_methods=METHODS)
        values = request.form if request.method == "POST" else request.args
        username, password = values.get("u", ""), values.get("p", "")
        keys = throttle_keys(username, f"addr:{request.remote_addr}")
        try:
            with source.engine.connect() as conn:
                system = settings_of(conn, 0)
                if system.get("Allow_API") != "1":
                    raise Refusal("API Requests are disabled")
                if request.method == "GET" and system.get("Allow_GET_API") != "1":
                    raise Refusal("GET Requests are disabled")
                throttle.check(*keys)
                check_credentials(conn, username, password)
        except Refusal as refusal:
            return xml(envelope(str(refusal)))
        except SignInRefused as refusal:
            if not isinstance(refusal, SignInThrottled):
                throttle.failed(*keys)
            log.info("login u=%s refused: %s", username, refusal)
            return xml(login_answer("failed"))
        except (ReportError, SQLAlchemyError) as exc:
            log.warning("login u=%s failed: %s", username, exc)
            return xml(envelope("The report database is unavailable"), 503)
        throttle.succeeded(*keys)
        log.info("login u=%s: ok", username)
        return xml(login_answer("ok"))

    @app.errorhandler(HTTPException)
    def http_error(exc):  # 404, 405, 413…: MOR's envelope, with the HTTP status
        response = xml(envelope(exc.name), exc.code or 500)
        if isinstance(exc, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(METHODS)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc):  # logged here, never shown to the client
        log.exception("aggregate_get failed")
        return xml(envelope("Internal error"), 500)

    return app


def create_server(app, host: str = "127.0.0.1", port: int = 8080, threads: int = 8, *,
                  connection_limit: int | None = None, channel_timeout: int | None = None):
    """A waitress server for `app` (port 0: any free port); `.run()` serves, `.close()` stops.

    At most `connection_limit` client connections (default CONNECTIONS_PER_THREAD per
    thread); further ones wait in the listen queue. A connection is closed once it has been
    idle, has been sending one request, or has left its answer unread for `channel_timeout`
    seconds (default CHANNEL_TIMEOUT), so slow or silent clients cannot hold every slot.
    """
    from waitress import create_server as waitress_server

    threads = positive("threads", threads)
    limit = positive("connection_limit",
                     CONNECTIONS_PER_THREAD * threads if connection_limit is None else connection_limit)
    timeout = positive("channel_timeout", CHANNEL_TIMEOUT if channel_timeout is None else channel_timeout)
    sockets: dict = {}
    server = waitress_server(app, map=sockets, host=host, port=port, threads=threads,
                             max_request_body_size=MAX_BODY, max_request_header_size=MAX_BODY,
                             connection_limit=limit, channel_timeout=timeout,
                             cleanup_interval=1, asyncore_use_poll=True,
                             ident="mor-aggregate-get")
    # waitress counts its listening sockets and its wake-up pipe among the connections.
    server.adj.connection_limit = limit + len(sockets)
    channel = deadline_channel(timeout)
    for listener in sockets.values():
        if hasattr(listener, "channel_class"):
            listener.channel_class = channel
    return server


def deadline_channel(timeout: float):
    """waitress's HTTP channel, also closed when one request takes longer than `timeout` to
    arrive (a header sent a byte a second) or its answer goes unread that long (a client
    that stops reading holds a request thread); waitress only closes wholly idle ones."""
    from waitress.channel import HTTPChannel

    class DeadlineChannel(HTTPChannel):
        arriving = None  # the request being received, and since when
        arriving_since = 0.0
        sending_since = None  # since when waitress has had enough output to send

        def received(self, data):
            result = super().received(data)
            if self.request is not None and self.request is not self.arriving:
                self.arriving, self.arriving_since = self.request, time.time()
            return result

        def stalled(self, now: float) -> bool:
            slow_request = (self.request is not None and self.request is self.arriving
                            and now - self.arriving_since > timeout)
            # A worker adds output an instant before sending it, and an answer that waited in
            # the queue starts with an old last_activity: the clock starts when this loop
            # first sees output to send, so only a client that stopped reading is dropped.
            if self.total_outbufs_len < self.adj.send_bytes:
                self.sending_since = None
            elif self.sending_since is None:
                self.sending_since = now
            unread = (self.sending_since is not None
                      and now - max(self.last_activity, self.sending_since) > timeout)
            return slow_request or unread

        def writable(self):  # asked on every turn of the server loop (at least once a second)
            if not self.will_close and self.connected and self.stalled(time.time()):
                log.info("closing a connection from %s that stalled for %s s", self.addr, timeout)
                self.will_close = True
                with contextlib.suppress(OSError):  # makes the socket ready, so the loop closes it
                    self.socket.shutdown(socket.SHUT_RDWR)
            return super().writable()

    return DeadlineChannel


def listening_url(server, prefix: str) -> str:
    host = server.effective_host
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{server.effective_port}{normalise_prefix(prefix)}{ENDPOINT}"

