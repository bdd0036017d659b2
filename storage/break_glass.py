"""Break-glass reviews: closing one (confirmed, revoked) and claiming the overdue ones, once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.audit import append_audit
from storage.db import Database, to_db_time
from storage.models import AccessRequest
from storage.transitions import row_to_request


class BreakGlassReviews:
    """Each review ends exactly once: one UPDATE clears its due time, with its audit row."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def close(
        self, request_id: str, *, actor: str, action: str, detail: Mapping[str, Any] | None = None
    ) -> AccessRequest | None:
        """End the review of ``request_id``; None when it was not open (someone else ended it)."""
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE requests SET review_due_at = NULL, updated_at = ?, "
                    "version = version + 1 WHERE id = ? AND review_due_at IS NOT NULL RETURNING *",
                    (to_db_time(now), request_id),
                )
            )
            if not rows:
                return None
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=now,
                request_id=request_id,
                actor=actor,
                action=action,
                detail=detail,
            )
        return row_to_request(rows[0])

    async def claim_overdue(self, *, limit: int = 50) -> list[AccessRequest]:
        """Every review past its time not escalated yet, marked (and audited) in one transaction.

        The review stays open: the admins (or a late owner) may still confirm or revoke.
        """
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "UPDATE requests SET review_escalated = 1, updated_at = ?, "
                    "version = version + 1 WHERE id IN (SELECT id FROM requests "
                    "WHERE review_due_at IS NOT NULL AND review_due_at <= ? "
                    "AND review_escalated = 0 ORDER BY review_due_at LIMIT ?) RETURNING *",
                    (to_db_time(now), to_db_time(now), limit),
                )
            )
            for row in rows:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=now,
                    request_id=row["id"],
                    actor="bot",
                    action="break_glass_review_escalated",
                )
        return [row_to_request(row) for row in rows]
