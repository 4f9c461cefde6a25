"""Alert rules written back as TOML (the format core.alerts reads), for the app's editor and
its export: Python's tomllib reads TOML but does not write it.

Only what a rule holds is written: text, whole numbers and one inline table of parameters.
Strings are TOML basic strings (JSON's escapes are TOML's), so any name round-trips.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

ORDER = ("name", "params", "compare", "when", "min_calls")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _param(value):
    """A parameter as the user wrote it: whole numbers as numbers (group_by_day = 1)."""
    return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value) else value


def rules_toml(definitions: Iterable[Mapping]) -> str:
    """`[[rule]]` tables for these rule definitions (core.alerts.Rule.definition())."""
    blocks = []
    for definition in definitions:
        lines = ["[[rule]]"]
        for name in ORDER:
            if name not in definition:
                continue
            value = definition[name]
            if name == "params":
                value = {k: _param(v) for k, v in value.items()}
            lines.append(f"{name} = {_value(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
