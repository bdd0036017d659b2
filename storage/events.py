"""Slack event ids already handled, so a retried delivery runs once."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database, to_db_time


class EventLog:
    """Remembers event ids; ``first_time`` is atomic across processes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for every repeat."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO processed_events (event_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (event_id) DO NOTHING",
                (event_id, to_db_time(self._db.clock())),
            )
            return cur.rowcount == 1

    async def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was marked already (a read: nothing is marked)."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)
        )
        return bool(list(rows))

    async def forget_older_than(self, age: timedelta) -> int:
        """Drop ids older than ``age`` (Slack stops retrying after minutes)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM processed_events WHERE seen_at < ?",
                (to_db_time(self._db.clock() - age),),
            )
            return cur.rowcount
