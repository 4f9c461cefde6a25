"""The configured sources: chosen by name, never typed by a visitor.

A visitor of the app picks one of these names; the URLs, hosts, driver options and API
credentials behind them come only from `.streamlit/secrets.toml` (or the environment), which
is the operator's:

- `demo`: the generated SQLite demo ($MOR_DEMO_PATH, default data/demo.sqlite), always.
- `mor`: `[connections.mor]` (a `url`, or Streamlit's SQL fields dialect/driver/username/
  password/host/port/database/query), else $MOR_DB_URL.
- `analytics`: `[connections.analytics]` `url`, else $MOR_COPY_URL, else
  duckdb:///data/mor.duckdb when that file exists.
- `mor_api`: `[mor_api]` base, username, secret (else $MOR_API_SECRET), use_get, ca_bundle.
- `clickhouse`: `[connections.clickhouse]` `url`, else $MOR_CLICKHOUSE_URL: a copy made by
  `python -m core sync --to` in a ClickHouse server (clickhousedb://user@host:8123/db, the
  password from $MOR_DB_PASSWORD) or in chDB (chdb:///PATH[?database=NAME]; one data
  directory per process, so the app and a sync take turns on it).

People sign in against one of them (`sign_in_source`): $MOR_SOURCE or `[app] source`, else
the first configured of mor, analytics, mor_api, clickhouse, else the demo.

The API secret is bound to its base: a SourceConfig re-pointed at another base (e.g. with
`dataclasses.replace`) drops the secret, so a configured secret only ever goes to the
configured server. Nothing here connects; `open_source` opens lazily.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceUnavailable
from ..params import ParamError

DEMO, MOR, ANALYTICS, MOR_API = "demo", "mor", "analytics", "mor_api"
CLICKHOUSE = "clickhouse"
SECRETS_FILE = ".streamlit/secrets.toml"
DEFAULT_DEMO_PATH = "data/demo.sqlite"
DEFAULT_COPY_PATH = "data/mor.duckdb"


class SourceConfigError(SourceUnavailable):
    """A malformed source configuration; the message names the section and what is accepted."""


@dataclass(frozen=True)
class SourceConfig:
    """One configured source. Secrets are never in repr() or shown()."""

    name: str                                   # DEMO | MOR | ANALYTICS | MOR_API
    title: str                                  # what the page shows
    url: str = field(default="", repr=False)    # database URL; may hold a password
    api_base: str = ""
    api_user: str = ""
    api_secret: str = field(default="", repr=False)
    use_get: bool = False
    ca_bundle: str = ""
    # The base the secret was configured for; set on creation. A copy with another
    # api_base carries a stale binding, and __post_init__ drops the secret.
    secret_for: str = field(default="", repr=False, compare=False)

    def __post_init__(self):
        if not self.api_secret:
            object.__setattr__(self, "secret_for", "")
        elif not self.secret_for:
            object.__setattr__(self, "secret_for", self.api_base)
        elif _same_base(self.secret_for, self.api_base) is False:
            object.__setattr__(self, "api_secret", "")
            object.__setattr__(self, "secret_for", "")

    def __repr__(self) -> str:
        return f"SourceConfig(name={self.name!r}, {self.shown()})"

    def cache_key(self) -> tuple:
        """Identifies the source in caches; secrets (the password, the API secret) as digests."""
        return (self.name, self.shown(), _digest(self.url), self.api_base, self.api_user,
                _digest(self.api_secret), self.use_get, self.ca_bundle)

    def shown(self) -> str:
        """A safe one-liner: the URL with its password masked, or the API server and user."""
        if self.url:
            from .db import safe_url
            return safe_url(self.url)
        from .mor_api import _shown
        try:
            text = _shown(self.api_base)
        except ValueError:
            text = "<invalid address>"
        return text + (f" as {self.api_user}" if self.api_user else "") + (" (GET)" if self.use_get else "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


def _same_base(a: str, b: str) -> bool:
    from .mor_api import normalise_base
    try:
        return normalise_base(a) == normalise_base(b)
    except ParamError:
        return a.strip() == b.strip()


# --- reading the configuration ---------------------------------------------------------------

def _section(secrets: Mapping, *path: str) -> Mapping | None:
    """secrets[path[0]][path[1]]…, None when absent; a non-table value is a clear error."""
    node = secrets
    where = []
    for part in path:
        where.append(part)
        try:
            node = node.get(part) if isinstance(node, Mapping) else None
        except FileNotFoundError as exc:   # Streamlit's secrets: no secrets.toml, or a broken one
            if "pars" in str(exc).lower():
                raise SourceConfigError(f"{SECRETS_FILE} could not be read: {_first_line(exc)}",
                                        hint="fix its TOML syntax; the demo database needs no "
                                             "configuration") from None
            return None
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise SourceConfigError(f"[{'.'.join(where)}] in {SECRETS_FILE} is not a table",
                                    hint=f"write it as a [{'.'.join(where)}] section of key = value lines")
    return node


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def _text(section: Mapping, key: str, where: str) -> str:
    value = section.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceConfigError(f"{where}: {key} must be text, not {type(value).__name__}",
                                hint=f"write {key} = \"…\" in {SECRETS_FILE}")
    return str(value).strip()


def _database_url(url: str, where: str) -> str:
    """The URL when it is one we can open (a supported database, harmless options), else a
    SourceConfigError naming `where`."""
    from .db import check_url
    try:
        check_url(url)
    except SourceUnavailable as exc:
        raise SourceConfigError(f"{where}: {exc}", hint=exc.hint) from None
    return url


def _mor_url(secrets: Mapping, environ: Mapping) -> tuple[str, str] | None:
    where = f"[connections.mor] in {SECRETS_FILE}"
    conf = _section(secrets, "connections", "mor")
    if conf:
        url = _text(conf, "url", where)
        if url:
            return _database_url(url, where), "[connections.mor]"
        if conf.get("dialect"):
            return _database_url(_url_from_fields(conf, where), where), "[connections.mor]"
        raise SourceConfigError(f"{where} has neither url nor dialect",
                                hint="give url = \"mysql+pymysql://user:password@host/mor\", or "
                                     "dialect, username, password, host, port and database")
    if environ.get("MOR_DB_URL"):
        return _database_url(environ["MOR_DB_URL"].strip(), "$MOR_DB_URL"), "$MOR_DB_URL"
    return None


def _url_from_fields(conf: Mapping, where: str) -> str:
    """Streamlit's SQLConnection fields as one URL."""
    from sqlalchemy.engine import URL
    dialect, driver = _text(conf, "dialect", where), _text(conf, "driver", where)
    port = conf.get("port")
    if port is not None and (isinstance(port, bool) or not str(port).strip().isdigit()):
        raise SourceConfigError(f"{where}: port must be a number, not {port!r}")
    query = conf.get("query") or {}
    if not isinstance(query, Mapping):
        raise SourceConfigError(f"{where}: query must be a table of driver options")
    return URL.create(dialect + (f"+{driver}" if driver else ""),
                      username=_text(conf, "username", where) or None,
                      password=_text(conf, "password", where) or None,
                      host=_text(conf, "host", where) or None,
                      port=int(port) if port is not None else None,
                      database=_text(conf, "database", where) or None,
                      query={str(k): str(v) for k, v in query.items()}
                      ).render_as_string(hide_password=False)


def _analytics_url(secrets: Mapping, environ: Mapping, copy_path: Path) -> tuple[str, str] | None:
    where = f"[connections.analytics] in {SECRETS_FILE}"
    conf = _section(secrets, "connections", "analytics")
    url = _text(conf, "url", where) if conf else ""
    if url:
        return _database_url(url, where), "[connections.analytics]"
    if environ.get("MOR_COPY_URL"):
        return _database_url(environ["MOR_COPY_URL"].strip(), "$MOR_COPY_URL"), "$MOR_COPY_URL"
    if copy_path.is_file():
        return f"duckdb:///{copy_path}", str(copy_path)
    return None


def _clickhouse_url(secrets: Mapping, environ: Mapping) -> tuple[str, str] | None:
    """The ClickHouse copy's URL and where it was configured; a URL of another engine is an
    error naming its section, since the other engines have sections of their own."""
    conf = _section(secrets, "connections", "clickhouse")
    where, url = f"[connections.clickhouse] in {SECRETS_FILE}", ""
    if conf:
        url = _text(conf, "url", where)
    label = "[connections.clickhouse]"
    if not url and environ.get("MOR_CLICKHOUSE_URL"):
        where = label = "$MOR_CLICKHOUSE_URL"
        url = environ["MOR_CLICKHOUSE_URL"].strip()
    if not url:
        return None
    if url.split(":", 1)[0].split("+", 1)[0] not in ("chdb", "clickhousedb"):
        raise SourceConfigError(f"{where}: the url is not a ClickHouse one",
                                hint="use clickhousedb://user@host:8123/database or chdb:///path/to/copy.chdb")
    return _database_url(url, where), label


def _flag(section: Mapping, key: str, where: str) -> bool:
    value = section.get(key, False)
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise SourceConfigError(f"{where}: {key} must be true or false, not {value!r}")


def _api(secrets: Mapping, environ: Mapping) -> SourceConfig | None:
    from .mor_api import normalise_base
    where = f"[mor_api] in {SECRETS_FILE}"
    conf = _section(secrets, "mor_api")
    if not conf:
        return None
    base = _text(conf, "base", where)
    if not base:
        raise SourceConfigError(f"{where} has no base",
                                hint="give base = \"https://mor.example.com/billing\" (MOR's web address)")
    try:
        base = normalise_base(base)
    except ParamError as exc:
        raise SourceConfigError(f"{where}: base {str(exc).removeprefix(exc.param + ': ')}") from None
    ca_bundle = _text(conf, "ca_bundle", where)
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise SourceConfigError(f"{where}: ca_bundle {ca_bundle} is not a file",
                                hint="give a PEM file of the CA that signed the MOR server's certificate")
    return SourceConfig(name=MOR_API, title="MOR server API ([mor_api])", api_base=base,
                        api_user=_text(conf, "username", where),
                        api_secret=_text(conf, "secret", where) or environ.get("MOR_API_SECRET", ""),
                        use_get=_flag(conf, "use_get", where), ca_bundle=ca_bundle)


def configured_sources(secrets: Mapping, environ: Mapping = os.environ,
                       demo_path: Path | str | None = None,
                       copy_path: Path | str | None = None) -> dict[str, SourceConfig]:
    """Every configured source by name, demo first. Raises SourceConfigError, naming the
    section, for a malformed one."""
    demo = Path(demo_path or environ.get("MOR_DEMO_PATH") or DEFAULT_DEMO_PATH)
    out = {DEMO: SourceConfig(name=DEMO, title=f"Demo database ({demo})", url=f"sqlite:///{demo}")}
    mor = _mor_url(secrets, environ)
    if mor:
        out[MOR] = SourceConfig(name=MOR, title=f"MOR database ({mor[1]})", url=mor[0])
    copy = _analytics_url(secrets, environ, Path(copy_path or DEFAULT_COPY_PATH))
    if copy:
        out[ANALYTICS] = SourceConfig(name=ANALYTICS, title=f"Analytics copy ({copy[1]})", url=copy[0])
    api = _api(secrets, environ)
    if api:
        out[MOR_API] = api
    ch = _clickhouse_url(secrets, environ)
    if ch:
        out[CLICKHOUSE] = SourceConfig(name=CLICKHOUSE, title=f"ClickHouse copy ({ch[1]})", url=ch[0])
    return out


SIGN_IN_ORDER = (MOR, ANALYTICS, MOR_API, CLICKHOUSE)   # the default when none is named


def sign_in_source(sources: Mapping[str, SourceConfig], secrets: Mapping,
                   environ: Mapping = os.environ) -> str:
    """The name of the source people sign in against: $MOR_SOURCE (it wins, as for the
    report rules) or `[app] source`, else the first configured of mor, analytics, mor_api, clickhouse,
    else the demo. A named source that is unknown or not configured is a SourceConfigError,
    never a quiet fall-back to the demo, whose passwords everyone knows."""
    names = (DEMO, MOR, ANALYTICS, MOR_API, CLICKHOUSE)
    where, chosen = "$MOR_SOURCE", (environ.get("MOR_SOURCE") or "").strip()
    if not chosen:
        app = _section(secrets, "app")
        where = f"[app] source in {SECRETS_FILE}"
        chosen = _text(app, "source", where) if app else ""
    if not chosen:
        return next((n for n in SIGN_IN_ORDER if n in sources), DEMO)
    if chosen not in names:
        raise SourceConfigError(f"{where} is '{chosen}', which is not a source",
                                hint=f"use one of {', '.join(names)}")
    if chosen not in sources:
        raise SourceConfigError(f"{where} is '{chosen}', which is not configured",
                                hint=f"configure it (see .streamlit/secrets.toml.example), or name "
                                     f"one of the configured sources: {', '.join(sources)}")
    return chosen


def open_source(config: SourceConfig, **api_options):
    """The Source for a configuration: a DatabaseSource or a MorApiSource. Nothing connects
    until the source is asked for something. `api_options` (session, timeout, …) go to
    MorApiSource; the secret always goes with config.api_base, and only there."""
    if config.url:
        from .db import DatabaseSource
        return DatabaseSource(config.url)
    if config.api_base:
        from .mor_api import MorApiSource
        return MorApiSource(config.api_base, secret=config.api_secret or None,
                            use_get=config.use_get, verify=config.ca_bundle or True,
                            user=config.api_user or None, **api_options)
    raise SourceConfigError(f"the source {config.name} has neither a database URL nor an API base")
