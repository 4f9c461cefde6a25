"""Signing in through each source: a MOR database, MOR's login API (against the real compatible
server on loopback), the demo's passwords, and which source people sign in against.

Digests are written out by hand (SHA1 hex of the plaintext, as MOR stores them).
"""
from __future__ import annotations

import io
import sqlite3
from datetime import datetime, timezone
from urllib.parse import parse_qs

import pandas as pd
import pytest
from sqlalchemy import create_engine

from core.errors import AccessDenied, SourceUnavailable
from core.params import Params
from core.server import create_app, read_only
from core.settings import Settings
from core.signin import WRONG_CREDENTIALS, SignInRefused
from core.sources.config import SourceConfigError, configured_sources, sign_in_source
from core.sources.db import DatabaseSource
from core.sources.mor_api import MorApiSource
from tests.fixture_small import build_small_sqlite
from tests.test_login_api import with_passwords
from tests.test_mor_api import FROM, SECRET, SETTINGS, TILL, build_db, serving

DEMO_SHA1 = "89e495e7941cf9e40e6980d14a16bf023ccd4c91"        # sha1("demo")


# --- a MOR database ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory) -> DatabaseSource:
    source = DatabaseSource(f"sqlite:///{build_small_sqlite(tmp_path_factory.mktemp('s') / 's.sqlite')}")
    yield source
    source.engine.dispose()


def test_database_sign_in_gives_the_user_and_his_role(small):
    user = small.sign_in("respro", "demo", Settings())
    assert (user.id, user.username, user.role) == (5, "respro", "Reseller PRO")
    assert small.sign_in("admin", "demo", Settings()).usertype == "admin"


@pytest.mark.parametrize("username, password, refusal, words", [
    ("admin", "wrong", SignInRefused, WRONG_CREDENTIALS),
    ("ghost", "demo", SignInRefused, WRONG_CREDENTIALS),
    ("partner1", "demo", SignInRefused, "blocked"),
    ("jsmith1", "demo", AccessDenied, "Access Denied"),
    ("acc", "demo", AccessDenied, "Access Denied"),          # no statistics permission
    ("resplain", "demo", AccessDenied, "Access Denied"),
])
def test_database_sign_in_refusals(small, username, password, refusal, words):
    with pytest.raises(refusal, match=words):
        small.sign_in(username, password, Settings(accountant_stats=False))


# --- MOR's login API ----------------------------------------------------------------------------

class Requests:
    """WSGI middleware noting each request's method, path and whether its URL held `p`."""

    def __init__(self, app):
        self.app, self.seen = app, []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        in_url = parse_qs(environ.get("QUERY_STRING", ""))
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], "p" in in_url))
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The compatible server over a database whose passwords are 'demo' (respro: 'secret'),
    john blocked, and no reseller key of his own (the app holds the system key only)."""
    url = with_passwords(build_db(tmp_path_factory.mktemp("api") / "mor.sqlite", reseller_key=None),
                         blocked=("john",))
    database = DatabaseSource(read_only(create_engine(url)))
    app = Requests(create_app(database, SETTINGS, "/billing"))
    with serving(app) as root:
        yield root + "/billing", app, database
    database.engine.dispose()


def client(base: str, **kw) -> MorApiSource:
    return MorApiSource(base, secret=SECRET, timeout=10.0, retries=0, **kw)


def test_api_sign_in_then_reports_as_that_user(api):
    base, app, database = api
    with client(base) as source:
        user = source.sign_in("respro", "secret", SETTINGS)
        assert user.username == "respro"
        assert user.usertype == "" and user.role == ""      # MOR's login does not tell the role
        params = Params(u=user.username, from_=FROM, till=TILL, profit_show=True)
        remote = source.run(params, SETTINGS)
    local = database.run(params, SETTINGS)
    assert len(local.rows) > 0
    pd.testing.assert_frame_equal(remote.rows.reset_index(drop=True), local.rows.reset_index(drop=True),
                                  check_exact=False, check_dtype=False)
    # respro sees his own users' calls only (6 and 7), not the admin's report.
    admin = database.run(params.with_(u="admin"), SETTINGS)
    assert set(remote.rows["originator_id"]) <= {6, 7} < set(admin.rows["originator_id"])


@pytest.mark.parametrize("username, password, refusal, words", [
    ("respro", "demo", SignInRefused, WRONG_CREDENTIALS),
    ("ghost", "demo", SignInRefused, WRONG_CREDENTIALS),
    ("john", "demo", SignInRefused, WRONG_CREDENTIALS),      # blocked: MOR's login says failed
    ("plain", "demo", AccessDenied, "Access Denied"),          # the probe report is refused
    ("resplain", "demo", AccessDenied, "Access Denied"),
])
def test_api_sign_in_refusals(api, username, password, refusal, words):
    base, _app, _db = api
    with client(base) as source, pytest.raises(refusal, match=words):
        source.sign_in(username, password, SETTINGS)


def test_api_login_is_posted_even_when_reports_use_get(api):
    base, app, _db = api
    app.seen.clear()
    with client(base, use_get=True) as source, pytest.raises(SourceUnavailable, match="GET Requests"):
        source.sign_in("admin", "demo", SETTINGS)       # the server allows POST only
    assert app.seen[0] == ("POST", "/billing/api/login", False)
    assert all(not in_url for _m, _p, in_url in app.seen)


def test_api_errors_of_login_are_mors_words(tmp_path):
    url = with_passwords(build_db(tmp_path / "off.sqlite", {"Allow_API": "0"}))
    database = DatabaseSource(read_only(create_engine(url)))
    with serving(create_app(database, SETTINGS, "/billing")) as root, client(root + "/billing") as source:
        with pytest.raises(SourceUnavailable, match="API Requests are disabled"):
            source.sign_in("admin", "demo", SETTINGS)
    database.engine.dispose()


# --- the demo ------------------------------------------------------------------------------------

def test_every_demo_user_signs_in_with_demo(tmp_path):
    from core.demo import build_demo
    path = tmp_path / "demo.sqlite"
    build_demo(f"sqlite:///{path}", calls=300)
    with sqlite3.connect(path) as con:
        stored = con.execute("SELECT DISTINCT password FROM users").fetchall()
    assert stored == [(DEMO_SHA1,)]
    source = DatabaseSource(f"sqlite:///{path}")
    for username, role in (("admin", "admin"), ("reseller_pro", "Reseller PRO")):
        assert source.sign_in(username, "demo", Settings()).role == role
    assert source.sign_in("accountant", "demo", Settings(accountant_stats=True)).role == "accountant"
    with pytest.raises(AccessDenied):
        source.sign_in("jsmith", "demo", Settings())
    source.engine.dispose()


@pytest.mark.parametrize("old", ["empty passwords", "no password column"])
def test_a_demo_built_before_sign_in_is_rebuilt(tmp_path, old):
    from core.demo import build_demo, ensure_demo
    path = tmp_path / "demo.sqlite"
    build_demo(f"sqlite:///{path}", calls=700, days=2, seed=3)
    with sqlite3.connect(path) as con:
        if old == "empty passwords":
            con.execute("UPDATE users SET password = ''")
        else:
            con.execute("ALTER TABLE users DROP COLUMN password")
    ensure_demo(path)
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT DISTINCT password FROM users").fetchall() == [(DEMO_SHA1,)]
        assert con.execute("SELECT calls, seed, days FROM demo_build").fetchall() == [(700, 3, 2)]
        newest = con.execute("SELECT MAX(calldate) FROM calls").fetchone()[0]
    assert newest[:10] == datetime.now(timezone.utc).strftime("%Y-%m-%d")


def test_a_current_demo_is_left_alone(tmp_path):
    from core.demo import build_demo, ensure_demo
    path = tmp_path / "demo.sqlite"
    build_demo(f"sqlite:///{path}", calls=300)
    before = path.stat().st_mtime_ns
    ensure_demo(path)
    assert path.stat().st_mtime_ns == before


# --- which source people sign in against ---------------------------------------------------------

MOR_URL = {"connections": {"mor": {"url": "sqlite:///mor.sqlite"}}}
API = {"mor_api": {"base": "https://mor.example.com/billing", "username": "admin", "secret": "k"}}


@pytest.mark.parametrize("secrets, environ, expected", [
    ({}, {}, "demo"),
    (API, {}, "mor_api"),
    ({**API, **MOR_URL}, {}, "mor"),
    (API, {"MOR_COPY_URL": "duckdb:///copy.duckdb"}, "analytics"),
    ({**API, **MOR_URL, "app": {"source": "mor_api"}}, {}, "mor_api"),
    ({**MOR_URL, "app": {"source": "demo"}}, {}, "demo"),
    ({**MOR_URL, "app": {"source": "mor"}}, {"MOR_SOURCE": "demo"}, "demo"),   # the environment wins
])
def test_the_sign_in_source(secrets, environ, expected, tmp_path):
    sources = configured_sources(secrets, environ, copy_path=tmp_path / "none.duckdb")
    assert sign_in_source(sources, secrets, environ) == expected


@pytest.mark.parametrize("secrets, environ, words", [
    ({"app": {"source": "mysql"}}, {},
     "[app] source in .streamlit/secrets.toml is 'mysql', which is not a source"),
    ({}, {"MOR_SOURCE": "MOR"}, "$MOR_SOURCE is 'MOR', which is not a source"),
    ({}, {"MOR_SOURCE": "mor"}, "$MOR_SOURCE is 'mor', which is not configured"),
    ({"app": {"source": 1}}, {}, "source must be text"),
    ({"app": "mor"}, {}, "[app] in .streamlit/secrets.toml is not a table"),
])
def test_a_misnamed_sign_in_source_is_an_error_not_the_demo(secrets, environ, words, tmp_path):
    sources = configured_sources({}, {}, copy_path=tmp_path / "none.duckdb")
    with pytest.raises(SourceConfigError) as caught:
        sign_in_source(sources, secrets, environ)
    assert words in str(caught.value)
