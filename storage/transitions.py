"""A request's compare-and-set transition with its audit row, inside a caller's transaction.

``RequestRepository.transition`` runs one in a transaction of its own; ``Together`` runs
several (and the converger's record of a user) in one, so a grant's steps take the write
lock once rather than once each.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.audit import append_audit
from storage.db import Connection, Row, from_db_time, row_dict, to_db_time
from storage.managed import mark_user
from storage.models import AccessRequest, Kind, State

# A grant entering this state may make Salesforce create a user: the user becomes managed.
_MANAGING_STATE = State.PROVISIONING.value

TIME_FIELDS = frozenset(
    {
        "decided_at",
        "next_attempt_at",
        "claimed_until",
        "expires_at",
        "created_at",
        "updated_at",
        "pending_since",
        "review_due_at",
    }
)
MUTABLE_FIELDS = frozenset(
    {
        "license",
        "profile",
        "role",
        "permission_sets",
        "duration",
        "reason",
        "decided_by",
        "decided_at",
        "decision_note",
        "sf_user_id",
        "sf_username",
        "username_override",
        "needs_admin_reason",
        "last_error",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "claimed_by",
        "expires_at",
        "reminders_sent",
        "subject_email",
        "subject_name",
        "pending_since",
        "tier",
        "approval_stage",
        "review_due_at",
    }
)


def to_db(field: str, value: Any) -> Any:
    """A request field's value as stored."""
    if field in TIME_FIELDS:
        return to_db_time(value)
    if field == "permission_sets":
        return json.dumps(list(value))
    if isinstance(value, timedelta):
        return int(value.total_seconds())  # durations are stored in whole seconds
    if isinstance(value, State | Kind):
        return value.value
    return value


def row_to_request(row: Row) -> AccessRequest:
    """A stored request row as the model."""
    # zip, not row_dict(row): sqlite3.Row looks each name up among every column (slow on wide rows)
    data = row_dict(row)
    data.pop("idempotency_key", None)
    data["permission_sets"] = tuple(json.loads(data["permission_sets"]))
    for field in TIME_FIELDS:
        data[field] = from_db_time(data[field])
    return AccessRequest.model_validate(data)


@dataclass(frozen=True)
class Moved:
    """A transition that took place: the request after it, and what it was before."""

    request: AccessRequest
    before: str
    actor: str
    action: str


async def transition_in(
    conn: Connection,
    *,
    audit_key: bytes | None,
    now: datetime,
    request_id: str,
    expected: State | Collection[State],
    to: State,
    actor: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    touch: bool = True,
    match: Mapping[str, int] | None = None,
) -> Moved | None:
    """``UPDATE ... WHERE id = ? AND state IN (expected)`` and its audit row, in ``conn``'s
    transaction; None when the request was not in ``expected`` (or ``match`` failed).

    With ``touch``, a state change of a request naming a Salesforce user marks that user for
    convergence in the same transaction.
    """
    allowed = [expected] if isinstance(expected, State) else list(expected)
    changes = dict(changes or {})
    unknown = set(changes) - MUTABLE_FIELDS
    if unknown:
        raise ValueError(f"not a changeable field: {', '.join(sorted(unknown))}")
    assignments = ["state = ?", "updated_at = ?", "version = version + 1"]
    args: list[Any] = [to.value, to_db_time(now)]
    for field, value in changes.items():
        assignments.append(f"{field} = ?")
        args.append(to_db(field, value))
    marks = ", ".join("?" for _ in allowed)
    matched = dict(match or {})
    if set(matched) - MUTABLE_FIELDS:
        raise ValueError(f"not a matchable field: {', '.join(sorted(matched))}")
    extra = "".join(f" AND {field} = ?" for field in matched)
    # The write lock is held across every await here: each is one round trip.
    updated = list(
        await conn.execute_fetchall(
            f"UPDATE requests SET {', '.join(assignments)} "  # noqa: S608 - whitelisted
            f"WHERE id = ? AND state IN ({marks}){extra} RETURNING *",
            [*args, request_id, *(s.value for s in allowed), *matched.values()],
        )
    )
    if not updated:
        return None
    row = updated[0]
    before = await _previous_state(conn, request_id, row["state"], allowed)
    await append_audit(
        conn,
        key=audit_key,
        at=now,
        request_id=request_id,
        actor=actor,
        action=action,
        from_state=before,
        to_state=to.value,
        detail=detail,
    )
    if touch and row["sf_username"] and before != row["state"]:
        await mark_user(
            conn,
            row["sf_username"],
            subject_id=row["subject_id"],
            now=now,
            create=row["kind"] == Kind.GRANT.value and row["state"] == _MANAGING_STATE,
        )
    return Moved(request=row_to_request(row), before=before, actor=actor, action=action)


async def _previous_state(
    conn: Connection, request_id: str, now_state: str, allowed: list[State]
) -> str:
    if len(allowed) == 1:
        return allowed[0].value
    rows = await conn.execute_fetchall(
        "SELECT to_state FROM audit_log WHERE request_id = ? AND to_state IS NOT NULL "
        "ORDER BY seq DESC LIMIT 1",
        (request_id,),
    )
    return next((str(row[0]) for row in rows), now_state)
