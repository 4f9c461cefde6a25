"""Who is using the app: MOR's own credentials checked, and failed attempts throttled.

MOR keeps `users.password` as the unsalted SHA1 hex digest of the plaintext. We compare
digests in constant time, refuse an unknown user and a wrong password in the same words
(so the form cannot be used to find usernames), refuse a blocked user, and refuse whoever
may not run the report (MOR's "Access Denied", spec section 6) before any data is shown.
Neither the password nor its digest is ever logged, shown or cached.

Single sign-on (`sign_in_by_email`): an OpenID Connect provider the operator configured has
vouched for an e-mail address; exactly one MOR user with that `users.email` (any case) is then
signed in, and refused as blocked or unauthorised exactly as with his password. The e-mail
is never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from . import dialects
from .access import ActingUser, authorise
from .errors import AccessDenied, ReportError, SourceUnavailable
from .schema import users
from .settings import Settings

WRONG_CREDENTIALS = "Wrong username or password"
# What an unknown username is compared against, so that it costs what a known one costs.
_NO_DIGEST = hashlib.sha1(b"no such MOR user").hexdigest()
SIGN_IN_COLUMNS = ("password", "blocked")
EMAIL_SIGN_IN_COLUMNS = ("email", "blocked")
NO_SUCH_EMAIL = "No MOR user has the e-mail address your sign-in provider gave"
SEVERAL_EMAILS = "Several MOR users have the e-mail address your sign-in provider gave"


class SignInRefused(ReportError):
    """The credentials are wrong, the user is blocked, or sign-in is throttled."""


class SignInThrottled(SignInRefused):
    """Too many failures lately: refused whatever the password."""


def mor_password_digest(password: str) -> str:
    """The digest MOR stores in users.password: SHA1 hex of the UTF-8 plaintext, unsalted."""
    return hashlib.sha1(password.encode("utf-8")).hexdigest()


def password_matches(password: str, stored: str | None) -> bool:
    """Constant-time comparison of a typed password with MOR's stored digest."""
    given = mor_password_digest(password).encode("ascii")
    expected = (stored or _NO_DIGEST).strip().lower().encode("ascii", "replace")
    return hmac.compare_digest(given, expected) and bool(stored)


def check_sign_in_columns(conn: Connection, columns: tuple[str, ...] = SIGN_IN_COLUMNS) -> None:
    """A MOR database without the columns sign-in reads gets a message naming them."""
    have = dialects.column_names(conn, users.name)
    missing = [c for c in columns if c not in have]
    if missing:
        raise SourceUnavailable(
            f"the users table has no {', '.join(missing)} column(s), which sign-in reads",
            hint="point the app at MOR's own database (its users table carries password "
                 "and blocked), or rebuild the demo with `python -m core demo --replace`")


def check_credentials(conn: Connection, username: str, password: str):
    """The users row these credentials belong to, if it is not blocked; else a refusal.
    MOR's own login asks no more than this; what the user may see is decided after."""
    check_sign_in_columns(conn)
    row = conn.execute(select(users.c.id, users.c.username, users.c.usertype,
                              users.c.own_providers, users.c.password, users.c.blocked)
                       .where(users.c.username == username)).first()
    stored = row.password if row is not None else None
    if not password_matches(password, stored) or row is None:
        raise SignInRefused(WRONG_CREDENTIALS, hint="check both and try again")
    _refuse_blocked(row)
    return row


def _refuse_blocked(row) -> None:
    if row.blocked:
        raise SignInRefused("This MOR account is blocked",
                            hint="ask your MOR administrator to unblock it")


def _admit(row, settings: Settings) -> ActingUser:
    """The user a checked row is, if he may run reports: one refusal for both ways in."""
    try:
        return authorise(row, settings)
    except AccessDenied as exc:
        raise AccessDenied("Access Denied: this account may not see these reports",
                           hint=exc.hint) from None


def sign_in(conn: Connection, username: str, password: str, settings: Settings) -> ActingUser:
    """The MOR user these credentials belong to, if he may run reports; else a refusal."""
    return _admit(check_credentials(conn, username, password), settings)


def email_from_claims(claims: Mapping) -> str:
    """The e-mail address an identity provider vouches for: its `email` claim, unless it
    says the address is not verified (`email_verified` false; some send "false"). Anyone
    may type any address into an account at many providers: unverified, it proves nothing."""
    verified = claims.get("email_verified", True)
    if verified is not True and str(verified).strip().lower() != "true":
        raise SignInRefused("Your sign-in provider has not verified your e-mail address",
                            hint="verify it with the provider and sign in again, or sign in "
                                 "with your MOR username and password")
    email = claims.get("email")
    return email.strip() if isinstance(email, str) else ""


def sign_in_by_email(conn: Connection, email: str, settings: Settings) -> ActingUser:
    """The one MOR user whose users.email is `email` (any case, spaces around ignored), if
    he is not blocked and may run reports. An identity provider vouched for the address;
    two users sharing it would make it name no one, so it is refused, as is an empty one."""
    check_sign_in_columns(conn, EMAIL_SIGN_IN_COLUMNS)
    address = (email or "").strip().lower()
    if not address:
        raise SignInRefused("Your sign-in provider gave no e-mail address",
                            hint="sign in with your MOR username and password")
    rows = conn.execute(select(users.c.id, users.c.username, users.c.usertype,
                               users.c.own_providers, users.c.blocked)
                        .where(func.lower(func.trim(users.c.email)) == address)
                        .order_by(users.c.id).limit(2)).all()
    if not rows:
        raise SignInRefused(NO_SUCH_EMAIL,
                            hint="ask your MOR administrator to set it as your e-mail in MOR, "
                                 "or sign in with your MOR username and password")
    if len(rows) > 1:
        raise SignInRefused(SEVERAL_EMAILS,
                            hint="single sign-on needs it on exactly one MOR user: ask your MOR "
                                 "administrator, or sign in with your MOR username and password")
    _refuse_blocked(rows[0])
    return _admit(rows[0], settings)


@dataclass
class Throttle:
    """At most `limit` failed sign-ins per key (a username, a browser session) within
    `window` seconds; after that every attempt on that key is refused, even with the right
    password, until the oldest failure leaves the window. A success clears the key."""

    limit: int = 5
    window: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str) -> deque:
        now = self.clock()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def check(self, *keys: str) -> None:
        """Refuse when any key has used up its attempts; say for how long."""
        with self._lock:
            waits = []
            for key in keys:
                failures = self._recent(key)
                if len(failures) >= self.limit:
                    waits.append(self.window - (self.clock() - failures[0]))
        if waits:
            minutes = max(1, int(max(waits) + 59) // 60)
            raise SignInThrottled(
                "Too many failed sign-ins",
                hint=f"sign-in is paused for this account or browser; try again in "
                     f"{minutes} minute{'s' if minutes != 1 else ''}")

    def failed(self, *keys: str) -> None:
        with self._lock:
            now = self.clock()
            for key in keys:
                self._recent(key).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def throttle_keys(username: str, session_id: str) -> tuple[str, str]:
    """One count per username (case-folded, as MySQL compares them) and one per session."""
    return f"user:{username.strip().casefold()}", f"session:{session_id}"
