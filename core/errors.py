"""Errors a report can end in, in MOR's own words where MOR has them.

`ParamError` (core.params) is invalid input: exit code 2. Everything here is a source
failure: exit code 3. Each carries a message fit to show a user as it is.
"""
from __future__ import annotations


class ReportError(Exception):
    """A report could not be produced; str(err) is the user-facing message."""

    hint: str = ""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        if hint:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)

    def full(self) -> str:
        return f"{self} — {self.hint}" if self.hint else str(self)


class AccessDenied(ReportError):
    """The acting user may not use the report (spec section 6)."""

    hint = ("only an admin, a Reseller PRO or an accountant with the statistics "
            "permission may run this report")

    def __init__(self, message: str = "Access Denied", hint: str = ""):
        super().__init__(message, hint)


class NotFound(ReportError):
    """An id filter, the currency or the acting user names no row (MOR's 'X was not found')."""


class SourceUnavailable(ReportError):
    """The database or the MOR server could not be reached or answered wrongly."""
