"""Counts over the requests table for monitoring: by state, due work, open escalations.

Each is one aggregate query served by the state index, cheap enough to run on every scrape.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database, DbActivity, to_db_time
from storage.models import CARRIED_STATES, State

# Requests waiting for an admin: a grant escalated, or a revocation Salesforce blocked.
ESCALATED_STATES = (State.NEEDS_ADMIN, State.BLOCKED)

_MARKS = ", ".join("?" for _ in CARRIED_STATES)
_DUE = (
    f"SELECT COUNT(*) FROM requests WHERE state IN ({_MARKS}) "  # noqa: S608 - placeholders only
    "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
    "AND (claimed_until IS NULL OR claimed_until < ?)"
)
_ESCALATED = (
    "SELECT COUNT(*) FROM requests WHERE state IN ("  # noqa: S608 - placeholders only
    + ", ".join("?" for _ in ESCALATED_STATES)
    + ")"
)


class RequestStats:
    """Read-only counts for the metrics endpoint."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def activity(self) -> DbActivity:
        """This process's statements, write transactions and write-lock times so far."""
        return self._db.activity

    async def by_state(self) -> dict[State, int]:
        """How many requests are in each state (absent: none); a scan of the state index."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT state, COUNT(*) FROM requests GROUP BY state"
        )
        return {State(row[0]): int(row[1]) for row in rows}

    async def due_work(self, now: datetime) -> int:
        """Requests whose Salesforce step is due now and that no live lease holds."""
        when = to_db_time(now)
        args = [*(s.value for s in CARRIED_STATES), when, when]
        rows = list(await self._db.conn.execute_fetchall(_DUE, args))
        return int(rows[0][0]) if rows else 0

    async def escalations_open(self) -> int:
        """Requests waiting for an admin (needs_admin grants, blocked revocations)."""
        rows = list(
            await self._db.conn.execute_fetchall(_ESCALATED, [s.value for s in ESCALATED_STATES])
        )
        return int(rows[0][0]) if rows else 0
