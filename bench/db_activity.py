"""What the bot asked of its database during a step, read from its ``/metrics`` before and after.

Statements are round trips to the database; write transactions each hold the write lock, so
their number per grant and the time spent waiting for the lock say how much of a grant's
latency is the database's.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench.rig import BotProcess

_PREFIX = "accessbot_db_"
_FIELDS = (
    "statements",
    "write_transactions",
    "write_statements",
    "write_lock_wait_seconds",
    "write_lock_held_seconds",
)


@dataclass(frozen=True)
class DbUse:
    """The database counters of one bot process (or the difference between two readings)."""

    statements: float = 0.0
    write_transactions: float = 0.0
    write_statements: float = 0.0
    write_lock_wait_seconds: float = 0.0
    write_lock_held_seconds: float = 0.0

    def __sub__(self, other: DbUse) -> DbUse:
        return DbUse(*(getattr(self, f) - getattr(other, f) for f in _FIELDS))

    def per(self, grants: int) -> str:
        """Per grant, in words (for the report's notes)."""
        if grants <= 0 or self.write_transactions <= 0:
            return "no database activity measured"
        wait = self.write_lock_wait_seconds / self.write_transactions * 1000
        held = self.write_lock_held_seconds / self.write_transactions * 1000
        return (
            f"{self.write_transactions / grants:.1f} write transactions "
            f"({self.write_statements / grants:.1f} statements) and "
            f"{self.statements / grants:.1f} statements in all per grant; "
            f"a write transaction waited {wait:.1f} ms for the lock and held it {held:.1f} ms "
            "on average"
        )


def parse_metrics(text: str) -> DbUse:
    """The database counters in a Prometheus text page (absent ones read 0)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith(_PREFIX):
            continue
        name, _, value = line.partition(" ")
        field = name.removeprefix(_PREFIX).removesuffix("_total")
        if field in _FIELDS:
            values[field] = float(value)
    return DbUse(**values)


def _read(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
            return str(answer.read().decode("utf-8"))
    except (urllib.error.URLError, OSError):
        return None


async def db_use(bot: BotProcess) -> DbUse | None:
    """The bot's database counters now; None when it serves no metrics (the naive bot)."""
    url = bot.url.removesuffix("/slack/events") + "/metrics"
    text = await asyncio.to_thread(_read, url)
    if text is None or _PREFIX not in text:
        return None
    return parse_metrics(text)
