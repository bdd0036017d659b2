"""Taking access away: one flow for every path (owner, self, offboarding, expiry).

Opening a revocation only changes the database; the converger (``handlers.flows.converge``)
then takes from Salesforce what no remaining grant gives.
"""

from __future__ import annotations

from enum import StrEnum

from handlers.flows.desired import RevocationEffect, effect_of_revoking
from handlers.flows.outcomes import (
    NeedsAdmin,
    RefusalReason,
    Refused,
    Skipped,
    WillRetry,
)
from handlers.flows.provision import problem_of
from handlers.flows.retry import schedule_retry
from handlers.policy import Policy
from salesforce.errors import SalesforceError
from storage.models import AccessRequest, Kind, NewRequest, State
from storage.requests import RequestRepository

OPEN_REVOCATION = (State.REQUESTED, State.DEPROVISIONING, State.BLOCKED)
# A grant not yet provisioned is cancelled rather than revoked (the converger still removes a
# user a lost create made); one being provisioned or active gets a revocation.
CANCELLABLE = (State.PENDING_APPROVAL, State.APPROVED, State.NEEDS_ADMIN)
REVOCABLE = (State.PROVISIONING, State.ACTIVE)
# Grants whose access should exist: approved (provisioning tried), provisioning, active.
HOLDING = (State.APPROVED, State.PROVISIONING, State.ACTIVE)
# An extension not active yet ends with the grant it extends: approving it later must not
# bring back access that was taken away. (An active extension is a grant of its own.)
UNFINISHED_EXTENSION = (*CANCELLABLE, State.PROVISIONING)
EXTENSION_CANCELLED = "extension_cancelled"


OFFBOARDING_REASON = "Their Slack account was deactivated."


def is_offboarding(request: AccessRequest) -> bool:
    """Whether a revocation was opened because its subject left Slack."""
    return (
        request.kind is Kind.REVOKE
        and request.requester_id == "bot"
        and request.reason == OFFBOARDING_REASON
    )


class RevokeSource(StrEnum):
    """Who or what asked for the revocation."""

    OWNER = "owner"
    ADMIN = "admin"
    SELF = "self"
    OFFBOARDING = "offboarding"
    SWEEP = "sweep"  # the daily sweep of members Slack shows as deactivated
    EXPIRY = "expiry"
    RECONCILIATION = "reconciliation"
    REVIEW = "review"  # not confirmed in an access review (by its reviewer or the policy)


def may_revoke(policy: Policy, grant: AccessRequest, actor: str) -> RevokeSource | None:
    """How ``actor`` may revoke ``grant`` (themself, as owner, as admin), or None."""
    app = policy.application(grant.application)
    if app is not None and app.is_admin(actor):
        return RevokeSource.ADMIN
    if app is not None and app.is_owner(actor):
        return RevokeSource.OWNER
    if actor == grant.subject_id:
        return RevokeSource.SELF
    return None


async def request_revocation(
    repo: RequestRepository,
    grant: AccessRequest,
    *,
    actor: str,
    source: RevokeSource,
    reason: str,
) -> AccessRequest | Refused:
    """Open the revocation of an active grant (or cancel one not provisioned yet); idempotent."""
    if grant.kind is not Kind.GRANT:
        return Refused(reason=RefusalReason.NOT_FOUND)
    if grant.state in CANCELLABLE:
        cancelled = await repo.transition(
            grant.id,
            expected=CANCELLABLE,
            to=State.CANCELLED,
            actor=actor,
            action="cancelled",
            changes={"decision_note": reason},
            detail={"source": source.value, "reason": reason},
        )
        if cancelled is not None:
            return cancelled
        grant = await repo.get(grant.id) or grant
    if grant.state not in REVOCABLE:
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=grant)
    existing = await repo.find(grant_id=grant.id, kind=Kind.REVOKE, states=OPEN_REVOCATION)
    if existing:
        return existing[0]
    revocation, _ = await repo.open_revocation(
        NewRequest.following(
            grant,
            kind=Kind.REVOKE,
            state=State.REQUESTED,
            requester_id=actor,
            reason=reason,
            next_attempt_at=repo.clock(),
        ),
        actor=actor,
        idempotency_key=f"revoke:{grant.id}",
        detail={"source": source.value, "reason": reason},
        cancel_followers=UNFINISHED_EXTENSION,
        note=extension_cancelled_note(source, reason=reason),
    )
    return revocation


def extension_cancelled_note(source: RevokeSource, *, reason: str) -> str:
    """Why an extension was cancelled with the grant it extends, for its requester and owners."""
    if source is RevokeSource.EXPIRY:
        return "The access it would extend ended before an owner decided."
    if source is RevokeSource.OFFBOARDING:
        return "The access it would extend ended: its holder left Slack."
    by = {
        RevokeSource.SELF: " by its holder",
        RevokeSource.OWNER: " by an owner",
        RevokeSource.ADMIN: " by an admin",
    }.get(source, "")
    why = f": {reason.strip()}" if reason.strip() else "."
    return f"The access it would extend was revoked{by}{why}"


async def revocation_effect(repo: RequestRepository, grant: AccessRequest) -> RevocationEffect:
    """What ending ``grant`` would do to its Salesforce user, given the user's other grants."""
    if not grant.sf_username:
        return RevocationEffect(deactivates=True)
    others = [
        g
        for g in await repo.find(sf_username=grant.sf_username, kind=Kind.GRANT, states=HOLDING)
        if g.id != grant.id and g.grant_id != grant.id  # an extension replaces it
    ]
    managed = await repo.managed.get(grant.sf_username)
    return effect_of_revoking(
        grant.permission_sets,
        [g.permission_sets for g in others],
        managed.origin if managed else None,
    )


async def revocation_failed(
    repo: RequestRepository, policy: Policy, revocation: AccessRequest, error: SalesforceError
) -> WillRetry | NeedsAdmin | Skipped:
    """A failed deactivation call: retry later, or hand it to the admins."""
    retried = await schedule_retry(
        repo,
        revocation,
        error,
        policy,
        working=State.DEPROVISIONING,
        back_to=State.REQUESTED,
        action="deprovisioning_failed",
    )
    if retried is not None:
        return retried
    attempt = revocation.attempts + 1
    moved = await repo.transition(
        revocation.id,
        expected=State.DEPROVISIONING,
        to=State.BLOCKED,
        actor="bot",
        action="deprovisioning_failed",
        changes={
            "attempts": attempt,
            "needs_admin_reason": problem_of(error),
            "last_error": f"{error.human} {error.raw_message}".strip(),
            "claimed_by": None,
            "claimed_until": None,
        },
        detail={"error": type(error).__name__, "salesforce": error.raw_message},
        touch=False,
    )
    if moved is None:
        return Skipped(request_id=revocation.id, why="state changed while deprovisioning")
    return NeedsAdmin(
        request=moved,
        problem=problem_of(error),
        human=error.human,
        fix=error.fix,
        raw=error.raw_message,
    )
