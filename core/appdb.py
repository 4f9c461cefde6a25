"""The app's own database: saved reports, alert rules and the alerts already mailed.

Never MOR's database: a URL that names a configured MOR source (or the database a command
reads) is refused. SQLite at data/app.sqlite by default, else any SQLAlchemy URL from
`[app_db] url` in secrets or $MOR_APP_DB_URL (the environment wins, as for the other
settings). We create the tables ourselves and record a schema version; a database written
by a newer version is refused rather than misread.

Every failure of this database is one AppDatabaseError with a message fit to show: the
reports themselves do not depend on it and still run.

Saved reports keep MOR's key=value pairs (Params.to_pairs(), so compare and a relative
period are kept by name) without `u` and `hash`: who a report runs as is decided when it
runs (core.saved), never by what was stored.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from .errors import AccessDenied, NotFound, ReportError

SCHEMA_VERSION = 1
DEFAULT_URL = "sqlite:///data/app.sqlite"
MAX_NAME = 200
# Parameters never stored with a saved report: the runner sets u; the hash is a credential.
NOT_STORED = ("u", "hash")

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, nullable=False),
)

saved_reports = Table(
    "saved_reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(255), nullable=False),
    Column("name", String(MAX_NAME), nullable=False),
    Column("params", Text, nullable=False),          # JSON object of MOR key=value pairs
    Column("page", String(100), nullable=False, default=""),
    Column("shared", Boolean, nullable=False, default=False),
    Column("created", Integer, nullable=False),      # epoch seconds
    Column("updated", Integer, nullable=False),
    UniqueConstraint("owner", "name", name="uq_saved_reports_owner_name"),
)

alert_rules = Table(
    "alert_rules", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(255), nullable=False),
    Column("name", String(MAX_NAME), nullable=False),
    Column("definition", Text, nullable=False),      # JSON of the rule's TOML table
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    UniqueConstraint("owner", "name", name="uq_alert_rules_owner_name"),
)

alert_sent = Table(
    "alert_sent", metadata,
    Column("rule", String(255), primary_key=True),   # the rule's name
    Column("row_key", String(64), primary_key=True),  # sha256 of the row's key columns
    Column("sent", Integer, nullable=False),          # epoch seconds of the last mail
)


class AppDatabaseError(ReportError):
    """The app's database cannot be opened, read or written; reports still run."""


class NameTaken(ValueError):
    """A saved report (or rule) of that name exists: replace=True replaces it."""

    def __init__(self, owner: str, name: str, what: str = "report"):
        super().__init__(f"{owner} already has a saved {what} named '{name}'; "
                         "replace it, or choose another name")
        self.owner, self.name = owner, name


class SavedNotFound(NotFound):
    """No saved report of that name or id is visible to this user."""


@dataclass(frozen=True)
class SavedReport:
    id: int
    owner: str
    name: str
    params: dict[str, str]   # MOR key=value pairs, without u and hash
    page: str
    shared: bool
    created: int
    updated: int


@dataclass(frozen=True)
class StoredRule:
    id: int
    owner: str
    name: str
    definition: dict
    updated: int


# --- where it is ---------------------------------------------------------------------------

def app_db_url(secrets: Mapping | None = None, environ: Mapping = os.environ) -> str:
    """$MOR_APP_DB_URL, else `[app_db] url` in secrets, else sqlite:///data/app.sqlite."""
    url = (environ.get("MOR_APP_DB_URL") or "").strip()
    if not url and secrets:
        section = secrets.get("app_db")
        if section is not None and not isinstance(section, Mapping):
            raise AppDatabaseError("[app_db] in the secrets is not a table",
                                   hint="write it as an [app_db] section with url = \"…\"")
        value = (section or {}).get("url")
        if value is not None and not isinstance(value, str):
            raise AppDatabaseError("[app_db] url must be text", hint="write url = \"sqlite:///data/app.sqlite\"")
        url = (value or "").strip()
    return url or DEFAULT_URL


def _same_database(a: URL, b: URL) -> bool:
    """Whether two URLs name the same database (files compared as resolved paths)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() in ("sqlite", "duckdb"):
        if not a.database or not b.database or ":memory:" in (a.database, b.database):
            return False
        return Path(a.database).resolve() == Path(b.database).resolve()
    return ((a.host or "").lower(), a.port, a.database) == ((b.host or "").lower(), b.port, b.database)


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise AppDatabaseError("the app database's URL is not a database URL",
                               hint="use e.g. sqlite:///data/app.sqlite or "
                                    "mysql+pymysql://user@host/mor_aggregates") from None


class AppDb:
    """The app's database at `url`, opened (and its tables created) on first use.

    `mor_urls`: the MOR databases in use (configured sources, a command's --db); the app
    database must be none of them."""

    def __init__(self, url: str = DEFAULT_URL, *, mor_urls: Iterable[str] = ()):
        self.url = _parsed(url)
        for other in mor_urls:
            try:
                same = _same_database(self.url, make_url(other))
            except (ArgumentError, ValueError):
                continue
            if same:
                raise AppDatabaseError("the app database's URL names a MOR database",
                                       hint="saved reports and alerts live in a database of their "
                                            "own: set [app_db] url (or $MOR_APP_DB_URL) to another "
                                            "one, e.g. sqlite:///data/app.sqlite")
        self._engine: Engine | None = None

    @property
    def shown(self) -> str:
        return self.url.render_as_string(hide_password=True)

    # --- opening ------------------------------------------------------------------------
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        options: dict = {}
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            folder = Path(self.url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AppDatabaseError(f"the app database's folder {folder} cannot be created: "
                                       f"{exc.strerror or exc}") from None
            options["connect_args"] = {"timeout": 15}
        try:
            engine = create_engine(self.url, **options)
        except (NoSuchModuleError, ImportError, ArgumentError) as exc:
            raise AppDatabaseError(f"the app database {self.shown} cannot be opened: {_first_line(exc)}",
                                   hint="use sqlite:///data/app.sqlite or a URL whose driver "
                                        "is installed") from None
        try:
            with engine.begin() as conn:
                metadata.create_all(conn, checkfirst=True)
                versions = [r.version for r in conn.execute(select(schema_version.c.version))]
                if not versions:
                    conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
                elif max(versions) > SCHEMA_VERSION:
                    raise AppDatabaseError(
                        f"the app database {self.shown} has schema version {max(versions)}, "
                        f"newer than this program's {SCHEMA_VERSION}",
                        hint="update this program, or point [app_db] url at another database")
        except SQLAlchemyError as exc:
            engine.dispose()
            raise self._failure(exc) from None
        return engine

    def _failure(self, exc: BaseException) -> AppDatabaseError:
        cause = getattr(exc, "orig", None) or exc
        return AppDatabaseError(
            f"the app database {self.shown} cannot be used: {_first_line(cause)}",
            hint="saved reports and alerts are unavailable until it is fixed (a damaged SQLite "
                 "file can be moved aside: a new one is created); reports still run")

    def _run(self, work, on_conflict: Exception | None = None):
        """work(conn) in one transaction; any database failure is one AppDatabaseError, a
        unique key broken by another writer meanwhile `on_conflict` when given."""
        engine = self.engine()
        try:
            with engine.begin() as conn:
                return work(conn)
        except IntegrityError as exc:
            if on_conflict is not None:
                raise on_conflict from None
            raise self._failure(exc) from None
        except SQLAlchemyError as exc:
            raise self._failure(exc) from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- saved reports ------------------------------------------------------------------
    def save(self, owner: str, name: str, params: Mapping[str, str], page: str = "",
             shared: bool = False, replace: bool = False) -> SavedReport:
        """Save the report `params` (MOR key=value pairs) as `name` of `owner`; NameTaken when
        he has one of that name already, unless replace."""
        name = _name(name)
        stored = json.dumps({k: str(v) for k, v in params.items() if k not in NOT_STORED})
        now = int(time.time())

        def work(conn):
            existing = conn.execute(select(saved_reports.c.id).where(
                saved_reports.c.owner == owner, saved_reports.c.name == name)).first()
            if existing is not None:
                if not replace:
                    raise NameTaken(owner, name)
                conn.execute(update(saved_reports).where(saved_reports.c.id == existing.id)
                             .values(params=stored, page=page, shared=bool(shared), updated=now))
                return existing.id
            return conn.execute(insert(saved_reports).values(
                owner=owner, name=name, params=stored, page=page, shared=bool(shared),
                created=now, updated=now)).inserted_primary_key[0]
        report_id = self._run(work, on_conflict=NameTaken(owner, name))
        return self._by_id(report_id)

    def list_for(self, user: str | None, is_admin: bool) -> list[SavedReport]:
        """The reports `user` may open: his own and the shared ones; the admin (or user None,
        the operator on the command line) all. Ordered by owner's own first, then name."""
        stmt = select(saved_reports)
        if not is_admin and user is not None:
            stmt = stmt.where(or_(saved_reports.c.owner == user, saved_reports.c.shared.is_(True)))
        rows = self._run(lambda conn: conn.execute(stmt.order_by(saved_reports.c.name,
                                                                 saved_reports.c.owner)).all())
        out = [_saved(r) for r in rows]
        return sorted(out, key=lambda s: (s.owner != user, s.name.lower(), s.owner))

    def get(self, key: str | int, user: str | None, is_admin: bool,
            owner: str | None = None) -> SavedReport:
        """A saved report by id or name that `user` may open. By name, his own comes first,
        then (admin or operator: any, others: shared) one of that name; several are an
        error asking for the owner or the id."""
        visible = self.list_for(user, is_admin)
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()
                                    and not any(s.name == key for s in visible)):
            found = [s for s in visible if s.id == int(key)]
        else:
            found = [s for s in visible if s.name == key]
            if owner is not None:
                found = [s for s in found if s.owner == owner]
            elif any(s.owner == user for s in found):
                found = [s for s in found if s.owner == user]
        if not found:
            raise SavedNotFound(f"No saved report '{key}'" + (f" of {owner}" if owner else ""),
                                hint="list them with `python -m core saved list`")
        if len(found) > 1:
            owners = ", ".join(s.owner for s in found)
            raise SavedNotFound(f"Several saved reports are named '{key}' (by {owners})",
                                hint="name the owner, or give the id that `saved list` shows")
        return found[0]

    def rename(self, report_id: int, new_name: str, user: str, is_admin: bool) -> SavedReport:
        saved = self._own(report_id, user, is_admin)
        new_name = _name(new_name)

        def work(conn):
            taken = conn.execute(select(saved_reports.c.id).where(
                saved_reports.c.owner == saved.owner, saved_reports.c.name == new_name,
                saved_reports.c.id != saved.id)).first()
            if taken is not None:
                raise NameTaken(saved.owner, new_name)
            conn.execute(update(saved_reports).where(saved_reports.c.id == saved.id)
                         .values(name=new_name, updated=int(time.time())))
        self._run(work, on_conflict=NameTaken(saved.owner, new_name))
        return self._by_id(saved.id)

    def set_shared(self, report_id: int, shared: bool, user: str, is_admin: bool) -> SavedReport:
        saved = self._own(report_id, user, is_admin)
        self._run(lambda conn: conn.execute(update(saved_reports).where(saved_reports.c.id == saved.id)
                                            .values(shared=bool(shared), updated=int(time.time()))))
        return self._by_id(saved.id)

    def delete(self, report_id: int, user: str, is_admin: bool) -> None:
        saved = self._own(report_id, user, is_admin)
        self._run(lambda conn: conn.execute(delete(saved_reports).where(saved_reports.c.id == saved.id)))

    def _own(self, report_id: int, user: str, is_admin: bool) -> SavedReport:
        """The report, if `user` owns it or is the admin; a shared report is not his to change."""
        saved = self._by_id(report_id)
        if saved.owner != user and not is_admin:
            if not saved.shared:
                raise SavedNotFound(f"No saved report with id {report_id}")
            raise AccessDenied(f"'{saved.name}' is {saved.owner}'s saved report",
                               hint="only its owner or the admin may rename, share or delete it; "
                                    "save a copy under your own name instead")
        return saved

    def _by_id(self, report_id: int) -> SavedReport:
        row = self._run(lambda conn: conn.execute(
            select(saved_reports).where(saved_reports.c.id == int(report_id))).first())
        if row is None:
            raise SavedNotFound(f"No saved report with id {report_id}")
        return _saved(row)

    # --- alert rules (the app's Alerts page) --------------------------------------------
    def save_rule(self, owner: str, name: str, definition: Mapping, replace: bool = False) -> StoredRule:
        name = _name(name)
        text = json.dumps(dict(definition), sort_keys=True)
        now = int(time.time())

        def work(conn):
            existing = conn.execute(select(alert_rules.c.id).where(
                alert_rules.c.owner == owner, alert_rules.c.name == name)).first()
            if existing is not None:
                if not replace:
                    raise NameTaken(owner, name, "alert rule")
                conn.execute(update(alert_rules).where(alert_rules.c.id == existing.id)
                             .values(definition=text, updated=now))
            else:
                conn.execute(insert(alert_rules).values(owner=owner, name=name, definition=text,
                                                        created=now, updated=now))
        self._run(work, on_conflict=NameTaken(owner, name, "alert rule"))
        return next(r for r in self.rules_of(owner) if r.name == name)

    def rules_of(self, owner: str) -> list[StoredRule]:
        rows = self._run(lambda conn: conn.execute(
            select(alert_rules).where(alert_rules.c.owner == owner).order_by(alert_rules.c.name)).all())
        return [StoredRule(id=r.id, owner=r.owner, name=r.name, definition=json.loads(r.definition),
                           updated=r.updated) for r in rows]

    def delete_rule(self, owner: str, name: str) -> None:
        self._run(lambda conn: conn.execute(delete(alert_rules).where(
            alert_rules.c.owner == owner, alert_rules.c.name == name)))

    # --- alerts mailed: the quiet period --------------------------------------------------
    def recently_sent(self, rule: str, row_keys: Iterable[str], since: int) -> set[str]:
        """Which of these row keys of `rule` were mailed at or after `since` (epoch seconds)."""
        keys = list(row_keys)
        if not keys:
            return set()
        found: set[str] = set()
        for start in range(0, len(keys), 500):   # bound the IN list
            chunk = keys[start:start + 500]
            rows = self._run(lambda conn, chunk=chunk: conn.execute(
                select(alert_sent.c.row_key).where(alert_sent.c.rule == rule,
                                                   alert_sent.c.row_key.in_(chunk),
                                                   alert_sent.c.sent >= since)).all())
            found.update(r.row_key for r in rows)
        return found

    def mark_sent(self, rule: str, row_keys: Iterable[str], at: int | None = None) -> None:
        """Record that these alerts were mailed (after the mail was accepted)."""
        keys = sorted(set(row_keys))
        if not keys:
            return
        sent = int(time.time()) if at is None else int(at)
        for start in range(0, len(keys), 500):   # bound the IN list
            chunk = keys[start:start + 500]

            def work(conn, chunk=chunk):
                conn.execute(delete(alert_sent).where(alert_sent.c.rule == rule,
                                                      alert_sent.c.row_key.in_(chunk)))
                conn.execute(insert(alert_sent), [{"rule": rule, "row_key": k, "sent": sent}
                                                  for k in chunk])
            self._run(work)

    def count(self) -> int:
        return self._run(lambda conn: conn.execute(select(func.count()).select_from(saved_reports)).scalar())


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a saved report needs a name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise ValueError(f"the name is {len(name)} characters long; at most {MAX_NAME} are accepted")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError("the name contains a control character (a line break or tab)")
    return name


def _saved(row) -> SavedReport:
    try:
        params = json.loads(row.params)
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise AppDatabaseError(f"the saved report '{row.name}' of {row.owner} is damaged (its "
                               "parameters are not a JSON object)",
                               hint="delete it and save it again")
    return SavedReport(id=row.id, owner=row.owner, name=row.name,
                       params={str(k): str(v) for k, v in params.items()}, page=row.page or "",
                       shared=bool(row.shared), created=row.created, updated=row.updated)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__
