"""Slack messages waiting to be sent again after Slack (or the network) failed them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.batched import BatchedWrites
from storage.db import Database, from_db_time, row_dict, to_db_time


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


# The stored updates of one message: only the newest of them may reach Slack.
SUPERSEDED = "superseded by a newer update of the message"
# Pending rows due now and free; an update waits while another update of its message is out
# (claimed by a live lease), so an older one landing late cannot overwrite it; a post waits
# while an older post to its channel is not due yet or is out, so none overtakes another.
_CLAIM = """
    UPDATE outbox SET claimed_until = :until, claimed_by = :worker
     WHERE id IN ({picker})
    RETURNING *
"""
_PICK = """
        SELECT id FROM outbox
         WHERE state = 'pending' AND next_attempt_at <= :now
           AND (claimed_until IS NULL OR claimed_until < :now)
           AND NOT (method = 'chat.update' AND EXISTS (
               SELECT 1 FROM outbox AS o
                WHERE o.method = 'chat.update' AND o.channel = outbox.channel AND o.ts = outbox.ts
                  AND o.id <> outbox.id AND o.state = 'pending' AND o.claimed_until >= :now))
           AND NOT (method = 'chat.postMessage' AND EXISTS (
               SELECT 1 FROM outbox AS o
                WHERE o.method = 'chat.postMessage' AND o.channel = outbox.channel
                  AND o.id < outbox.id AND o.state = 'pending'
                  AND (o.next_attempt_at > :now OR o.claimed_until >= :now)))
         ORDER BY id LIMIT :limit
"""
# An unclaimed update with a newer update of the same message stored (sent or not) is dropped.
_SUPERSEDE = """
    UPDATE outbox SET state = 'dead', last_error = :why, claimed_until = NULL, claimed_by = NULL
     WHERE state = 'pending' AND method = 'chat.update'
       AND (claimed_until IS NULL OR claimed_until < :now)
       AND EXISTS (
           SELECT 1 FROM outbox AS o
            WHERE o.method = 'chat.update' AND o.channel = outbox.channel AND o.ts = outbox.ts
              AND o.id > outbox.id AND o.state IN ('pending', 'sent'))
"""


async def want_post(
    conn: Any,
    *,
    at: datetime,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]],
    request_id: str | None = None,
    purpose: str | None = None,
    recipient: str | None = None,
) -> None:
    """Store a message to post (due at once, not tried yet) in the caller's transaction, so
    it is recorded together with what made it due: the outbox posts it, after a restart too."""
    now = to_db_time(at)
    await conn.execute(
        "INSERT INTO outbox (method, channel, text, blocks, request_id, purpose, recipient, "
        "attempts, next_attempt_at, created_at) "
        "VALUES ('chat.postMessage', ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (channel, text, json.dumps(blocks), request_id, purpose, recipient, now, now),
    )


def _item(row: Any) -> OutboxItem:
    data = row_dict(row)
    data["blocks"] = json.loads(data["blocks"])
    data["next_attempt_at"] = from_db_time(data["next_attempt_at"])
    data["created_at"] = from_db_time(data["created_at"])
    return OutboxItem.model_validate(data)


class Outbox:
    """Stored in SQLite, so a restart loses nothing that was not delivered."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Queued, sent, deferred: many tasks' bookkeeping at once, one write transaction.
        self._writes = BatchedWrites(db)

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
        due: datetime | None = None,
    ) -> int:
        """Queue a message that could not be delivered now; it is due at once (or at ``due``)."""
        created = self._db.clock()
        now = to_db_time(created)
        due_at = to_db_time(due or created)
        rows, _ = await self._writes.write(
            "INSERT INTO outbox (method, channel, ts, thread_ts, text, blocks, request_id, "
            "purpose, recipient, attempts, next_attempt_at, last_error, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id",
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
                due_at,
                error,
                now,
            ),
        )
        return int(rows[0][0]) if rows else 0

    async def claim(self, *, worker: str, lease: timedelta, limit: int = 50) -> list[OutboxItem]:
        """Lease the messages whose next attempt has come, oldest first (superseded updates
        are dropped first): another process sharing the database skips them while leased."""
        now = self._db.clock()
        # Most ticks find nothing: a read answers that without taking the write lock.
        async with self._db.conn.execute(
            "SELECT 1 FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1",
            (to_db_time(now),),
        ) as cur:
            if await cur.fetchone() is None:
                return []
        values = {
            "now": to_db_time(now),
            "until": to_db_time(now + lease),
            "worker": worker,
            "limit": limit,
            "why": SUPERSEDED,
        }
        async with self._db.transaction() as conn:
            await conn.execute(_SUPERSEDE, values)
            claim = _CLAIM.format(picker=self._db.skip_locked(_PICK, "outbox"))
            async with conn.execute(claim, values) as cur:
                rows = await cur.fetchall()
        return sorted((_item(r) for r in rows), key=lambda item: item.id)

    async def has_update_waiting(self, channel: str, ts: str) -> bool:
        """Whether an update of this message is still stored unsent (a newer one must queue
        behind it, or the older would overwrite it when it goes out)."""
        async with self._db.conn.execute(
            "SELECT 1 FROM outbox WHERE channel = ? AND ts = ? AND method = 'chat.update' "
            "AND state = 'pending' LIMIT 1",
            (channel, ts),
        ) as cur:
            return await cur.fetchone() is not None

    async def has_post_waiting(self, channels: tuple[str, ...]) -> bool:
        """Whether a message to one of ``channels`` (names of one conversation) is still
        stored unsent: a newer one must queue behind it to reach Slack in order."""
        marks = ", ".join("?" for _ in channels)
        async with self._db.conn.execute(
            f"SELECT 1 FROM outbox WHERE channel IN ({marks}) "  # noqa: S608 - only placeholders
            "AND method = 'chat.postMessage' AND state = 'pending' LIMIT 1",
            channels,
        ) as cur:
            return await cur.fetchone() is not None

    async def restate_post(
        self,
        request_id: str,
        purpose: str,
        recipient: str,
        *,
        text: str,
        blocks: list[dict[str, Any]],
    ) -> bool:
        """Give a post still waiting (kept as ``purpose`` of ``request_id`` for ``recipient``)
        its newest content; False when none waits."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET text = ?, blocks = ? WHERE request_id = ? AND purpose = ? "
                "AND recipient = ? AND method = 'chat.postMessage' AND state = 'pending'",
                (text, json.dumps(blocks), request_id, purpose, recipient),
            )
            return cur.rowcount > 0

    async def defer(self, item_id: int, until: datetime) -> None:
        """Hand a claimed message back, due at ``until``, without counting an attempt."""
        await self._writes.write(
            "UPDATE outbox SET next_attempt_at = ?, claimed_until = NULL, claimed_by = NULL "
            "WHERE id = ?",
            (to_db_time(until), item_id),
        )

    async def release_claims_of(self, worker: str) -> int:
        """Drop the leases ``worker`` held when its previous run died."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL WHERE claimed_by = ?",
                (worker,),
            )
            return cur.rowcount

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
        await self._writes.write(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at), claimed_until = NULL, "
            "claimed_by = NULL WHERE id = ?",
            (state, error, to_db_time(retry_at), item_id),
        )
