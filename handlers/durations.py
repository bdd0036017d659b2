"""How long a grant lasts: ISO 8601 durations read, written and said in words.

A grant's duration is a ``timedelta``, or ``None`` for permanent access. Only weeks, days,
hours, minutes and seconds are accepted: months and years have no fixed length.
"""

from __future__ import annotations

import re
from datetime import timedelta

_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def parse_iso_duration(text: str) -> timedelta | None:
    """``PT4H`` → 4 hours; ``None`` when ``text`` is not such a duration."""
    match = _ISO_DURATION.match(text.strip().upper())
    if match is None:
        return None
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
    return timedelta(**parts)


def iso_duration(value: timedelta) -> str:
    """``P30D``, ``PT4H``, ``P1DT12H``: the shortest ISO 8601 text for ``value``."""
    days, rest = divmod(int(value.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not days and not time:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def audit_duration(value: timedelta | None) -> str | None:
    """A duration as an audit row records it: ISO 8601 text, or None for permanent."""
    return None if value is None else iso_duration(value)


def duration_label(value: timedelta | None) -> str:
    """``Permanent``, ``1 hour``, ``4 hours``, ``30 days``, ``1 day 12 hours``."""
    if value is None:
        return "Permanent"
    rest = int(value.total_seconds())
    words: list[str] = []
    for unit, size in _UNITS:
        n, rest = divmod(rest, size)
        if n:
            words.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return " ".join(words) or "0 seconds"
