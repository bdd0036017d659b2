"""Approval cohorts: requests reaching one owner within a short window, listed in one message."""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from storage.db import Database, Row, from_db_time, row_dict, to_db_time


class Cohort(BaseModel):
    """One owner's list message for an application; ``ts`` once Slack took it."""

    model_config = ConfigDict(frozen=True)

    id: str
    application: str
    recipient: str
    opened_at: datetime
    channel: str | None = None
    ts: str | None = None


def _cohort(row: Row) -> Cohort:
    data = row_dict(row)
    data["opened_at"] = from_db_time(data["opened_at"])
    return Cohort.model_validate(data)


class Cohorts:
    """Where each cohort's message is and which requests it lists, in arrival order."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def join(
        self, application: str, recipient: str, since: datetime, request_id: str
    ) -> tuple[Cohort, bool]:
        """Add ``request_id`` to ``recipient``'s cohort opened since ``since``, or to a new one.

        Returns the cohort and whether it is new (its message is still to be posted). One
        transaction, so two requests arriving together find the same cohort.
        """
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT * FROM cohorts WHERE recipient = ? AND application = ? AND opened_at >= ? "
                "AND (ts IS NULL OR ts <> '') ORDER BY opened_at DESC LIMIT 1",
                (recipient, application, to_db_time(since)),
            )
            if rows:
                cohort, new = _cohort(next(iter(rows))), False
            else:
                cohort = Cohort(
                    id=f"C-{secrets.token_hex(5)}",
                    application=application,
                    recipient=recipient,
                    opened_at=now,
                )
                new = True
                await conn.execute(
                    "INSERT INTO cohorts (id, application, recipient, opened_at) "
                    "VALUES (?, ?, ?, ?)",
                    (cohort.id, application, recipient, to_db_time(now)),
                )
            await conn.execute(
                "INSERT INTO cohort_requests (cohort_id, request_id, position) "
                "SELECT ?, ?, COALESCE(MAX(position), 0) + 1 FROM cohort_requests "
                "WHERE cohort_id = ? ON CONFLICT (cohort_id, request_id) DO NOTHING",
                (cohort.id, request_id, cohort.id),
            )
        return cohort, new

    async def posted(self, cohort_id: str, channel: str, ts: str) -> None:
        """Slack took the cohort's message: this is where it is updated from now on (an empty
        ``ts``: it waits in the outbox, and takes no more requests)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE cohorts SET channel = ?, ts = ? WHERE id = ?", (channel, ts, cohort_id)
            )

    async def get(self, cohort_id: str) -> Cohort | None:
        """The cohort ``cohort_id``."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM cohorts WHERE id = ?", (cohort_id,)
        )
        first = next(iter(rows), None)
        return _cohort(first) if first is not None else None

    async def members(self, cohort_id: str) -> list[str]:
        """The requests the cohort lists, in the order they arrived."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT request_id FROM cohort_requests WHERE cohort_id = ? ORDER BY position",
            (cohort_id,),
        )
        return [str(r[0]) for r in rows]

    async def of_request(self, request_id: str) -> list[str]:
        """The cohorts listing ``request_id`` (one per owner asked)."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT cohort_id FROM cohort_requests WHERE request_id = ?", (request_id,)
        )
        return [str(r[0]) for r in rows]
