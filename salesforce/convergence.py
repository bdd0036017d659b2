"""Reading a user as it is and applying the difference to its desired state.

Read: one composite of three queries (user, login, assignments) = 1 call. Apply: one
all-or-none composite with the User PATCH, the login freeze or unfreeze, the assignments to
remove and to add = 1 call (overflow past 25 subrequests goes through collections). A
deactivation Salesforce refuses rolls the whole change back; the user is then frozen.
"""

from __future__ import annotations

import logging
from datetime import datetime

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import MAX_SUBREQUESTS, Subrequest, chunks, query_subrequest
from salesforce.deprovisioning import NOT_A_BLOCKER, blocked_outcome, freeze_login
from salesforce.errors import RecordNotFound
from salesforce.expiration import EXPIRATION_DATE, from_salesforce, to_salesforce
from salesforce.models import ChangeApplied, ChangeOutcome, UserChange, UserState
from salesforce.provisioning import ASSIGN, assign_remaining
from salesforce.records import AssignmentRow, LoginRow, UserRow, is_salesforce_id

logger = logging.getLogger(__name__)


def _state(
    user: UserRow, logins: list[LoginRow], rows: list[AssignmentRow], with_expiry: bool
) -> UserState:
    login = next((lg for lg in logins if lg.user_id == user.id), None)
    mine = [row for row in rows if row.assignee_id == user.id]
    held = {(row.group_id or row.permission_set_id or ""): row.id for row in mine}
    held.pop("", None)
    expirations = None
    if with_expiry:
        expirations = {
            (row.group_id or row.permission_set_id or ""): from_salesforce(row.expiration_date)
            for row in mine
        }
        expirations.pop("", None)
    created = None
    if user.created_date:
        created = datetime.fromisoformat(user.created_date.replace("+0000", "+00:00"))
    return UserState(
        id=user.id,
        username=user.username,
        email=user.email,
        is_active=user.is_active,
        profile_id=user.profile_id,
        role_id=user.role_id,
        frozen=bool(login and login.is_frozen),
        login_id=login.id if login else None,
        assignments=held,
        expirations=expirations,
        created_at=created,
        created_by_id=user.created_by_id,
    )


def _read(
    client: SalesforceClient, users: str, logins: str, assigned: str, with_expiry: bool
) -> UserState | None:
    result = client.composite(
        [
            query_subrequest("user", users),
            query_subrequest("login", logins),
            query_subrequest("assigned", assigned),
        ],
        all_or_none=False,
    )
    found = [UserRow.model_validate(r) for r in result.get("user").records()]
    if not found:
        return None
    return _state(
        found[0],
        [LoginRow.model_validate(r) for r in result.get("login").records()],
        [AssignmentRow.model_validate(r) for r in result.get("assigned").records()],
        with_expiry,
    )


def read_user(
    client: SalesforceClient, user_id: str, with_expiry: bool = False
) -> UserState | None:
    """The user with this Id as it is now (1 call); None when the org has no such user.

    ``with_expiry`` (only for an org with assignment expiration) reads each ExpirationDate.
    """
    if not is_salesforce_id(user_id):
        raise RecordNotFound(f"malformed user id {user_id!r}", error_code="MALFORMED_ID")
    return _read(
        client,
        soql.user_state_by_id(user_id),
        soql.logins_of([user_id]),
        soql.held_assignments_of(user_id, with_expiry=with_expiry),
        with_expiry,
    )


def find_user_state(
    client: SalesforceClient, username: str, with_expiry: bool = False
) -> UserState | None:
    """The user with this Username as it is now (1 call); None when this org has none."""
    return _read(
        client,
        soql.user_state_named(username),
        soql.logins_named(username),
        soql.held_assignments_named(username, with_expiry=with_expiry),
        with_expiry,
    )


def _subrequests(
    change: UserChange,
) -> tuple[list[Subrequest], list[str], list[tuple[str, datetime | None]], list[str]]:
    subs: list[Subrequest] = []
    if change.fields:
        subs.append(
            Subrequest(
                method="PATCH",
                path=f"sobjects/User/{change.user_id}",
                reference_id="user",
                body=dict(change.fields),
            )
        )
    if change.frozen is not None and change.login_id:
        subs.append(
            Subrequest(
                method="PATCH",
                path=f"sobjects/UserLogin/{change.login_id}",
                reference_id="login",
                body={"IsFrozen": change.frozen},
            )
        )
    room = MAX_SUBREQUESTS - len(subs)
    removes, rest_removes = list(change.remove[:room]), list(change.remove[room:])
    subs += [
        Subrequest(
            method="DELETE",
            path=f"sobjects/PermissionSetAssignment/{record}",
            reference_id=f"remove{n}",
        )
        for n, record in enumerate(removes)
    ]
    room = MAX_SUBREQUESTS - len(subs)
    moved = sorted(change.reexpire.items())
    moves, rest_moves = moved[:room], moved[room:]
    subs += [
        Subrequest(
            method="PATCH",
            path=f"sobjects/PermissionSetAssignment/{record}",
            reference_id=f"expiry{n}",
            body=_expiry(ends),
        )
        for n, (record, ends) in enumerate(moves)
    ]
    room = MAX_SUBREQUESTS - len(subs)
    adds, rest_adds = list(change.assign[:room]), list(change.assign[room:])
    subs += [
        Subrequest(method="POST", path=ASSIGN, reference_id=f"assign{n}", body=_body(change, i))
        for n, i in enumerate(adds)
    ]
    return subs, rest_removes, rest_moves, rest_adds


def _expiry(ends: datetime | None) -> dict[str, str | None]:
    return {EXPIRATION_DATE: to_salesforce(ends) if ends else None}


def _body(change: UserChange, assignable: str) -> dict[str, str | None]:
    key = "PermissionSetGroupId" if assignable.startswith("0PG") else "PermissionSetId"
    body: dict[str, str | None] = {"AssigneeId": change.user_id, key: assignable}
    if assignable in change.expires:
        body.update(_expiry(change.expires[assignable]))
    return body


def apply_change(client: SalesforceClient, change: UserChange) -> ChangeOutcome:
    """Apply ``change`` in one all-or-none composite; a refused deactivation freezes the user."""
    if change.empty:
        return ChangeApplied(user_id=change.user_id)
    subs, rest_removes, rest_moves, rest_adds = _subrequests(change)
    while subs:
        failed = client.composite(subs, all_or_none=True).failure()
        if failed is None:
            break
        error = failed.error()
        # An assignment removed meanwhile (by someone, or by its own ExpirationDate).
        gone = failed.reference_id.startswith(("remove", "expiry")) and error.error_code in (
            "ENTITY_IS_DELETED",
            "NOT_FOUND",
        )
        duplicate = failed.reference_id.startswith("assign") and (
            error.error_code == "DUPLICATE_VALUE"
        )
        if gone or duplicate:  # someone else already did it: drop that part and go again
            subs = [s for s in subs if s.reference_id != failed.reference_id]
            continue
        if failed.reference_id == "user" and change.deactivates:
            if isinstance(error, NOT_A_BLOCKER):
                raise error
            return blocked_outcome(change.user_id, error, freeze_login(client, change.login_id))
        raise error
    for chunk in chunks(rest_removes):
        client.delete_records(chunk)
    for chunk in chunks(rest_moves):
        records = [
            {"attributes": {"type": "PermissionSetAssignment"}, "Id": record, **_expiry(ends)}
            for record, ends in chunk
        ]
        for outcome in client.update_records(records):
            if not outcome.success and outcome.error().error_code not in ("ENTITY_IS_DELETED",):
                raise outcome.error()
    if rest_adds:
        assign_remaining(client, [_body(change, i) for i in rest_adds])
    logger.debug(
        "converged Salesforce user %s: %s, +%d/-%d assignments, %d end dates moved",
        change.user_id,
        ", ".join(sorted(change.fields)) or "no field changes",
        len(change.assign),
        len(change.remove),
        len(change.reexpire),
    )
    return ChangeApplied(user_id=change.user_id, assigned=change.assign, removed=len(change.remove))
