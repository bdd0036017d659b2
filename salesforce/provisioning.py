"""Creating a user: one all-or-none composite makes the User and its assignments (1 call).

A username already used (in this org or another) raises ``DuplicateUsername``; what happens
to an existing user is the converger's decision (``salesforce.convergence`` applies it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from salesforce.client import SalesforceClient
from salesforce.composite import MAX_SUBREQUESTS, Subrequest, chunks
from salesforce.errors import DuplicateUsername
from salesforce.expiration import EXPIRATION_DATE, to_salesforce
from salesforce.models import ProvisionAction, ProvisionResult, UserSpec

logger = logging.getLogger(__name__)
ASSIGN = "sobjects/PermissionSetAssignment"


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
        {"AssigneeId": assignee, "PermissionSetId": i, **_ends(spec, i)}
        for i in spec.permission_set_ids
        if i not in skip
    ]
    groups = [
        {"AssigneeId": assignee, "PermissionSetGroupId": g, **_ends(spec, g)}
        for g in spec.permission_set_group_ids
        if g not in skip
    ]
    return sets + groups


def _ends(spec: UserSpec, assignable: str) -> dict[str, str]:
    """The assignment's ExpirationDate, when Salesforce is to end it by itself."""
    ends = spec.expirations.get(assignable)
    return {EXPIRATION_DATE: to_salesforce(ends)} if ends else {}


def _requested(spec: UserSpec) -> tuple[str, ...]:
    return (*spec.permission_set_ids, *spec.permission_set_group_ids)


def assign_remaining(client: SalesforceClient, bodies: Sequence[Mapping[str, str | None]]) -> None:
    """Assignments beyond what fits in a composite, via collections; a duplicate counts as done."""
    for chunk in chunks(list(bodies)):
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
    logger.debug("created Salesforce user %s (%s)", user_id, spec.username)
    return ProvisionResult(
        user_id=user_id,
        username=spec.username,
        action=ProvisionAction.CREATED,
        assigned=_requested(spec),
    )


def create_user(client: SalesforceClient, spec: UserSpec) -> ProvisionResult:
    """Create the user with its assignments in one call; raises DuplicateUsername when taken."""
    with client.counting() as count:
        created = _create(client, spec)
    if not isinstance(created, ProvisionResult):
        raise created
    return created.model_copy(update={"api_calls": count.calls})
