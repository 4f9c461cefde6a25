"""Report sources: what every source offers, so callers ask a source instead of testing its kind.

`DatabaseSource` (core.sources.db) reads a MOR-schema database (MySQL/MariaDB, SQLite, a
DuckDB analytics copy); `MorApiSource` (core.sources.mor_api) asks a MOR server's
aggregate_get. Which ones exist is configuration (core.sources.config), never a visitor's input.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: keeps `import core.sources` light
    from ..access import ActingUser
    from ..params import Params
    from ..report import Report
    from ..settings import Settings


@dataclass(frozen=True)
class Capabilities:
    """What a source can tell besides the report; the UI offers only what is True."""

    lists_names: bool         # choices() gives id/name lists for the sidebar (False: the UI asks for ids)
    lists_acting_users: bool  # acting_users() lists who may run reports
    freshness: bool           # freshness() describes the call data (count, newest call, last sync, complete)


# Above this many originators (or devices, terminators, providers) in the acting user's
# scope, choices() says only how many there are and the sidebar searches instead of listing:
# an operator with 100,000 customers gets pages as quick as the demo's. The one place it is set.
MAX_LISTED = 2000
SEARCH_LIMIT = 50   # matches a search returns at most


@dataclass(frozen=True)
class TooMany:
    """choices()' entry for a catalogue longer than MAX_LISTED: how many there are.
    search() finds them by part of a name, a username or an id."""

    count: int


@runtime_checkable
class Source(Protocol):
    """A place reports come from. Methods raise core.errors.ReportError subclasses, never
    driver or HTTP exceptions."""

    name: str                   # short, safe label: never a password, a secret or a hash
    capabilities: Capabilities

    def sign_in(self, username: str, password: str, settings: Settings) -> ActingUser:
        """The MOR user these credentials belong to, if he may run reports; else
        core.signin.SignInRefused or core.errors.AccessDenied. The password is never kept."""
        ...

    def sign_in_by_email(self, email: str, settings: Settings) -> ActingUser:
        """Single sign-on: the one MOR user with this e-mail address, refused as sign_in
        refuses; SourceUnavailable where the source cannot look e-mails up (MOR's API)."""
        ...

    def run(self, params: Params, settings: Settings) -> Report: ...

    def describe(self) -> str: ...

    def test_connection(self) -> str: ...

    def choices(self, username: str, settings: Settings) -> dict[str, list | TooMany] | None:
        """The sidebar's names within the acting user's scope: (id, label) pairs per
        catalogue, or TooMany for one longer than MAX_LISTED; None when the source cannot list."""
        ...

    def search(self, kind: str, text: str, username: str, settings: Settings,
               limit: int = SEARCH_LIMIT) -> list[tuple[int, str]]:
        """At most `limit` (id, label) pairs of one catalogue ("originators", "devices",
        "terminators", "providers") within the acting user's scope whose label, name,
        username or id matches `text`; [] for empty text or a source that cannot list."""
        ...

    def acting_users(self) -> list[tuple[str, str]] | None: ...

    def freshness(self) -> dict | None: ...


__all__ = ["MAX_LISTED", "SEARCH_LIMIT", "Capabilities", "Source", "TooMany"]
