"""The lifecycle's due-work queries: each one picks what is due and leases it in one UPDATE.

Picking and leasing in a single statement (inside ``BEGIN IMMEDIATE``) is what keeps two
processes sharing the database from ever taking the same row. Every query is served by an
index (see migrations 0001 and 0002) so it stays fast over a large history of requests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.audit import append_audit
from storage.db import Database, to_db_time
from storage.models import AccessRequest, State
from storage.transitions import row_to_request

# Each picker is one constant statement (no values spliced in); parameters are named.
# An undecided request is due when its stored reminder time has come or, before its first
# reminder (nothing stored yet), when it is older than the first delay.
_REMINDER_DUE = """
    SELECT id FROM requests
     WHERE state = 'pending_approval' AND next_attempt_at <= :now
       AND (claimed_until IS NULL OR claimed_until < :now)
    UNION ALL
    SELECT id FROM requests
     WHERE state = 'pending_approval' AND next_attempt_at IS NULL AND reminders_sent = 0
       AND COALESCE(pending_since, created_at) <= :first_due
       AND (claimed_until IS NULL OR claimed_until < :now)
    LIMIT :limit
"""
# A grant no longer than the warning window would be warned the moment it starts: skipped.
_EXPIRING_DUE = """
    SELECT id FROM requests
     WHERE state = 'active' AND kind = 'grant'
       AND expires_at > :now AND expires_at <= :warn_until AND expiry_warned_at IS NULL
       AND duration > :window
       AND (claimed_until IS NULL OR claimed_until < :now)
     ORDER BY expires_at LIMIT :limit
"""
# A grant whose revocation is already open is left to that revocation (and its retries).
_EXPIRED_DUE = """
    SELECT id FROM requests
     WHERE state = 'active' AND kind = 'grant' AND expires_at <= :now
       AND (claimed_until IS NULL OR claimed_until < :now)
       AND NOT EXISTS (
           SELECT 1 FROM requests AS r INDEXED BY ix_requests_grant
            WHERE r.grant_id = requests.id AND r.kind = 'revoke'
              AND r.state IN ('requested', 'deprovisioning', 'blocked'))
     ORDER BY expires_at LIMIT :limit
"""


class DueWork:
    """Finds and leases the requests whose reminder, warning or end has come."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _claim(
        self, picker: str, params: dict[str, Any], *, worker: str, lease: timedelta
    ) -> list[AccessRequest]:
        now: datetime = params["now"]
        values = dict(params, now=to_db_time(now), until=to_db_time(now + lease), worker=worker)
        async with (
            self._db.transaction() as conn,
            conn.execute(
                "UPDATE requests SET claimed_until = :until, claimed_by = :worker "  # noqa: S608
                f"WHERE id IN ({self._db.skip_locked(picker, 'requests')}) RETURNING *",
                values,
            ) as cur,
        ):
            rows = await cur.fetchall()
        return sorted((row_to_request(r) for r in rows), key=lambda r: (r.created_at, r.id))

    async def claim_reminders(
        self,
        *,
        first_after: timedelta,
        worker: str,
        lease: timedelta,
        limit: int = 50,
        now: datetime | None = None,
    ) -> list[AccessRequest]:
        """Lease undecided requests whose next reminder (or escalation) is due."""
        now = now or self._db.clock()
        params = {"now": now, "first_due": to_db_time(now - first_after), "limit": limit}
        return await self._claim(_REMINDER_DUE, params, worker=worker, lease=lease)

    async def claim_expiring(
        self,
        *,
        within: timedelta,
        worker: str,
        lease: timedelta,
        limit: int = 50,
        now: datetime | None = None,
    ) -> list[AccessRequest]:
        """Lease active grants that end within ``within`` and were not warned yet."""
        now = now or self._db.clock()
        params = {
            "now": now,
            "warn_until": to_db_time(now + within),
            "window": within.total_seconds(),
            "limit": limit,
        }
        return await self._claim(_EXPIRING_DUE, params, worker=worker, lease=lease)

    async def claim_expired(
        self, *, worker: str, lease: timedelta, limit: int = 200, now: datetime | None = None
    ) -> list[AccessRequest]:
        """Lease active grants whose end has passed and whose revocation is not open yet."""
        now = now or self._db.clock()
        params = {"now": now, "limit": limit}
        return await self._claim(_EXPIRED_DUE, params, worker=worker, lease=lease)

    async def undecided_since(self, before: datetime, *, limit: int = 200) -> list[AccessRequest]:
        """Requests still waiting for a decision that went to the owners before ``before``."""
        async with self._db.conn.execute(
            "SELECT * FROM requests WHERE state = 'pending_approval' "
            "AND COALESCE(pending_since, created_at) <= ? "
            "ORDER BY COALESCE(pending_since, created_at) LIMIT ?",
            (to_db_time(before), limit),
        ) as cur:
            return [row_to_request(r) for r in await cur.fetchall()]

    async def mark_expiry_warned(
        self, request_id: str, *, worker: str, detail: dict[str, Any] | None = None
    ) -> AccessRequest | None:
        """Record that the "ends soon" notice is going out; None if the lease was lost."""
        now = self._db.clock()
        async with self._db.transaction() as conn:
            async with conn.execute(
                "UPDATE requests SET expiry_warned_at = ?, claimed_until = NULL, "
                "claimed_by = NULL, updated_at = ?, version = version + 1 "
                "WHERE id = ? AND state = 'active' AND claimed_by = ? RETURNING *",
                (to_db_time(now), to_db_time(now), request_id, worker),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=now,
                request_id=request_id,
                actor="bot",
                action="expiry_warning_sent",
                detail=detail,
            )
        return row_to_request(row)

    async def release_claims_of(self, worker: str) -> int:
        """Drop every lease held under ``worker`` (its previous life died holding them)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE requests SET claimed_until = NULL, claimed_by = NULL WHERE claimed_by = ?",
                (worker,),
            )
            users = await conn.execute(
                "UPDATE managed_users SET claimed_until = NULL, claimed_by = NULL "
                "WHERE claimed_by = ?",
                (worker,),
            )
            return cur.rowcount + users.rowcount

    async def grants_of_users(self, sf_user_ids: Collection[str]) -> list[AccessRequest]:
        """Every grant, in any state, that names one of these Salesforce users."""
        found: list[AccessRequest] = []
        ids = list(dict.fromkeys(sf_user_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            async with self._db.conn.execute(
                f"SELECT * FROM requests WHERE sf_user_id IN ({marks}) AND kind = 'grant'",  # noqa: S608
                chunk,
            ) as cur:
                found += [row_to_request(r) for r in await cur.fetchall()]
        return found

    async def grants_in(
        self, states: Sequence[State], *, application: str | None = None
    ) -> list[AccessRequest]:
        """Every grant in ``states`` (of one application), however many there are."""
        marks = ", ".join("?" for _ in states)
        query = f"SELECT * FROM requests WHERE state IN ({marks}) AND kind = 'grant'"  # noqa: S608
        args: list[Any] = [s.value for s in states]
        if application is not None:
            query += " AND application = ?"
            args.append(application)
        async with self._db.conn.execute(query, args) as cur:
            return [row_to_request(r) for r in await cur.fetchall()]
