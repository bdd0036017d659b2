"""The append-only audit log: every row carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import aiosqlite
from pydantic import BaseModel, ConfigDict

from storage.db import Database, from_db_time, to_db_time
from storage.models import AuditEntry

GENESIS = "0" * 64


def _canonical(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    *,
    at: str,
    request_id: str | None,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    detail: str,
) -> str:
    """The SHA-256 that chains one row to the previous one."""
    body = _canonical(
        {
            "prev": prev_hash,
            "at": at,
            "request_id": request_id,
            "actor": actor,
            "action": action,
            "from": from_state,
            "to": to_state,
            "detail": detail,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


async def append_audit(
    conn: aiosqlite.Connection,
    *,
    at: datetime,
    request_id: str | None,
    actor: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> str:
    """Append one row inside the caller's transaction; returns its hash."""
    # One round trip: the caller holds the write lock until its transaction commits.
    last = await conn.execute_fetchall("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    prev = next((str(row[0]) for row in last), GENESIS)
    at_text = to_db_time(at) or ""
    detail_text = _canonical(dict(detail or {}))
    digest = entry_hash(
        prev,
        at=at_text,
        request_id=request_id,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail_text,
    )
    await conn.execute(
        "INSERT INTO audit_log (at, request_id, actor, action, from_state, to_state, detail,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (at_text, request_id, actor, action, from_state, to_state, detail_text, prev, digest),
    )
    return digest


def _entry(row: aiosqlite.Row) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=from_db_time(row["at"]),
        request_id=row["request_id"],
        actor=row["actor"],
        action=row["action"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


class ChainCheck(BaseModel):
    """What ``AuditLog.verify`` found."""

    model_config = ConfigDict(frozen=True)

    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""


class AuditLog:
    """Reads, verifies and exports the audit log (rows are written by ``append_audit``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        *,
        request_id: str | None,
        actor: str,
        action: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event that changes no request state (a click that was refused, a retry)."""
        async with self._db.transaction() as conn:
            await append_audit(
                conn,
                at=self._db.clock(),
                request_id=request_id,
                actor=actor,
                action=action,
                detail=detail,
            )

    async def for_request(self, request_id: str) -> list[AuditEntry]:
        """Every row about one request, oldest first."""
        async with self._db.conn.execute(
            "SELECT * FROM audit_log WHERE request_id = ? ORDER BY seq", (request_id,)
        ) as cur:
            return [_entry(row) async for row in cur]

    async def entries(self, since: datetime | None = None) -> AsyncIterator[AuditEntry]:
        """All rows (at or after ``since``), oldest first, streamed."""
        query, args = "SELECT * FROM audit_log ORDER BY seq", ()
        if since is not None:
            query = "SELECT * FROM audit_log WHERE at >= ? ORDER BY seq"
            args = (to_db_time(since),)  # type: ignore[assignment]
        async with self._db.conn.execute(query, args) as cur:
            async for row in cur:
                yield _entry(row)

    async def verify(self) -> ChainCheck:
        """Recompute the chain; the first row whose hash does not follow is reported."""
        prev = GENESIS
        count = 0
        async with self._db.conn.execute("SELECT * FROM audit_log ORDER BY seq") as cur:
            async for row in cur:
                count += 1
                if row["prev_hash"] != prev:
                    return ChainCheck(
                        rows=count, ok=False, first_bad_seq=row["seq"], problem="chain broken"
                    )
                expected = entry_hash(
                    prev,
                    at=row["at"],
                    request_id=row["request_id"],
                    actor=row["actor"],
                    action=row["action"],
                    from_state=row["from_state"],
                    to_state=row["to_state"],
                    detail=row["detail"],
                )
                if expected != row["hash"]:
                    return ChainCheck(
                        rows=count, ok=False, first_bad_seq=row["seq"], problem="row altered"
                    )
                prev = row["hash"]
        return ChainCheck(rows=count, ok=True)
