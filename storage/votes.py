"""Approvals given so far on requests that need more than one: one row per request and approver."""

from __future__ import annotations

from storage.audit import append_audit
from storage.db import Database, from_db_time, to_db_time
from storage.models import ApprovalVote


class ApprovalVotes:
    """Records approvals; the key (request, approver) is what keeps anyone from counting twice."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, request_id: str, *, stage: int, approver: str) -> bool:
        """Record ``approver``'s approval at ``stage`` with its audit row; False if already given.

        Only while the request still waits at ``stage``: a vote racing a stage change or a
        decision is not counted.
        """
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO approval_votes (request_id, stage, approver, at) "
                    "SELECT id, approval_stage, ?, ? FROM requests "
                    "WHERE id = ? AND state = 'pending_approval' AND approval_stage = ? "
                    "ON CONFLICT (request_id, approver) DO NOTHING RETURNING approver",
                    (approver, to_db_time(now), request_id, stage),
                )
            )
            if not rows:
                return False
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=now,
                request_id=request_id,
                actor=approver,
                action="approval_recorded",
                detail={"stage": stage},
            )
        return True

    async def clear(self, request_id: str) -> None:
        """Forget the request's approvals: it goes back to its first stage to be decided anew.

        The audit log keeps who approved before; only the count starts again.
        """
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM approval_votes WHERE request_id = ?", (request_id,))

    async def of(self, request_id: str) -> list[ApprovalVote]:
        """Every approval of the request, oldest first."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT request_id, stage, approver, at FROM approval_votes WHERE request_id = ? "
            "ORDER BY at, approver",
            (request_id,),
        )
        return [
            ApprovalVote(
                request_id=row["request_id"],
                stage=row["stage"],
                approver=row["approver"],
                at=from_db_time(row["at"]) or self._db.clock(),
            )
            for row in rows
        ]
