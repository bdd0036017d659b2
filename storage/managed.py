"""Managed Salesforce users: who the bot created or adopted, and which ones need converging.

A change to any grant of a user bumps its ``wanted_gen`` in the same transaction as the change
(``mark_user``, called by the request repository). The converger claims dirty users with a
lease, brings Salesforce to the desired state and records the generation it reached, so a
change that lands while a call is in flight leaves the user dirty and is applied next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from storage.audit import append_audit
from storage.db import Connection, Database, Row, from_db_time, row_dict, to_db_time
from storage.models import CARRIED_STATES, Baseline, ManagedOrigin, ManagedUser

_TIME_FIELDS = ("create_sent_at", "next_attempt_at", "claimed_until", "created_at", "updated_at")


def username_key(username: str) -> str:
    """Salesforce usernames are case-insensitive: one key per user."""
    return username.strip().casefold()


def _row_to_user(row: Row) -> ManagedUser:
    data = row_dict(row)
    data["added"] = tuple(json.loads(data["added"]))
    data["baseline"] = Baseline.model_validate_json(data["baseline"]) if data["baseline"] else None
    data["frozen_by_bot"] = bool(data["frozen_by_bot"])
    for field in _TIME_FIELDS:
        data[field] = from_db_time(data[field])
    return ManagedUser.model_validate(data)


async def mark_user(
    conn: Connection,
    username: str,
    *,
    subject_id: str,
    now: datetime,
    create: bool,
) -> None:
    """Inside a request's transaction: the user's grants changed, so it needs converging.

    With ``create`` the user becomes managed (pending until Salesforce shows what exists).
    """
    key = username_key(username)
    stamp = to_db_time(now)
    if create:
        await conn.execute(
            "INSERT INTO managed_users (username, subject_id, origin, create_sent_at, "
            "next_attempt_at, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET wanted_gen = managed_users.wanted_gen + 1, "
            "next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at",
            (key, subject_id, stamp, stamp, stamp, stamp),
        )
        return
    await conn.execute(
        "UPDATE managed_users SET wanted_gen = wanted_gen + 1, next_attempt_at = ?, "
        "updated_at = ? WHERE username = ?",
        (stamp, stamp, key),
    )


async def claim_users(
    conn: Connection, usernames: list[str], *, worker: str, lease: timedelta, now: datetime
) -> list[ManagedUser]:
    """Inside a write transaction: lease these users unless another worker holds them."""
    keys = list(dict.fromkeys(username_key(u) for u in usernames))
    if not keys:
        return []
    marks = ", ".join("?" for _ in keys)
    rows = await conn.execute_fetchall(
        "UPDATE managed_users SET claimed_until = ?, claimed_by = ? "  # noqa: S608
        f"WHERE username IN ({marks}) "
        "AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?) RETURNING *",
        [to_db_time(now + lease), worker, *keys, to_db_time(now), worker],
    )
    return [_row_to_user(r) for r in rows]


async def record_user(
    conn: Connection,
    user: ManagedUser,
    *,
    audit_key: bytes | None,
    now: datetime,
    worker: str,
    reached_gen: int,
    changes: Mapping[str, Any],
    audit: Mapping[str, Any] | None = None,
    retry_at: datetime | None = None,
    release: bool = True,
) -> ManagedUser | None:
    """Inside a write transaction: store what converging did (with its audit row) and, unless
    told otherwise, give the lease back; None when another worker holds the user."""
    values: dict[str, Any] = {
        "converged_gen": reached_gen,
        "next_attempt_at": to_db_time(retry_at) if retry_at else to_db_time(now),
        "updated_at": to_db_time(now),
    }
    if release:
        values.update(claimed_until=None, claimed_by=None)
    for field, value in changes.items():
        if field == "added":
            values[field] = json.dumps(sorted(set(value)))
        elif field == "baseline":
            values[field] = value.model_dump_json() if value is not None else None
        elif field == "origin":
            values[field] = ManagedOrigin(value).value
        elif field == "frozen_by_bot":
            values[field] = int(bool(value))
        elif field in ("sf_user_id", "last_error"):
            values[field] = value
        else:
            raise ValueError(f"not a changeable field: {field}")
    sets = ", ".join(f"{name} = ?" for name in values)
    rows = await conn.execute_fetchall(
        f"UPDATE managed_users SET {sets} "  # noqa: S608 - whitelisted names
        "WHERE username = ? AND (claimed_by IS NULL OR claimed_by = ?) RETURNING *",
        [*values.values(), user.username, worker],
    )
    if audit:
        await append_audit(
            conn,
            key=audit_key,
            at=now,
            request_id=None,
            actor="bot",
            action=str(audit.get("action", "converged")),
            detail={"username": user.username, **audit},
        )
    return next((_row_to_user(r) for r in rows), None)


class ManagedUsers:
    """Reads and leases managed users; records what the converger did."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        """The database the users live in."""
        return self._db

    async def get(self, username: str) -> ManagedUser | None:
        """The managed user with this username."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM managed_users WHERE username = ?", (username_key(username),)
        )
        return next((_row_to_user(r) for r in rows), None)

    async def get_many(self, usernames: list[str]) -> list[ManagedUser]:
        """The managed users with these usernames (one read)."""
        keys = list(dict.fromkeys(username_key(u) for u in usernames))
        if not keys:
            return []
        marks = ", ".join("?" for _ in keys)
        rows = await self._db.conn.execute_fetchall(
            f"SELECT * FROM managed_users WHERE username IN ({marks})",  # noqa: S608
            keys,
        )
        return [_row_to_user(r) for r in rows]

    async def by_user_id(self, user_id: str) -> ManagedUser | None:
        """The managed user with this Salesforce Id."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM managed_users WHERE sf_user_id = ?", (user_id,)
        )
        return next((_row_to_user(r) for r in rows), None)

    async def all(self) -> list[ManagedUser]:
        """Every managed user (reconciliation, tests)."""
        rows = await self._db.conn.execute_fetchall("SELECT * FROM managed_users ORDER BY username")
        return [_row_to_user(r) for r in rows]

    async def mark(self, username: str, *, subject_id: str, create: bool = False) -> None:
        """Mark a user dirty outside a request transition (an admin's adoption, a sweep)."""
        async with self._db.transaction() as conn:
            await mark_user(
                conn, username, subject_id=subject_id, now=self._db.clock(), create=create
            )

    async def add_created(self, username: str, *, sf_user_id: str, subject_id: str) -> None:
        """Record a user known to be the bot's own, converged (imports, fixtures)."""
        now = to_db_time(self._db.clock())
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO managed_users (username, sf_user_id, subject_id, origin, "
                "wanted_gen, converged_gen, created_at, updated_at) "
                "VALUES (?, ?, ?, 'created', 1, 1, ?, ?) ON CONFLICT DO NOTHING",
                (username_key(username), sf_user_id, subject_id, now, now),
            )

    async def adopt(
        self, username: str, *, sf_user_id: str, baseline: Baseline, actor: str, request_id: str
    ) -> ManagedUser | None:
        """An admin's decision: the bot manages this existing user from its ``baseline`` on."""
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE managed_users SET origin = 'adopted', sf_user_id = ?, baseline = ?, "
                "added = '[]', wanted_gen = wanted_gen + 1, next_attempt_at = ?, updated_at = ? "
                "WHERE username = ? AND origin = 'pending' RETURNING *",
                (
                    sf_user_id,
                    baseline.model_dump_json(),
                    to_db_time(now),
                    to_db_time(now),
                    username_key(username),
                ),
            )
            if rows:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=now,
                    request_id=request_id,
                    actor=actor,
                    action="user_adopted",
                    detail={
                        "username": username_key(username),
                        "user_id": sf_user_id,
                        "baseline": baseline.model_dump(),
                    },
                )
        return next((_row_to_user(r) for r in rows), None)

    async def adopt_active(
        self,
        username: str,
        *,
        sf_user_id: str,
        subject_id: str,
        baseline: Baseline,
        actor: str,
        detail: Mapping[str, Any],
    ) -> ManagedUser | None:
        """Manage an existing user nobody granted (kept in a review) from ``baseline`` on.

        Dirty once, so the converger reads it and confirms it matches; None when the username
        was managed already.
        """
        now = to_db_time(self._db.clock())
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO managed_users (username, sf_user_id, subject_id, origin, baseline, "
                "wanted_gen, converged_gen, next_attempt_at, created_at, updated_at) "
                "VALUES (?, ?, ?, 'adopted', ?, 2, 1, ?, ?, ?) "
                "ON CONFLICT (username) DO NOTHING RETURNING *",
                (
                    username_key(username),
                    sf_user_id,
                    subject_id,
                    baseline.model_dump_json(),
                    now,
                    now,
                    now,
                ),
            )
            if rows:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=self._db.clock(),
                    request_id=None,
                    actor=actor,
                    action="user_adopted",
                    detail={
                        "username": username_key(username),
                        "user_id": sf_user_id,
                        "baseline": baseline.model_dump(),
                        **detail,
                    },
                )
        return next((_row_to_user(r) for r in rows), None)

    async def claim(
        self, usernames: list[str], *, worker: str, lease: timedelta
    ) -> list[ManagedUser]:
        """Lease these users unless another worker holds them."""
        if not usernames:
            return []
        async with self._db.transaction() as conn:
            return await claim_users(
                conn, usernames, worker=worker, lease=lease, now=self._db.clock()
            )

    async def claim_due(
        self, *, worker: str, lease: timedelta, limit: int = 200
    ) -> list[ManagedUser]:
        """Lease dirty users no request is carrying (cancellations, crash leftovers, retries).

        A user with a grant or revocation leased right now is left to that request's worker
        (an offboarding batch, a provisioning in flight); so is one whose request is due to be
        claimed (a crashed holder's lease ran out): the request resumes it, and says so.
        """
        now = to_db_time(self._db.clock())
        carried = ", ".join("?" for _ in CARRIED_STATES)
        picker = (
            "SELECT m.username FROM managed_users m WHERE m.wanted_gen > m.converged_gen "  # noqa: S608
            "AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ?) "
            "AND (m.claimed_until IS NULL OR m.claimed_until < ?) "
            "AND NOT EXISTS (SELECT 1 FROM requests r "
            "WHERE r.sf_username = m.username COLLATE NOCASE AND (r.claimed_until >= ? "
            f"OR (r.state IN ({carried}) "
            "AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?)))) "
            "ORDER BY m.next_attempt_at LIMIT ?"
        )
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE managed_users SET claimed_until = ?, claimed_by = ? WHERE username IN ("  # noqa: S608
                + self._db.skip_locked(picker, "managed_users", "username")
                + ") RETURNING *",
                (
                    to_db_time(self._db.clock() + lease),
                    worker,
                    now,
                    now,
                    now,
                    *(s.value for s in CARRIED_STATES),
                    now,
                    limit,
                ),
            )
        return [_row_to_user(r) for r in rows]

    async def record(
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
        """Store what converging did and (unless told otherwise) give the lease back."""
        async with self._db.transaction() as conn:
            return await record_user(
                conn,
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

    async def release(self, username: str, worker: str) -> None:
        """Give a lease back without recording anything (nothing was done)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE managed_users SET claimed_until = NULL, claimed_by = NULL "
                "WHERE username = ? AND claimed_by = ?",
                (username_key(username), worker),
            )
