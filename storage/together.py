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

    async def grant_states(
        self, grant_ids: Sequence[str], revoking: Collection[State]
    ) -> dict[str, tuple[State, bool]]:
        """Each of these grants' state now, and whether a revocation of it is in ``revoking``
        (one read; the write lock held, so neither changes before this transaction ends)."""
        if not grant_ids or not revoking:
            return {}
        grants = ", ".join("?" for _ in grant_ids)
        marks = ", ".join("?" for _ in revoking)
        rows = await self._conn.execute_fetchall(
            "SELECT g.id, g.state, EXISTS (SELECT 1 FROM requests r "  # noqa: S608
            f"WHERE r.grant_id = g.id AND r.kind = 'revoke' AND r.state IN ({marks})) "
            f"FROM requests g WHERE g.id IN ({grants})",
            [*(s.value for s in revoking), *grant_ids],
        )
        return {str(row[0]): (State(row[1]), bool(row[2])) for row in rows}

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
