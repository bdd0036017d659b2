"""Small singleton records: the cached catalog and named job leases."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database, from_db_time, to_db_time


class CatalogCache:
    """The last catalog read from Salesforce, stored as JSON text."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> tuple[str, datetime] | None:
        """The stored JSON and when it was read, if any."""
        async with self._db.conn.execute(
            "SELECT body, refreshed_at FROM catalog_cache WHERE id = 1"
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        refreshed = from_db_time(row["refreshed_at"])
        assert refreshed is not None
        return str(row["body"]), refreshed

    async def store(self, body: str, refreshed_at: datetime) -> None:
        """Replace the stored catalog."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO catalog_cache (id, body, refreshed_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                "refreshed_at = excluded.refreshed_at",
                (body, to_db_time(refreshed_at)),
            )


class JobLeases:
    """Named leases so that a singleton job runs in one process at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, name: str, holder: str, lease: timedelta, every: timedelta) -> bool:
        """Take the lease if it is free and the job has not run within ``every``."""
        now = self._db.clock()
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT holder, leased_until, last_run_at FROM job_leases WHERE name = ?", (name,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                leased_until = from_db_time(row["leased_until"])
                last_run = from_db_time(row["last_run_at"])
                if leased_until and leased_until > now and row["holder"] != holder:
                    return False
                if last_run and now - last_run < every:
                    return False
            await conn.execute(
                "INSERT INTO job_leases (name, holder, leased_until, last_run_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "leased_until = excluded.leased_until, last_run_at = excluded.last_run_at",
                (name, holder, to_db_time(now + lease), to_db_time(now)),
            )
            return True

    async def make_due(self, name: str) -> None:
        """Let the job run at its next tick (on demand), whenever it last ran."""
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE job_leases SET last_run_at = NULL WHERE name = ?", (name,))
