"""The Source protocol, the sources configured by name, and the API secret bound to its base."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from contextlib import contextmanager

import pytest

from core.errors import ReportError
from core.params import Params
from core.settings import Settings
from core.sources import Capabilities, Source
from core.sources.config import (
    ANALYTICS,
    DEMO,
    MOR,
    MOR_API,
    SourceConfig,
    SourceConfigError,
    configured_sources,
    open_source,
)
from core.sources.db import DatabaseSource
from core.sources.mor_api import MorApiSource
from tests.fake_mysql import FakeMySQL
from tests.fixture_small import build_small_sqlite

SECRET = "s3cr3t-key"
HASH = hashlib.sha1(SECRET.encode()).hexdigest()   # MOR's aggregate_get hash: sha1(secret)


# --- the protocol ---------------------------------------------------------------------------------

def test_both_sources_satisfy_the_protocol_with_their_capabilities(tmp_path):
    database = DatabaseSource(f"sqlite:///{build_small_sqlite(tmp_path / 'mor.sqlite')}")
    api = MorApiSource("https://mor.example.com/billing", secret=SECRET)
    assert isinstance(database, Source) and isinstance(api, Source)
    assert database.capabilities == Capabilities(lists_names=True, lists_acting_users=True,
                                                 freshness=True)
    assert api.capabilities == Capabilities(lists_names=False, lists_acting_users=False,
                                            freshness=False)
    assert (api.choices("admin", Settings()), api.acting_users(), api.freshness()) == (None, None, None)
    assert not hasattr(database, "kind") and not hasattr(api, "kind")
    assert api.name == "https://mor.example.com/billing" and SECRET not in repr(vars(api))
    # tests/fixture_small.py: 32 call records, the newest is call 17; no sync_state: not a copy
    fresh = database.freshness()
    assert (fresh["calls"], str(fresh["newest_call"])) == (32, "2024-03-16 00:00:00")
    assert fresh["last_sync"] is None and fresh["complete"] is None
    assert database.test_connection().endswith("32 call records, newest 2024-03-16 00:00:00")


@pytest.mark.parametrize("older", [False, True])
def test_an_analytics_copy_reports_its_sync_in_freshness(tmp_path, older):
    from datetime import datetime

    from sqlalchemy import Column, MetaData, Table, create_engine
    from sqlalchemy.pool import NullPool

    from core.schema import copy_metadata, sync_state
    from tests import fixture_small
    from tests.engines import populate
    url = f"duckdb:///{tmp_path / 'copy.duckdb'}"
    engine = create_engine(url, poolclass=NullPool)
    populate(engine, fixture_small.TABLES)
    state = sync_state
    if older:   # a copy made before the sync recorded target_id and complete
        state = Table("sync_state", MetaData(), *[Column(c.name, c.type) for c in sync_state.c
                                                  if c.name not in ("target_id", "complete")])
        state.create(engine)
    else:
        copy_metadata.create_all(engine)
    row = dict(id=1, source="mysql+pymysql://reader:***@db/mor", last_id=32, calls_copied=32,
               last_sync=datetime(2024, 3, 16, 1, 2, 3), lookups_synced=datetime(2024, 3, 16, 1, 0, 0))
    with engine.begin() as conn:
        conn.execute(state.insert(), row if older else {**row, "target_id": 40, "complete": False})
    engine.dispose()
    fresh = DatabaseSource(url).freshness()
    assert fresh == {"calls": 32, "newest_call": datetime(2024, 3, 16), "last_sync": row["last_sync"],
                     "lookups_synced": row["lookups_synced"], "last_id": 32, "source": row["source"],
                     "complete": None if older else False}
    # a copy whose first sync stopped before recording its run holds nothing it should
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(state.delete())
    engine.dispose()
    assert DatabaseSource(url).freshness()["complete"] is False


# --- sources configured by name -----------------------------------------------------------------

def test_only_the_demo_without_configuration(tmp_path):
    found = configured_sources({}, environ={}, demo_path=tmp_path / "demo.sqlite",
                               copy_path=tmp_path / "none.duckdb")
    assert list(found) == [DEMO]
    assert found[DEMO].url == f"sqlite:///{tmp_path / 'demo.sqlite'}"


def test_every_section_and_its_environment_fallback(tmp_path):
    copy = tmp_path / "mor.duckdb"
    copy.write_bytes(b"")
    secrets = {"connections": {"mor": {"dialect": "mysql", "driver": "pymysql", "username": "reader",
                                       "password": "pa ss", "host": "db.example", "port": 3307,
                                       "database": "mor"}},
               "mor_api": {"base": "https://mor.example.com/billing/api/aggregate_get",
                           "username": "admin", "use_get": "true"}}
    environ = {"MOR_API_SECRET": SECRET, "MOR_DEMO_PATH": str(tmp_path / "d.sqlite")}
    found = configured_sources(secrets, environ=environ, copy_path=copy)
    assert list(found) == [DEMO, MOR, ANALYTICS, MOR_API]
    assert found[DEMO].url == f"sqlite:///{tmp_path / 'd.sqlite'}"
    from sqlalchemy.engine import make_url
    mor = make_url(found[MOR].url)
    assert (mor.drivername, mor.username, mor.password, mor.host, mor.port, mor.database) == (
        "mysql+pymysql", "reader", "pa ss", "db.example", 3307, "mor")
    assert found[MOR].title == "MOR database ([connections.mor])"
    assert found[ANALYTICS].url == f"duckdb:///{copy}"
    api = found[MOR_API]
    assert (api.api_base, api.api_user, api.api_secret, api.use_get) == (
        "https://mor.example.com/billing", "admin", SECRET, True)
    # the environment when there is no section; a section wins over the environment
    environ = {"MOR_DB_URL": "mysql+pymysql://env@h/mor", "MOR_COPY_URL": "duckdb:///x.duckdb"}
    only_env = configured_sources({}, environ=environ, copy_path=tmp_path / "none.duckdb")
    assert (only_env[MOR].url, only_env[ANALYTICS].url) == ("mysql+pymysql://env@h/mor",
                                                            "duckdb:///x.duckdb")
    both = configured_sources({"connections": {"mor": {"url": "sqlite:///m.sqlite"},
                                               "analytics": {"url": "duckdb:///a.duckdb"}}},
                              environ=environ)
    assert (both[MOR].url, both[ANALYTICS].url) == ("sqlite:///m.sqlite", "duckdb:///a.duckdb")


def test_secrets_never_show(tmp_path):
    secrets = {"connections": {"mor": {"url": "mysql+pymysql://reader:hunter2@db/mor"}},
               "mor_api": {"base": "https://mor.example.com/billing", "secret": SECRET}}
    found = configured_sources(secrets, environ={}, copy_path=tmp_path / "none.duckdb")
    for config in found.values():
        for text in (repr(config), config.shown(), str(config.cache_key())):
            assert "hunter2" not in text and SECRET not in text and HASH not in text
    assert found[MOR].shown() == "mysql+pymysql://reader:***@db/mor"
    assert found[MOR].cache_key() != dataclasses.replace(
        found[MOR], url="mysql+pymysql://reader:other@db/mor").cache_key()


@pytest.mark.parametrize("secrets,where,what", [
    ({"connections": {"mor": {"url": 5}}}, "[connections.mor]", "url must be text"),
    ({"connections": {"mor": {"url": "oracle://u@h/mor"}}}, "[connections.mor]",
     "oracle databases are not supported"),
    ({"connections": {"mor": {"dialect": "mysql", "port": "x"}}}, "[connections.mor]",
     "port must be a number"),
    ({"connections": {"mor": {"user": "x"}}}, "[connections.mor]", "neither url nor dialect"),
    ({"connections": {"mor": {"url": "mysql+pymysql://u@h/mor?local_infile=1"}}}, "[connections.mor]",
     "local_infile is not accepted"),
    ({"connections": {"analytics": {"url": "duckdb:///c.duckdb?allow_unsigned_extensions=1"}}},
     "[connections.analytics]", "allow_unsigned_extensions is not accepted"),
    ({"connections": "mysql://x"}, "[connections]", "is not a table"),
    ({"mor_api": {"base": "ftp://mor.example.com"}}, "[mor_api]", "is not a MOR address"),
    ({"mor_api": {"username": "admin"}}, "[mor_api]", "has no base"),
    ({"mor_api": {"base": "https://h/billing", "use_get": "maybe"}}, "[mor_api]",
     "use_get must be true or false"),
])
def test_a_malformed_section_is_named(tmp_path, secrets, where, what):
    with pytest.raises(SourceConfigError) as failure:
        configured_sources(secrets, environ={}, copy_path=tmp_path / "none.duckdb")
    assert str(failure.value).startswith(where) and what in str(failure.value)


def test_streamlit_secrets_missing_or_broken():
    from streamlit.errors import StreamlitSecretNotFoundError

    class Secrets(dict):   # st.secrets raises this on any access when the file is absent/broken
        def __init__(self, message):
            super().__init__()
            self.message = message

        def get(self, key, default=None):
            raise StreamlitSecretNotFoundError(self.message)

    assert list(configured_sources(Secrets("No secrets found"), environ={})) == [DEMO]
    with pytest.raises(SourceConfigError, match=r"^\.streamlit/secrets\.toml could not be read: "
                                                "Error parsing secrets file at x.toml"):
        configured_sources(Secrets("Error parsing secrets file at x.toml: Invalid value (at line 3)"),
                           environ={})


def test_opening_a_configured_source_connects_to_nothing():
    with FakeMySQL() as server:
        found = configured_sources({"connections": {"mor": {"url": server.url()}}}, environ={})
        source = open_source(found[MOR])
        assert isinstance(source, DatabaseSource) and server.connections == 0
    api = open_source(SourceConfig(name=MOR_API, title="API", api_base="https://h/billing",
                                   api_user="admin", api_secret=SECRET, use_get=True))
    assert isinstance(api, MorApiSource) and (api.base, api.user, api.use_get) == (
        "https://h/billing", "admin", True)


# --- the API secret only ever goes to its configured base -----------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(self.path + " " + self.rfile.read(length).decode("latin-1"))
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to + "/api/aggregate_get")
            self.end_headers()
            return
        body = b"<page><error>Bad login</error></page>"
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _record

    def log_message(self, *_args):
        pass


@contextmanager
def listener(redirect_to: str = ""):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen, server.redirect_to = [], redirect_to
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/billing"
    finally:
        server.shutdown()
        server.server_close()


def _try(source):
    with pytest.raises(ReportError):
        source.run(Params(u="admin", from_=0, till=0), Settings())


@pytest.mark.parametrize("use_get", [False, True])
def test_a_re_pointed_configuration_drops_its_secret(use_get):
    with listener() as (configured, base), listener() as (other, other_base):
        config = configured_sources({"mor_api": {"base": base, "secret": SECRET, "use_get": use_get}},
                                    environ={})[MOR_API]
        _try(open_source(config, retries=0))
        assert any(HASH in seen for seen in configured.seen)          # the configured base gets it
        moved = dataclasses.replace(config, api_base=other_base)
        assert moved.api_secret == ""
        _try(open_source(moved, retries=0))
        assert other.seen and not any(HASH in seen for seen in other.seen)
        # a change that keeps the base keeps the secret
        assert dataclasses.replace(config, api_user="reseller").api_secret == SECRET


def test_an_open_api_source_cannot_be_re_pointed_or_redirected():
    with listener() as (other, other_base), listener(redirect_to=other_base) as (configured, base):
        source = MorApiSource(base, secret=SECRET, retries=0)
        for attribute in ("base", "url"):
            with pytest.raises(AttributeError):
                setattr(source, attribute, other_base)
        _try(source)
        assert configured.seen and other.seen == []
