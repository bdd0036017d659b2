"""Deprovisioning: deactivate (one user or many), freeze when Salesforce refuses, clean up sets.

One user: a composite reads the login, the user and the removable assignments and PATCHes
IsActive=false (1 call); then one collections DELETE removes the assignments (or, when blocked,
one PATCH freezes the login). Many users: one retrieve, a collections PATCH per 200 users, then
bulk freeze and bulk assignment removal.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from salesforce import soql
from salesforce.blockers import classify
from salesforce.client import SalesforceClient
from salesforce.composite import Subrequest, chunks, query_subrequest
from salesforce.errors import (
    ApiBudgetExhausted,
    AuthenticationFailed,
    InsufficientAccess,
    RecordNotFound,
    SalesforceError,
    SessionExpired,
    Transient,
)
from salesforce.models import Blocker, Deactivated, DeactivationBlocked, DeactivationOutcome
from salesforce.records import ActiveFlagRow, AssignmentRow, LoginRow, UserRow, is_salesforce_id

logger = logging.getLogger(__name__)
# Failures that are about the bot, the network or the org's limits, never about the user.
NOT_A_BLOCKER = (
    InsufficientAccess,
    ApiBudgetExhausted,
    Transient,
    SessionExpired,
    AuthenticationFailed,
)
RETRIEVE_MAX = 2000


def blocked_outcome(user_id: str, error: SalesforceError, frozen: bool) -> DeactivationBlocked:
    info = classify(error.raw_message, error.error_code)
    logger.warning(
        "deactivation of %s blocked (%s); frozen=%s", user_id, info.blocker.value, frozen
    )
    return DeactivationBlocked(
        user_id=user_id,
        blocker=info.blocker,
        explanation=info.explanation,
        fix=info.fix,
        setup=info.setup,
        raw_message=error.raw_message,
        frozen=frozen,
    )


def _missing(user_id: str) -> DeactivationBlocked:
    return DeactivationBlocked(
        user_id=user_id,
        blocker=Blocker.UNKNOWN,
        explanation="Salesforce has no user with this Id.",
        fix="Check that the request points at this org and at an existing user.",
        raw_message=f"no User {user_id}",
        frozen=False,
    )


def remove_assignments(client: SalesforceClient, assignment_ids: list[str]) -> int:
    """Delete assignments with collections, 200 a call; returns how many went."""
    removed = 0
    for chunk in chunks(assignment_ids):
        for outcome in client.delete_records(chunk):
            if outcome.success:
                removed += 1
            else:
                logger.warning("could not remove assignment: %s", outcome.error().raw_message)
    return removed


def set_frozen(client: SalesforceClient, user_id: str, frozen: bool) -> bool:
    """Freeze or unfreeze a user's login; True when the login is in that state afterwards."""
    if not is_salesforce_id(user_id):
        raise RecordNotFound(f"malformed user id {user_id!r}", error_code="MALFORMED_ID")
    rows = [LoginRow.model_validate(r) for r in client.query(soql.logins_of([user_id]))]
    if not rows:
        return False
    login = rows[0]
    if login.is_frozen != frozen:
        client.rest("PATCH", f"sobjects/UserLogin/{login.id}", json={"IsFrozen": frozen})
    return True


def freeze_login(client: SalesforceClient, login_id: str | None) -> bool:
    """Freeze a login (a refused deactivation); True when it is frozen afterwards."""
    if login_id is None:
        return False
    try:
        client.rest("PATCH", f"sobjects/UserLogin/{login_id}", json={"IsFrozen": True})
    except SalesforceError as error:
        logger.warning("could not freeze login %s: %s", login_id, error.raw_message)
        return False
    return True


def _freeze_login(client: SalesforceClient, login: LoginRow | None) -> bool:
    if login is None:
        return False
    return login.is_frozen or freeze_login(client, login.id)


def deactivate(client: SalesforceClient, user_id: str) -> DeactivationOutcome:
    """Deactivate one user; if Salesforce refuses, freeze them and say why."""
    if not is_salesforce_id(user_id):
        raise RecordNotFound(f"malformed user id {user_id!r}", error_code="MALFORMED_ID")
    result = client.composite(
        [
            query_subrequest("login", soql.logins_of([user_id])),
            query_subrequest("user", soql.user_by_id(user_id)),
            query_subrequest("extra", soql.removable_assignments([user_id])),
            Subrequest(
                method="PATCH",
                path=f"sobjects/User/{user_id}",
                reference_id="deactivate",
                body={"IsActive": False},
            ),
        ],
        all_or_none=False,
    )
    users = [UserRow.model_validate(r) for r in result.get("user").records()]
    if not users:
        raise RecordNotFound(f"no User {user_id}", error_code="NOT_FOUND")
    logins = [LoginRow.model_validate(r) for r in result.get("login").records()]
    extra = [str(r["Id"]) for r in result.get("extra").records()]
    patch = result.get("deactivate")
    if patch.ok:
        removed = remove_assignments(client, extra)
        logger.debug("deactivated %s; removed %d assignments", user_id, removed)
        return Deactivated(
            user_id=user_id, already_inactive=not users[0].is_active, removed_assignments=removed
        )
    error = patch.error()
    if isinstance(error, NOT_A_BLOCKER):
        raise error
    return blocked_outcome(user_id, error, _freeze_login(client, logins[0] if logins else None))


def _states(client: SalesforceClient, ids: list[str]) -> dict[str, bool]:
    states: dict[str, bool] = {}
    for chunk in chunks(ids, RETRIEVE_MAX):
        for record in client.retrieve_records("User", chunk, ["Id", "IsActive"]):
            if record is not None:
                row = ActiveFlagRow.model_validate(record)
                states[row.id] = row.is_active
    return states


def _freeze_many(client: SalesforceClient, user_ids: list[str]) -> set[str]:
    frozen: set[str] = set()
    for chunk in chunks(user_ids):
        logins = [LoginRow.model_validate(r) for r in client.query(soql.logins_of(chunk))]
        frozen.update(lg.user_id for lg in logins if lg.is_frozen)
        todo = [lg for lg in logins if not lg.is_frozen]
        if not todo:
            continue
        records = [
            {"attributes": {"type": "UserLogin"}, "id": lg.id, "IsFrozen": True} for lg in todo
        ]
        for login, outcome in zip(todo, client.update_records(records), strict=True):
            if outcome.success:
                frozen.add(login.user_id)
    return frozen


def _remove_for(client: SalesforceClient, user_ids: list[str]) -> Counter[str]:
    removed: Counter[str] = Counter()
    for chunk in chunks(user_ids):
        rows = [
            AssignmentRow.model_validate(r) for r in client.query(soql.removable_assignments(chunk))
        ]
        for part in chunks(rows):
            for row, outcome in zip(part, client.delete_records([r.id for r in part]), strict=True):
                if outcome.success:
                    removed[row.assignee_id] += 1
    return removed


def deactivate_many(
    client: SalesforceClient, user_ids: Sequence[str]
) -> dict[str, DeactivationOutcome]:
    """Deactivate many users with sObject Collections (200 a call), outcome per user."""
    ids = list(dict.fromkeys(user_ids))
    valid = [i for i in ids if is_salesforce_id(i)]
    states = _states(client, valid)
    inactive = [i for i in valid if states.get(i) is False]
    done = list(inactive)
    blocked: dict[str, SalesforceError] = {}
    for chunk in chunks([i for i in valid if states.get(i) is True]):
        records = [{"attributes": {"type": "User"}, "id": i, "IsActive": False} for i in chunk]
        for user_id, outcome in zip(chunk, client.update_records(records), strict=True):
            if outcome.success:
                done.append(user_id)
                continue
            error = outcome.error()
            if isinstance(error, NOT_A_BLOCKER):
                raise error
            blocked[user_id] = error
    frozen = _freeze_many(client, list(blocked))
    removed = _remove_for(client, done)
    outcomes: dict[str, DeactivationOutcome] = {}
    for user_id in ids:
        if user_id in blocked:
            outcomes[user_id] = blocked_outcome(user_id, blocked[user_id], user_id in frozen)
        elif user_id in states:
            outcomes[user_id] = Deactivated(
                user_id=user_id,
                already_inactive=user_id in inactive,
                removed_assignments=removed[user_id],
            )
        else:
            outcomes[user_id] = _missing(user_id)
    return outcomes
