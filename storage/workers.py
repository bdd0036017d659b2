"""Heartbeats of running processes: one live process per worker id on a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from storage.db import Database, Row, from_db_time, row_dict, to_db_time


class ProcessStamp(BaseModel):
    """Which process on which machine (and since which boot, as pids start over)."""

    model_config = ConfigDict(frozen=True)

    host: str
    pid: int
    boot_id: str


class Heartbeat(ProcessStamp):
    """A process running as ``worker_id``, alive while ``leased_until`` is ahead."""

    worker_id: str
    started_at: datetime
    leased_until: datetime


def _heartbeat(row: Row) -> Heartbeat:
    data = row_dict(row)
    data["started_at"] = from_db_time(data["started_at"])
    data["leased_until"] = from_db_time(data["leased_until"])
    return Heartbeat.model_validate(data)


class Heartbeats:
    """Taken at start, renewed by the scheduler, released at a clean shutdown."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(
        self,
        worker_id: str,
        me: ProcessStamp,
        lease: timedelta,
        *,
        gone: Callable[[Heartbeat], bool],
    ) -> Heartbeat | None:
        """Run as ``worker_id``; returns the live process that holds it instead, if any.

        A heartbeat whose lease ran out, or that ``gone`` says died (a killed process on this
        host), is taken over.
        """
        now = self._db.clock()
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT * FROM workers WHERE worker_id = ?", (worker_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                holder = _heartbeat(row)
                if holder.leased_until > now and not gone(holder):
                    return holder
            await conn.execute(
                "INSERT INTO workers (worker_id, host, pid, boot_id, started_at, leased_until) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET "
                "host = excluded.host, pid = excluded.pid, boot_id = excluded.boot_id, "
                "started_at = excluded.started_at, leased_until = excluded.leased_until",
                (worker_id, me.host, me.pid, me.boot_id, to_db_time(now), to_db_time(now + lease)),
            )
        return None

    async def renew(self, worker_id: str, me: ProcessStamp, lease: timedelta) -> bool:
        """Push the lease on; False when another process took the worker id over."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE workers SET leased_until = ? "
                "WHERE worker_id = ? AND host = ? AND pid = ? AND boot_id = ?",
                (to_db_time(self._db.clock() + lease), worker_id, me.host, me.pid, me.boot_id),
            )
            return cur.rowcount == 1

    async def release(self, worker_id: str, me: ProcessStamp) -> None:
        """Give the worker id up (a clean shutdown): the next process may start at once."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM workers WHERE worker_id = ? AND host = ? AND pid = ? AND boot_id = ?",
                (worker_id, me.host, me.pid, me.boot_id),
            )
