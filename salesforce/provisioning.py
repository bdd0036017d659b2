"""Provisioning: make a Salesforce user match a ``UserSpec`` in as few API calls as possible.

New user: one all-or-none composite creates the User and its assignments (1 call).
Username already used: look the user up in this org (one composite of three queries), then one
all-or-none composite reactivates or updates it, unfreezes it and adds the missing
assignments (3 calls in all). Not found here: the name is taken in another org.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import MAX_SUBREQUESTS, Subrequest, chunks, query_subrequest
from salesforce.errors import DuplicateUsername
from salesforce.models import ProvisionAction, ProvisionResult, UserSpec
from salesforce.records import AssignmentRow, LoginRow, UserRow

logger = logging.getLogger(__name__)
ASSIGN = "sobjects/PermissionSetAssignment"


class _Found(BaseModel):
    model_config = ConfigDict(frozen=True)

    user: UserRow
    login: LoginRow | None
    assigned: frozenset[str]


def _user_fields(spec: UserSpec) -> dict[str, Any]:
    # Static extra fields go first so they can never override the fields the bot owns.
    fields: dict[str, Any] = dict(spec.extra_fields)
    fields.update(
        Username=spec.username,
        Email=spec.email,
        LastName=spec.last_name,
        Alias=spec.alias,
        TimeZoneSidKey=spec.time_zone,
        LocaleSidKey=spec.locale,
        LanguageLocaleKey=spec.language,
        EmailEncodingKey=spec.email_encoding,
        ProfileId=spec.profile_id,
    )
    if spec.first_name:
        fields["FirstName"] = spec.first_name
    if spec.role_id:
        fields["UserRoleId"] = spec.role_id
    if spec.federation_id:
        fields["FederationIdentifier"] = spec.federation_id
    return fields


def _assignments(
    spec: UserSpec, assignee: str, skip: frozenset[str] = frozenset()
) -> list[dict[str, str]]:
    sets = [
        {"AssigneeId": assignee, "PermissionSetId": i}
        for i in spec.permission_set_ids
        if i not in skip
    ]
    groups = [
        {"AssigneeId": assignee, "PermissionSetGroupId": g}
        for g in spec.permission_set_group_ids
        if g not in skip
    ]
    return sets + groups


def _requested(spec: UserSpec) -> tuple[str, ...]:
    return (*spec.permission_set_ids, *spec.permission_set_group_ids)


def assign_remaining(client: SalesforceClient, bodies: list[dict[str, str]]) -> None:
    """Assignments beyond what fits in a composite, via collections; a duplicate counts as done."""
    for chunk in chunks(bodies):
        records = [{"attributes": {"type": "PermissionSetAssignment"}, **b} for b in chunk]
        for outcome in client.create_records(records):
            if not outcome.success and outcome.error().error_code != "DUPLICATE_VALUE":
                raise outcome.error()


def _create(client: SalesforceClient, spec: UserSpec) -> ProvisionResult | DuplicateUsername:
    bodies = _assignments(spec, "@{newUser.id}")
    inline, rest = bodies[: MAX_SUBREQUESTS - 1], bodies[MAX_SUBREQUESTS - 1 :]
    subrequests = [
        Subrequest(
            method="POST", path="sobjects/User", reference_id="newUser", body=_user_fields(spec)
        )
    ]
    subrequests += [
        Subrequest(method="POST", path=ASSIGN, reference_id=f"assign{n}", body=body)
        for n, body in enumerate(inline)
    ]
    result = client.composite(subrequests, all_or_none=True)
    failed = result.failure()
    if failed is not None:
        error = failed.error()
        if isinstance(error, DuplicateUsername) and failed.reference_id == "newUser":
            return error
        raise error
    user_id = str(result.get("newUser").body["id"])
    if rest:
        assign_remaining(client, [{**b, "AssigneeId": user_id} for b in rest])
    logger.info("created Salesforce user %s (%s)", user_id, spec.username)
    return ProvisionResult(
        user_id=user_id,
        username=spec.username,
        action=ProvisionAction.CREATED,
        assigned=_requested(spec),
    )


def _lookup(client: SalesforceClient, spec: UserSpec) -> _Found | None:
    username, federation_id = spec.username, spec.federation_id
    result = client.composite(
        [
            query_subrequest("user", soql.users_named(username, federation_id)),
            query_subrequest("login", soql.logins_named(username, federation_id)),
            query_subrequest("assigned", soql.assignments_named(username, federation_id)),
        ],
        all_or_none=False,
    )
    result.raise_for_failure()
    users = [UserRow.model_validate(r) for r in result.get("user").records()]
    if not users:
        return None
    # The username decides; a FederationIdentifier match is the same person under another name.
    user = next((u for u in users if u.username.casefold() == username.casefold()), users[0])
    logins = (LoginRow.model_validate(r) for r in result.get("login").records())
    rows = (AssignmentRow.model_validate(r) for r in result.get("assigned").records())
    assigned = {
        i
        for row in rows
        if row.assignee_id == user.id
        for i in (row.permission_set_id, row.group_id)
        if i
    }
    return _Found(
        user=user,
        login=next((lg for lg in logins if lg.user_id == user.id), None),
        assigned=frozenset(assigned),
    )


def _user_patch(spec: UserSpec, user: UserRow) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    if not user.is_active:
        patch["IsActive"] = True
    if user.profile_id != spec.profile_id:
        patch["ProfileId"] = spec.profile_id
    if spec.role_id and user.role_id != spec.role_id:
        patch["UserRoleId"] = spec.role_id
    if spec.federation_id and user.federation_id != spec.federation_id:
        patch["FederationIdentifier"] = spec.federation_id
    if patch:
        # Validation rules run on updates too; send the static fields they may need.
        patch = {**spec.extra_fields, **patch}
    return patch


def _apply(client: SalesforceClient, subrequests: list[Subrequest]) -> None:
    """Run one all-or-none composite; an assignment that meanwhile exists is dropped and retried."""
    while subrequests:
        failed = client.composite(subrequests, all_or_none=True).failure()
        if failed is None:
            return
        error = failed.error()
        if error.error_code != "DUPLICATE_VALUE" or not failed.reference_id.startswith("assign"):
            raise error
        subrequests = [s for s in subrequests if s.reference_id != failed.reference_id]


def _converge(client: SalesforceClient, spec: UserSpec, found: _Found) -> ProvisionResult:
    user = found.user
    subrequests: list[Subrequest] = []
    patch = _user_patch(spec, user)
    if patch:
        subrequests.append(
            Subrequest(
                method="PATCH", path=f"sobjects/User/{user.id}", reference_id="user", body=patch
            )
        )
    if found.login is not None and found.login.is_frozen:
        subrequests.append(
            Subrequest(
                method="PATCH",
                path=f"sobjects/UserLogin/{found.login.id}",
                reference_id="unfreeze",
                body={"IsFrozen": False},
            )
        )
    bodies = _assignments(spec, user.id, skip=found.assigned)
    room = MAX_SUBREQUESTS - len(subrequests)
    subrequests += [
        Subrequest(method="POST", path=ASSIGN, reference_id=f"assign{n}", body=body)
        for n, body in enumerate(bodies[:room])
    ]
    _apply(client, subrequests)
    if bodies[room:]:
        assign_remaining(client, bodies[room:])
    action = ProvisionAction.UPDATED if user.is_active else ProvisionAction.REACTIVATED
    logger.info("%s Salesforce user %s (%s)", action.value, user.id, user.username)
    return ProvisionResult(
        user_id=user.id, username=user.username, action=action, assigned=_requested(spec)
    )


def create_user(client: SalesforceClient, spec: UserSpec) -> ProvisionResult:
    """Create the user with its assignments in one call; raises DuplicateUsername when taken."""
    with client.counting() as count:
        created = _create(client, spec)
    if not isinstance(created, ProvisionResult):
        raise created
    return created.model_copy(update={"api_calls": count.calls})


def provision(client: SalesforceClient, spec: UserSpec) -> ProvisionResult:
    """Create, reactivate or update the user so it matches ``spec``; safe to run again."""
    with client.counting() as count:
        created = _create(client, spec)
        if isinstance(created, ProvisionResult):
            result = created
        else:
            found = _lookup(client, spec)
            if found is None:
                raise created  # taken in another org: usernames are global
            result = _converge(client, spec, found)
    return result.model_copy(update={"api_calls": count.calls})
