"""Who has the App Home tab published, and which catalog page an admin looks at there."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from storage.db import Database, from_db_time, to_db_time


class HomeTab(BaseModel):
    """One person's published Home tab and their place in the admin catalog."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    opened_at: datetime
    application: str | None = None
    catalog_kind: str | None = None
    catalog_page: int = 0


class HomeTabs:
    """A row per person who opened the Home tab; cheap to ask whose Home needs republishing."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def opened(self, user_id: str) -> None:
        """Remember that ``user_id`` opened the Home tab (their catalog place is kept)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO home_tabs (user_id, opened_at) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET opened_at = excluded.opened_at",
                (user_id, to_db_time(self._db.clock())),
            )

    async def get(self, user_id: str) -> HomeTab | None:
        """The Home tab of ``user_id``, if they opened it."""
        async with self._db.conn.execute(
            "SELECT * FROM home_tabs WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        opened_at = from_db_time(row["opened_at"])
        assert opened_at is not None
        return HomeTab(
            user_id=row["user_id"],
            opened_at=opened_at,
            application=row["application"],
            catalog_kind=row["catalog_kind"],
            catalog_page=row["catalog_page"],
        )

    async def move(self, user_id: str, *, application: str, kind: str, page: int) -> None:
        """Remember the catalog page an admin turned to."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO home_tabs (user_id, opened_at, application, catalog_kind, "
                "catalog_page) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "application = excluded.application, catalog_kind = excluded.catalog_kind, "
                "catalog_page = excluded.catalog_page",
                (user_id, to_db_time(self._db.clock()), application, kind, page),
            )

    async def published_among(self, user_ids: Collection[str]) -> set[str]:
        """Those of ``user_ids`` who have a Home tab published."""
        wanted = sorted(set(user_ids))
        found: set[str] = set()
        # SQLite caps bound parameters; a few hundred at a time stays well under it.
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            async with self._db.conn.execute(
                f"SELECT user_id FROM home_tabs WHERE user_id IN ({marks})",  # noqa: S608
                chunk,
            ) as cur:
                found.update([str(row[0]) async for row in cur])
        return found
