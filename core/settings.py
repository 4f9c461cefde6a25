"""Settings that change a report but are not aggregate_get parameters.

They are part of every cache key: the same parameters under another time zone, answered
rule or accountant permission give another report.

`settings_from` is how a program turns configuration into Settings: its own options, then
the environment (MOR_TIMEZONE, MOR_ANSWERED_RULE, MOR_ACCOUNTANT_STATS,
MOR_ACCOUNTANT_FINANCIAL), then a configuration mapping (the app's secrets.toml [report]
section), then UNCONFIGURED.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ANSWERED_RULES = ("disposition", "hangupcause")

# Where each setting is read from the environment.
ENVIRONMENT = {"timezone": "MOR_TIMEZONE", "answered_rule": "MOR_ANSWERED_RULE",
               "accountant_stats": "MOR_ACCOUNTANT_STATS",
               "accountant_financial": "MOR_ACCOUNTANT_FINANCIAL"}

# What an operator gets when nothing is configured. MOR shows an accountant statistics and
# money only when his permissions grant them, so both are off until configured
# (docs/decisions.md). A program building Settings() directly states what it wants.
UNCONFIGURED = {"timezone": "UTC", "answered_rule": "disposition",
                "accountant_stats": False, "accountant_financial": False}


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


def check_timezone(value: str, name: str = "timezone") -> str:
    """The IANA zone name as given, or SettingsError naming `name`."""
    try:
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        # OSError: a name that is a folder of the zone database (America) or far too long.
        raise SettingsError(f"{name}: '{value}' is not an IANA time zone name "
                            "(use e.g. UTC, Europe/Vilnius, America/New_York)") from None
    return value


def check_answered_rule(value: str, name: str = "answered rule") -> str:
    if value not in ANSWERED_RULES:
        raise SettingsError(f"{name}: '{value}' is not one of " + ", ".join(ANSWERED_RULES))
    return value


def check_switch(value, name: str) -> bool:
    """A permission switch: 0 or 1 (a TOML boolean too); anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in ("0", "1"):
        return value == "1"
    raise SettingsError(f"{name}: '{value}' is not accepted; use 1 (allowed) or 0 (not allowed)")


@dataclass(frozen=True)
class Settings:
    # IANA zone in which calls.calldate wall-clock values are stored (spec section 7).
    timezone: str = "UTC"
    # disposition = 'ANSWERED' (MOR's SQL report) or hangupcause = 16 (its Elasticsearch era).
    answered_rule: str = "disposition"
    # MOR's accountant permissions (statistics; financial data). Our MOR schema has no table
    # for them, so they come from configuration: see settings_from.
    accountant_stats: bool = True
    accountant_financial: bool = True

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        check_answered_rule(self.answered_rule)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def cache_key(self) -> tuple:
        return tuple(sorted(asdict(self).items()))


_CHECKS = {"timezone": check_timezone, "answered_rule": check_answered_rule,
           "accountant_stats": check_switch, "accountant_financial": check_switch}


def settings_from(config: Mapping | None = None, env: Mapping[str, str] | None = None,
                  **options) -> Settings:
    """Settings from `options` (command-line options, named so in errors; None = not given),
    else `env` (default os.environ; see ENVIRONMENT), else `config` (e.g. the secrets.toml
    [report] section), else UNCONFIGURED.

    A bad value raises SettingsError naming where it came from (the variable, the config key).
    A variable set to an empty value is an error too, never a silent default.
    """
    env = os.environ if env is None else env
    config = config or {}
    names = [f.name for f in fields(Settings)]
    unknown = set(options) - set(names)
    if unknown:
        raise TypeError(f"settings_from() got unknown settings {sorted(unknown)}")
    values = {}
    for name in names:
        check = _CHECKS[name]
        if options.get(name) is not None:
            values[name] = check(options[name], "--" + name.replace("_", "-"))
        elif ENVIRONMENT[name] in env:
            values[name] = check(env[ENVIRONMENT[name]], ENVIRONMENT[name])
        elif config.get(name) is not None:
            values[name] = check(config[name], f"[report] {name}")
        else:
            values[name] = UNCONFIGURED[name]
    return Settings(**values)
