"""Several changes in one write transaction: a grant's steps take the write lock once.

``RequestRepository.together()`` opens one; the converger records what it did to a user and
moves that user's grants and revocations in it, and an approval starts provisioning and
leases the user in the decision's own transaction. Every change keeps its own compare-and-set
and audit row; the observers hear of the transitions once the whole commits.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.db import Connection, Database
from storage.managed import claim_users, record_user
from storage.models import AccessRequest, ManagedUser, State
from storage.transitions import Moved, row_to_request, transition_in


class Together:
    """The changes of one write transaction (see the module's docstring)."""

    def __init__(self, conn: Connection, db: Database) -> None:
        self._conn = conn
        self._db = db
        self.moved: list[Moved] = []

    def clock(self) -> datetime:
        """The database's clock."""
        return self._db.clock()

    async def transition(
        self,
        request_id: str,
        *,
        expected: State | Collection[State],
        to: State,
        actor: str,
        action: str,
        changes: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        touch: bool = True,
        match: Mapping[str, int] | None = None,
    ) -> AccessRequest | None:
        """As ``RequestRepository.transition``, in this transaction."""
        moved = await transition_in(
            self._conn,
            audit_key=self._db.audit_key,
            now=self._db.clock(),
            request_id=request_id,
            expected=expected,
            to=to,
            actor=actor,
            action=action,
            changes=changes,
            detail=detail,
            touch=touch,
            match=match,
        )
        if moved is None:
            return None
        self.moved.append(moved)
        return moved.request

    async def get(self, request_id: str) -> AccessRequest | None:
        """The request as this transaction sees it."""
        rows = await self._conn.execute_fetchall(
            "SELECT * FROM requests WHERE id = ?", (request_id,)
        )
        return next((row_to_request(row) for row in rows), None)

    async def revoked(self, grant_ids: Sequence[str], states: Collection[State]) -> set[str]:
        """Which of these grants have a revocation in ``states`` (one read)."""
        if not grant_ids or not states:
            return set()
        grants = ", ".join("?" for _ in grant_ids)
        marks = ", ".join("?" for _ in states)
        rows = await self._conn.execute_fetchall(
            f"SELECT grant_id FROM requests WHERE grant_id IN ({grants}) "  # noqa: S608
            f"AND kind = 'revoke' AND state IN ({marks})",
            [*grant_ids, *(s.value for s in states)],
        )
        return {str(row[0]) for row in rows}

    async def claim_users(
        self, usernames: list[str], *, worker: str, lease: timedelta
    ) -> list[ManagedUser]:
        """Lease these users unless another worker holds them."""
        return await claim_users(
            self._conn, usernames, worker=worker, lease=lease, now=self._db.clock()
        )

    async def record_user(
        self,
        user: ManagedUser,
        *,
        worker: str,
        reached_gen: int,
        changes: Mapping[str, Any],
        audit: Mapping[str, Any] | None = None,
        retry_at: datetime | None = None,
        release: bool = True,
    ) -> ManagedUser | None:
        """As ``ManagedUsers.record``, in this transaction."""
        return await record_user(
            self._conn,
            user,
            audit_key=self._db.audit_key,
            now=self._db.clock(),
            worker=worker,
            reached_gen=reached_gen,
            changes=changes,
            audit=audit,
            retry_at=retry_at,
            release=release,
        )
