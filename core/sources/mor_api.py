"""A remote MOR server's /api/aggregate_get as a report source (spec section 8).

POST by default (MOR refuses GET unless 'Allow GET API' is on), finite timeouts, TLS
verified, retries only where a retry cannot hurt (no connection, or a 5xx: the call only
reads), and the answer streamed under a size cap before the XML reader sees it. Messages
name the server, never the secret or the hash; `--debug` logs redact the hash too.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import os
import re
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import requests

from ..access import ActingUser
from ..errors import AccessDenied, NotFound, ReportError, SourceUnavailable
from ..params import ParamError, Params
from ..report import Report
from ..settings import Settings
from . import Capabilities
from .mor_xml import mor_error, parse_document, read_report

log = logging.getLogger(__name__)

ENDPOINT = "/api/aggregate_get"
LOGIN_ENDPOINT = "/api/login"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024

# MOR's error texts (spec section 8): what each usually means and what to check.
MOR_ERRORS: dict[str, tuple[type[ReportError], str]] = {
    "api requests are disabled": (SourceUnavailable,
        "the MOR server's API is switched off; a MOR admin turns on 'Allow API' in "
        "Settings → API"),
    "get requests are disabled": (SourceUnavailable,
        "this MOR server accepts POST only; leave GET off (the default) or have a MOR admin "
        "turn on 'Allow GET API'"),
    "incorrect hash": (SourceUnavailable,
        "the API secret key differs from the one set in MOR (Settings → API → API Secret "
        "Key); check the secret given here, e.g. for a trailing space or an old key"),
    "api must have secret key": (SourceUnavailable,
        "the MOR server has no API secret key set; a MOR admin sets one in Settings → API"),
    "bad login": (SourceUnavailable,
        "MOR knows no user by this username; check u (the login name, not the person's name)"),
    "access denied": (AccessDenied,
        "this MOR user may not run the aggregate report; use an admin, a Reseller PRO or an "
        "accountant with statistics rights"),
    "you are not authorized to use this functionality": (AccessDenied,
        "this MOR user's role (or the MOR licence) does not include the aggregate API; use "
        "an admin or a Reseller PRO"),
    "user was not found": (NotFound,
        "s_originator_id names no user that this MOR user may see"),
    "terminator was not found": (NotFound, "s_terminator_id names no terminator on this server"),
    "device was not found": (NotFound, "s_device names no device that this MOR user may see"),
    "provider was not found": (NotFound, "s_provider names no provider on this server"),
    "currency was not found": (NotFound, "a_currency names no currency of this MOR server"),
}


def mor_hash(secret: str, *hashed_values: str) -> str:
    """MOR's API hash: sha1 of the hashed parameters' values, then the secret, as lowercase
    hex. aggregate_get hashes no parameter, so its hash is sha1(secret); u is never in it."""
    return hashlib.sha1(("".join(hashed_values) + secret).encode("utf-8")).hexdigest()


def mor_failure(text: str, *, hash_sent: bool = True) -> ReportError:
    """MOR's error text as the matching ReportError: MOR's words, then what to check."""
    key = text.strip().rstrip(".").lower()
    cls, hint = MOR_ERRORS.get(key, (None, ""))
    if cls is None:
        cls = NotFound if key.endswith("was not found") else SourceUnavailable
        hint = "the MOR server refused the report with this message"
    if key == "incorrect hash" and not hash_sent:
        hint = ("no API secret key was given (the command line reads $MOR_API_SECRET or "
                "--secret-file), and this MOR server checks the hash")
    return cls(text, hint=hint)


def normalise_base(base: str) -> str:
    """https://host/billing from what a person might paste (a trailing / or the API path)."""
    text = (base or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParamError("api", f"'{text}' is not a MOR address; give its web address, e.g. "
                                "https://mor.example.com/billing")
    path = re.sub(r"(/api(/aggregate_get)?)?/*$", "", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _shown(base: str) -> str:
    """The base without any user:password part, fit for messages."""
    parts = urlsplit(base)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Retry(Exception):
    """A failure worth another attempt; carries the error to raise when attempts run out."""

    def __init__(self, error: ReportError):
        super().__init__(str(error))
        self.error = error


def _chain(exc: BaseException) -> list[BaseException]:
    found, todo = [], [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is f for f in found):
            continue
        found.append(e)
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return found


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in words, from deep inside requests' exception chain."""
    chain = _chain(exc)
    for kind, words in ((ConnectionRefusedError, "connection refused"),
                        (socket.gaierror, "the host name does not resolve"),
                        (TimeoutError, "timed out"),
                        (ConnectionResetError, "connection reset by the server"),
                        (http.client.RemoteDisconnected, "the server closed the connection "
                                                         "without answering")):
        if any(isinstance(e, kind) for e in chain):
            return words
    if any("timed out" in str(e).lower() for e in chain):
        return "timed out"
    return "the connection failed"


class MorApiSource:
    """Runs reports on a MOR server through its aggregate_get API.

    The secret's hash is bound to the base given here: `base` and `url` cannot be changed
    afterwards, and redirects are never followed, so the hash only ever goes to that server.
    """

    capabilities = Capabilities(lists_names=False, lists_acting_users=False, freshness=False)

    def __init__(self, base: str, secret: str | None = None, *, use_get: bool = False,
                 verify: bool | str = True, timeout: float = 60.0,
                 connect_timeout: float = 10.0, retries: int = 2, backoff: float = 0.5,
                 max_bytes: int = DEFAULT_MAX_BYTES, session: requests.Session | None = None,
                 user: str | None = None):
        self._base = normalise_base(base)
        self.name = _shown(self._base)
        self.user = user or None   # the configured API user: test_connection checks it
        self.use_get = bool(use_get)
        if isinstance(verify, str) and not os.path.isfile(verify):
            raise ParamError("ca-bundle", f"{verify} is not a file; give a PEM file of the CA "
                                          "that signed the MOR server's certificate")
        self.verify = verify
        if not timeout or timeout <= 0:
            raise ParamError("timeout", f"'{timeout}' is not accepted; use seconds > 0")
        self.timeout = (min(connect_timeout, timeout), timeout)
        self.retries, self.backoff, self.max_bytes = max(0, retries), backoff, max_bytes
        # Only the hash is kept: the secret itself is not needed after this line.
        self._hash = mor_hash(secret) if secret else None
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()

    @property
    def base(self) -> str:
        """The MOR server (read-only: the secret's hash belongs to it)."""
        return self._base

    @property
    def url(self) -> str:
        return self._base + ENDPOINT

    def describe(self) -> str:
        return f"MOR API {self.name}" + (" (GET)" if self.use_get else "")

    __repr__ = describe

    # What only a database can tell: MOR's API has no lists, no user list, no freshness.
    def choices(self, username: str, settings: Settings) -> None:
        return None

    def search(self, kind: str, text: str, username: str, settings: Settings, limit: int = 50) -> list:
        return []   # MOR's API names no users or devices: the sidebar asks for ids

    def acting_users(self) -> None:
        return None

    def freshness(self) -> None:
        return None

    def close(self) -> None:
        """Close the session this source opened (a session passed in stays open)."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> "MorApiSource":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- the report -------------------------------------------------------------------
    def run(self, params: Params, settings: Settings | None = None) -> Report:
        """The report from the server; MOR applies its own time zone and answered rule,
        so `settings` changes nothing here (it is part of cache keys elsewhere)."""
        hash_value = self._hash or params.hash
        form = params.to_pairs(include_defaults=True, app_options=False)
        if hash_value:
            form["hash"] = hash_value
        root = parse_document(self._fetch(form))
        text = mor_error(root)
        if text is not None:
            raise mor_failure(text, hash_sent=bool(hash_value))
        report = read_report(root, params, source=self.describe())
        parts = urlsplit(self.base)
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            report.notes.append("The API hash travelled over plain http, where anyone on the "
                                "way can read and reuse it; use https.")
        return report

    def test_connection(self, user: str | None = None) -> str:
        """One line on what the server said, or the ReportError it ended in. With a user
        (given, or the configured one), a one-second report checks the credentials too."""
        user = user or self.user
        if user:
            self.run(Params(u=user, from_=0, till=0))
            return f"{self.describe()}: {user} may run aggregate_get"
        text = mor_error(parse_document(self._fetch({})))
        if text is not None and text.strip().lower() != "bad login":
            raise mor_failure(text, hash_sent=False)
        return f"{self.describe()} answers (give a user to check the credentials)"

    # --- signing in ----------------------------------------------------------------------
    def sign_in(self, username: str, password: str, settings: Settings | None = None) -> ActingUser:
        """MOR's api/login checks the credentials; a one-second aggregate_get as that user
        then asks MOR whether he may run the report (login says nothing about the role).

        Always POST, whatever use_get says: a password never travels in a URL, where
        servers and proxies log it. The password is sent once and kept nowhere."""
        from ..signin import WRONG_CREDENTIALS, SignInRefused
        root = parse_document(self._fetch({"u": username, "p": password}, self._base + LOGIN_ENDPOINT,
                                          method="POST"))
        text = mor_error(root)
        if text is not None:
            raise mor_failure(text, hash_sent=False)
        status = " ".join((root.findtext("status") or "").split()).lower()
        if _local_tag(root) != "action" or status not in ("ok", "failed"):
            raise SourceUnavailable(f"the MOR server at {self.name} did not answer the login "
                                    "as MOR does", hint="check the base URL")
        if status == "failed":
            raise SignInRefused(WRONG_CREDENTIALS, hint="check both and try again")
        try:
            probe = Params(u=username, from_=0, till=0)
        except ParamError:     # a username MOR could not hold: refused like any wrong one
            raise SignInRefused(WRONG_CREDENTIALS, hint="check both and try again") from None
        try:
            self.run(probe, settings)
        except AccessDenied as exc:
            raise AccessDenied("Access Denied: this account may not see these reports",
                               hint=exc.hint) from None
        # What MOR tells: he may run the report. Not whether as admin, Reseller PRO or
        # accountant, so no role is claimed (usertype empty) and MOR scopes every report.
        return ActingUser(id=-1, username=username, usertype="", own_providers=False)

    def sign_in_by_email(self, email: str, settings: Settings | None = None) -> ActingUser:
        """MOR's API has no look-up of a user by e-mail: single sign-on cannot name anyone."""
        raise SourceUnavailable("Single sign-on needs a MOR database: MOR's API cannot find a "
                                "user by e-mail address",
                                hint="sign in with your MOR username and password, or have the "
                                     "operator make a database the sign-in source ([app] source)")

    # --- HTTP ---------------------------------------------------------------------------
    def _fetch(self, form: dict[str, str], url: str | None = None, method: str | None = None) -> bytes:
        for attempt in range(self.retries + 1):
            try:
                return self._once(form, url or self.url, method)
            except _Retry as failure:
                if attempt == self.retries:
                    raise failure.error from None
                delay = self.backoff * 2 ** attempt
                log.info("%s; trying again in %.1f s", failure.error, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _once(self, form: dict[str, str], url: str, method: str | None = None) -> bytes:
        host = _shown(self.base)
        method = method or ("GET" if self.use_get else "POST")
        try:
            response = self.session.request(
                method, url, params=form if method == "GET" else None,
                data=None if method == "GET" else form, timeout=self.timeout, verify=self.verify,
                stream=True, allow_redirects=False,
                headers={"Accept": "application/xml, text/xml;q=0.9"})
        except requests.exceptions.SSLError:
            raise SourceUnavailable(f"the TLS certificate of {host} could not be verified",
                                    hint="if your own CA signed it, point at its bundle "
                                         "(--ca-bundle); else check the server's certificate "
                                         "chain and this machine's clock") from None
        except requests.exceptions.ConnectTimeout:
            raise _Retry(SourceUnavailable(
                f"cannot connect to {host}: no answer within {self.timeout[0]:g} s",
                hint="check the address, the port and any firewall between")) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Retry(SourceUnavailable(f"cannot connect to {host}: {_reason(exc)}",
                                           hint="check the base URL and that the MOR server "
                                                "runs and is reachable from here")) from None
        except requests.exceptions.Timeout:
            raise self._slow(host) from None
        except requests.exceptions.RequestException as exc:
            raise SourceUnavailable(f"the request to {host} failed ({exc.__class__.__name__})",
                                    hint="check the base URL") from None
        with response:
            status = response.status_code
            if status >= 500:
                raise _Retry(SourceUnavailable(f"the MOR server at {host} failed (HTTP {status})",
                                               hint="its error log says why; try again later"))
            if 300 <= status < 400:
                target = _shown(response.headers.get("Location", "") or "") or "elsewhere"
                raise SourceUnavailable(f"the MOR server redirects {host} to {target}",
                                        hint="use the address it redirects to as the base "
                                             "URL (often https:// instead of http://)")
            body = self._read(response, host)
        if status >= 400:
            raise self._http_error(status, body, host, hash_sent="hash" in form)
        return body

    def _slow(self, host: str) -> SourceUnavailable:
        return SourceUnavailable(f"the MOR server at {host} did not answer within "
                                 f"{self.timeout[1]:g} s",
                                 hint="a long period or many group_by flags make a slow report; "
                                      "narrow it, or allow more time (--timeout)")

    def _read(self, response: requests.Response, host: str) -> bytes:
        """The body, streamed, refused past max_bytes before it can fill memory."""
        too_big = SourceUnavailable(
            f"the answer of {host} is larger than {self.max_bytes / 2**20:g} MB, so it was "
            "not read", hint="narrow the report: a shorter period, fewer group_by flags or "
                             "an answered_calls threshold")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise too_big
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            if _reason(exc) == "timed out":
                raise self._slow(host) from None
            raise SourceUnavailable(f"the answer of {host} was cut off ({_reason(exc)})",
                                    hint="try again; check the server and any proxy "
                                         "between") from None
        return b"".join(chunks)

    def _http_error(self, status: int, body: bytes, host: str, hash_sent: bool) -> ReportError:
        try:
            text = mor_error(parse_document(body))
        except SourceUnavailable:
            text = None
        if text is not None and _is_mor_text(text):
            return mor_failure(text, hash_sent=hash_sent)
        if status == 404:
            hint = ("there is no aggregate_get at this address; the base URL is MOR's web "
                    "address, e.g. https://host/billing")
        elif status in (401, 403):
            hint = "a web server or firewall in front of MOR refuses the request"
        else:
            hint = "check the base URL"
        said = f" ({text})" if text else ""
        return SourceUnavailable(f"the MOR server at {host} answered HTTP {status}{said}",
                                 hint=hint)


def _local_tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1].lower()


def _is_mor_text(text: str) -> bool:
    key = text.strip().rstrip(".").lower()
    return key in MOR_ERRORS or key.endswith("was not found")


class _RedactHash(logging.Filter):
    """urllib3 logs request lines; with GET they would carry the hash, a reusable credential
    (and a password, were one ever sent by GET: login never is)."""

    _HASH = re.compile(r"([?&](?:hash|p)=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "hash=" in message or "p=" in message:
            record.msg, record.args = self._HASH.sub(r"\1<hidden>", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactHash())
