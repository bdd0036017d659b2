"""Slack messages waiting to be sent again after Slack (or the network) failed them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.db import Database, from_db_time, to_db_time


class OutboxItem(BaseModel):
    """One message to post (or update) again; ``purpose`` set means remember where it landed."""

    model_config = ConfigDict(frozen=True)

    id: int
    method: str
    channel: str
    ts: str | None = None
    thread_ts: str | None = None
    text: str
    blocks: list[dict[str, Any]]
    request_id: str | None = None
    purpose: str | None = None
    recipient: str | None = None
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = None
    state: str = "pending"
    created_at: datetime


class Outbox:
    """Stored in SQLite, so a restart loses nothing that was not delivered."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        method: str,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        error: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        request_id: str | None = None,
        purpose: str | None = None,
        recipient: str | None = None,
    ) -> int:
        """Queue a message that could not be delivered now; it is due at once."""
        now = to_db_time(self._db.clock())
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO outbox (method, channel, ts, thread_ts, text, blocks, request_id, "
                "purpose, recipient, attempts, next_attempt_at, last_error, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    method,
                    channel,
                    ts,
                    thread_ts,
                    text,
                    json.dumps(blocks),
                    request_id,
                    purpose,
                    recipient,
                    now,
                    error,
                    now,
                ),
            )
            return int(cursor.lastrowid or 0)

    async def due(self, limit: int = 50) -> list[OutboxItem]:
        """Pending messages whose next attempt has come, oldest first."""
        async with self._db.conn.execute(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (to_db_time(self._db.clock()), limit),
        ) as cur:
            rows = await cur.fetchall()
        items = []
        for row in rows:
            data = dict(row)
            data["blocks"] = json.loads(data["blocks"])
            data["next_attempt_at"] = from_db_time(data["next_attempt_at"])
            data["created_at"] = from_db_time(data["created_at"])
            items.append(OutboxItem.model_validate(data))
        return items

    async def sent(self, item_id: int) -> None:
        """Slack took the message."""
        await self._set(item_id, "sent", None, None)

    async def failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Try again at ``retry_at``; ``None`` gives up (Slack refused it for good)."""
        await self._set(item_id, "pending" if retry_at else "dead", error, retry_at)

    async def pending(self) -> int:
        """How many messages still wait to be delivered."""
        async with self._db.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _set(
        self, item_id: int, state: str, error: str | None, retry_at: datetime | None
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (state, error, to_db_time(retry_at), item_id),
            )
