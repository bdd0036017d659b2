"""The request repository: atomic compare-and-set transitions, each with its audit row."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from storage.audit import AuditLog, append_audit
from storage.db import Clock, Connection, Database, row_dict, to_db_time
from storage.managed import ManagedUsers, mark_user
from storage.models import AccessRequest, Kind, MessageRef, NewRequest, RequestChange, State
from storage.together import Together
from storage.transitions import Moved, row_to_request, to_db, transition_in
from storage.votes import ApprovalVotes

log = logging.getLogger(__name__)

# Alphabet without look-alikes, so an id read aloud or typed back is unambiguous.
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_request_id() -> str:
    """A short, unguessable request id such as ``R-7KQ2M9XD``."""
    return "R-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class RequestRepository:
    """Stores requests; every state change is ``UPDATE ... WHERE id = ? AND state IN (...)``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.audit = AuditLog(db)
        self.managed = ManagedUsers(db)
        self.votes = ApprovalVotes(db)
        self._observers: list[Callable[[AccessRequest], None]] = []
        self._change_observers: list[Callable[[RequestChange], None]] = []

    def observe(self, callback: Callable[[AccessRequest], None]) -> None:
        """Call ``callback`` with each request created or moved, once its transaction commits."""
        self._observers.append(callback)

    def observe_changes(self, callback: Callable[[RequestChange], None]) -> None:
        """Like ``observe``, with the actor, the action and the state before."""
        self._change_observers.append(callback)

    def _changed(
        self, request: AccessRequest, *, actor: str, action: str, before: str | None
    ) -> None:
        calls = [partial(c, request) for c in self._observers]
        if self._change_observers:
            change = RequestChange(
                request=request,
                actor=actor,
                action=action,
                from_state=State(before) if before else None,
            )
            calls += [partial(c, change) for c in self._change_observers]
        for call in calls:
            try:
                call()
            except Exception:  # an observer must never undo or fail a committed change
                log.exception("request observer failed for %s", request.id)

    @property
    def clock(self) -> Clock:
        """The clock every stored time comes from."""
        return self._db.clock

    async def create(
        self,
        new: NewRequest,
        *,
        actor: str,
        action: str = "submitted",
        idempotency_key: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> tuple[AccessRequest, bool]:
        """Store a request; with a key seen before, return the first one and ``False``."""
        async with self._db.transaction() as conn:
            stored, created = await self._insert(
                conn, new, actor, action, idempotency_key, detail, self._db.clock()
            )
        if created:
            self._changed(stored, actor=actor, action=action, before=None)
        return stored, created

    async def open_revocation(
        self,
        new: NewRequest,
        *,
        actor: str,
        idempotency_key: str,
        detail: Mapping[str, Any] | None = None,
        cancel_followers: Collection[State] = (),
        note: str = "",
    ) -> tuple[AccessRequest, list[AccessRequest]]:
        """Store a revocation and, in the same transaction, cancel the grants that follow the
        one it ends (its extensions) while still in ``cancel_followers``, each audited.

        Returns the revocation (the first one for a key seen before) and the grants cancelled.
        """
        now = self._db.clock()
        cancelled: list[AccessRequest] = []
        async with self._db.transaction() as conn:
            stored, created = await self._insert(
                conn, new, actor, "revocation_requested", idempotency_key, detail, now
            )
            if created and new.grant_id and cancel_followers:
                cancelled = await self._cancel_followers(
                    conn, new.grant_id, cancel_followers, actor, now, note, stored.id, detail
                )
        if created:
            self._changed(stored, actor=actor, action="revocation_requested", before=None)
        for follower in cancelled:
            # its state before is in its audit row; the line only needs that it moved
            self._changed(follower, actor=actor, action="extension_cancelled", before=None)
        return stored, cancelled

    async def _insert(
        self,
        conn: Connection,
        new: NewRequest,
        actor: str,
        action: str,
        idempotency_key: str | None,
        detail: Mapping[str, Any] | None,
        now: datetime,
    ) -> tuple[AccessRequest, bool]:
        if idempotency_key is not None:
            # One round trip to the database thread per statement: fetch with execute.
            existing = await conn.execute_fetchall(
                "SELECT * FROM requests WHERE idempotency_key = ?", (idempotency_key,)
            )
            for row in existing:
                return row_to_request(row), False
        values = new.model_dump()
        values.update(id=new_request_id(), created_at=now, updated_at=now)
        values["idempotency_key"] = idempotency_key
        columns = list(values)
        inserted = await conn.execute_fetchall(
            f"INSERT INTO requests ({', '.join(columns)}) "  # noqa: S608 - column names are ours
            f"VALUES ({', '.join('?' for _ in columns)}) RETURNING *",
            [to_db(c, values[c]) for c in columns],
        )
        await append_audit(
            conn,
            key=self._db.audit_key,
            at=now,
            request_id=values["id"],
            actor=actor,
            action=action,
            to_state=new.state.value,
            detail=detail,
        )
        row = next(iter(inserted))
        if new.kind is Kind.REVOKE and new.sf_username:
            await mark_user(conn, new.sf_username, subject_id=new.subject_id, now=now, create=False)
        return row_to_request(row), True

    async def _cancel_followers(
        self,
        conn: Connection,
        grant_id: str,
        states: Collection[State],
        actor: str,
        now: datetime,
        note: str,
        revocation_id: str,
        detail: Mapping[str, Any] | None,
    ) -> list[AccessRequest]:
        marks = ", ".join("?" for _ in states)
        rows = await conn.execute_fetchall(
            f"SELECT id, state FROM requests WHERE kind = ? AND grant_id = ? "  # noqa: S608
            f"AND state IN ({marks})",
            [Kind.GRANT.value, grant_id, *(s.value for s in states)],
        )
        cancelled: list[AccessRequest] = []
        for follower_id, before in [(r["id"], r["state"]) for r in rows]:
            updated = await conn.execute_fetchall(
                "UPDATE requests SET state = ?, decision_note = ?, updated_at = ?, "
                "version = version + 1, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ? AND state = ? RETURNING *",
                (State.CANCELLED.value, note, to_db_time(now), follower_id, before),
            )
            for row in updated:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=now,
                    request_id=follower_id,
                    actor=actor,
                    action="extension_cancelled",
                    from_state=before,
                    to_state=State.CANCELLED.value,
                    detail={**(detail or {}), "grant": grant_id, "revocation": revocation_id},
                )
                cancelled.append(row_to_request(row))
        return cancelled

    @asynccontextmanager
    async def together(self) -> AsyncIterator[Together]:
        """One write transaction for several changes; observers hear of its transitions
        once it commits (none when it rolls back)."""
        async with self._db.transaction() as conn:
            unit = Together(conn, self._db)
            yield unit
        for moved in unit.moved:
            self._announce(moved)

    async def get(self, request_id: str) -> AccessRequest | None:
        """The request with this id."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM requests WHERE id = ?", (request_id,)
        )
        return next((row_to_request(row) for row in rows), None)

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
        """Move the request to ``to`` if it is still in ``expected``; ``None`` if it lost the race.

        ``match``: fields that must still hold these values too (the approval stage a vote
        completed), so two processes finishing one stage move it on once.

        The update and its audit row commit together or not at all. When the state changes
        and the request names a Salesforce user, that user is marked for convergence in the
        same transaction (``touch=False``: the converger recording its own work).
        """
        async with self._db.transaction() as conn:
            moved = await transition_in(
                conn,
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
        self._announce(moved)
        return moved.request

    def _announce(self, moved: Moved) -> None:
        self._changed(moved.request, actor=moved.actor, action=moved.action, before=moved.before)

    async def claim_due(
        self,
        states: Collection[State],
        *,
        worker: str,
        lease: timedelta,
        limit: int = 50,
        now: datetime | None = None,
        kind: Kind | None = None,
    ) -> list[AccessRequest]:
        """Lease up to ``limit`` requests in ``states`` whose retry time has come.

        One UPDATE picks and leases the rows, so two processes never get the same request.
        """
        now = now or self._db.clock()
        now_text = to_db_time(now)
        marks = ", ".join("?" for _ in states)
        kind_clause = "AND kind = ?" if kind else ""
        args: list[Any] = [to_db_time(now + lease), worker, *(s.value for s in states)]
        if kind:
            args.append(kind.value)
        args += [now_text, now_text, limit]
        picker = (
            f"SELECT id FROM requests WHERE state IN ({marks}) {kind_clause} "  # noqa: S608
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "AND (claimed_until IS NULL OR claimed_until < ?) "
            "ORDER BY next_attempt_at, created_at LIMIT ?"
        )
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE requests SET claimed_until = ?, claimed_by = ? WHERE id IN ("  # noqa: S608
                + self._db.skip_locked(picker, "requests")
                + ") RETURNING *",
                args,
            )
        return [row_to_request(r) for r in rows]

    async def claim(
        self,
        request_ids: Collection[str],
        *,
        states: Collection[State],
        worker: str,
        lease: timedelta,
    ) -> list[AccessRequest]:
        """Lease these requests if they are in ``states`` and no one else holds them."""
        ids = list(dict.fromkeys(request_ids))
        if not ids or not states:
            return []
        now = self._db.clock()
        id_marks = ", ".join("?" for _ in ids)
        state_marks = ", ".join("?" for _ in states)
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE requests SET claimed_until = ?, claimed_by = ? "  # noqa: S608
                f"WHERE id IN ({id_marks}) AND state IN ({state_marks}) "
                "AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?) RETURNING *",
                [
                    to_db_time(now + lease),
                    worker,
                    *ids,
                    *(s.value for s in states),
                    to_db_time(now),
                    worker,
                ],
            )
        return sorted((row_to_request(r) for r in rows), key=lambda r: (r.created_at, r.id))

    async def release(self, request_id: str, worker: str) -> None:
        """Give a lease back early."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE requests SET claimed_until = NULL, claimed_by = NULL "
                "WHERE id = ? AND claimed_by = ?",
                (request_id, worker),
            )

    async def find(
        self,
        *,
        states: Collection[State] | None = None,
        kind: Kind | None = None,
        subject_id: str | None = None,
        requester_id: str | None = None,
        application: str | None = None,
        grant_id: str | None = None,
        sf_username: str | None = None,
        expires_before: datetime | None = None,
        limit: int = 500,
    ) -> list[AccessRequest]:
        """Requests matching every given filter, newest first."""
        clauses: list[str] = []
        args: list[Any] = []
        if states is not None:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            args += [s.value for s in states]
        for column, value in (
            ("kind", kind.value if kind else None),
            ("subject_id", subject_id),
            ("requester_id", requester_id),
            ("application", application),
            ("grant_id", grant_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if sf_username is not None:
            clauses.append("sf_username = ? COLLATE NOCASE")
            args.append(sf_username)
        if expires_before is not None:
            clauses.append("expires_at IS NOT NULL AND expires_at <= ?")
            args.append(to_db_time(expires_before))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.conn.execute_fetchall(
            f"SELECT * FROM requests {where} ORDER BY created_at DESC LIMIT ?",  # noqa: S608
            [*args, limit],
        )
        return [row_to_request(r) for r in rows]

    async def add_message(self, ref: MessageRef) -> None:
        """Remember a message posted about a request (replacing one for the same purpose)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO messages (request_id, purpose, channel, ts, recipient) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id, purpose, channel) "
                "DO UPDATE SET ts = excluded.ts, recipient = excluded.recipient",
                (ref.request_id, ref.purpose, ref.channel, ref.ts, ref.recipient),
            )

    async def messages_at(self, channel: str, ts: str, purpose: str) -> list[MessageRef]:
        """Every request's record of one posted message (a summary about several requests)."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM messages WHERE channel = ? AND ts = ? AND purpose = ?",
            (channel, ts, purpose),
        )
        return [MessageRef.model_validate(row_dict(r)) for r in rows]

    async def messages(self, request_id: str, purpose: str | None = None) -> list[MessageRef]:
        """Messages posted about a request (for one purpose, or all)."""
        query = "SELECT * FROM messages WHERE request_id = ?"
        args: list[Any] = [request_id]
        if purpose is not None:
            query += " AND purpose = ?"
            args.append(purpose)
        rows = await self._db.conn.execute_fetchall(query, args)
        return [MessageRef.model_validate(row_dict(r)) for r in rows]
