"""Settings that change a report but are not aggregate_get parameters.

They are part of every cache key: the same parameters under another time zone or
answered rule give another report.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ANSWERED_RULES = ("disposition", "hangupcause")


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    # IANA zone in which calls.calldate wall-clock values are stored (spec section 7).
    timezone: str = "UTC"
    # disposition = 'ANSWERED' (MOR's SQL report) or hangupcause = 16 (its Elasticsearch era).
    answered_rule: str = "disposition"
    # MOR's accountant permissions are not modelled yet; these stand in for them.
    accountant_stats: bool = True
    accountant_financial: bool = True

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise SettingsError(
                f"timezone: '{self.timezone}' is not an IANA time zone name "
                "(use e.g. UTC, Europe/Vilnius, America/New_York)") from None
        if self.answered_rule not in ANSWERED_RULES:
            raise SettingsError(
                f"answered rule: '{self.answered_rule}' is not one of "
                + ", ".join(ANSWERED_RULES))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def cache_key(self) -> tuple:
        return tuple(sorted(asdict(self).items()))
