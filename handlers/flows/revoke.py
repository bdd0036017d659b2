"""Taking access away: one flow for every path (owner, self, offboarding, expiry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum

from handlers.flows.outcomes import (
    NeedsAdmin,
    RefusalReason,
    Refused,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import problem_of
from handlers.flows.retry import schedule_retry
from handlers.policy import Policy
from salesforce.errors import SalesforceError
from salesforce.models import Deactivated, DeactivationBlocked, DeactivationOutcome
from storage.models import AccessRequest, Kind, NewRequest, State
from storage.requests import RequestRepository

OPEN_REVOCATION = (State.REQUESTED, State.DEPROVISIONING, State.BLOCKED)
# A grant not yet provisioned is cancelled rather than revoked.
CANCELLABLE = (State.PENDING_APPROVAL, State.APPROVED, State.NEEDS_ADMIN)


class RevokeSource(StrEnum):
    """Who or what asked for the revocation."""

    OWNER = "owner"
    ADMIN = "admin"
    SELF = "self"
    OFFBOARDING = "offboarding"
    EXPIRY = "expiry"
    RECONCILIATION = "reconciliation"


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
    if grant.state is not State.ACTIVE:
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=grant)
    existing = await repo.find(grant_id=grant.id, kind=Kind.REVOKE, states=OPEN_REVOCATION)
    if existing:
        return existing[0]
    revocation, _ = await repo.create(
        NewRequest.following(
            grant,
            kind=Kind.REVOKE,
            state=State.REQUESTED,
            requester_id=actor,
            reason=reason,
            next_attempt_at=repo.clock(),
        ),
        actor=actor,
        action="revocation_requested",
        idempotency_key=f"revoke:{grant.id}",
        detail={"source": source.value, "reason": reason},
    )
    return revocation


async def start_revocation(
    repo: RequestRepository, revocation: AccessRequest, *, worker: str, lease: timedelta
) -> AccessRequest | None:
    """Claim a requested (or blocked, on retry) revocation for this worker."""
    if revocation.state is State.DEPROVISIONING and revocation.claimed_by == worker:
        return revocation
    now = repo.clock()
    return await repo.transition(
        revocation.id,
        expected=(State.REQUESTED, State.BLOCKED),
        to=State.DEPROVISIONING,
        actor="bot",
        action="deprovisioning_started",
        changes={"claimed_by": worker, "claimed_until": now + lease},
    )


async def run_revocation(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    revocation: AccessRequest,
    *,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
) -> RevokedAccess | RevocationBlocked | WillRetry | NeedsAdmin | Skipped:
    """Deactivate the grant's Salesforce user and close the grant, or record why not."""
    claimed = await start_revocation(repo, revocation, worker=worker, lease=lease)
    if claimed is None:
        return Skipped(request_id=revocation.id, why="another worker took it")
    others = await _other_active_grants(repo, claimed)
    if others or not claimed.sf_user_id:
        return await finish_revocation(repo, claimed, None, kept_for=tuple(g.id for g in others))
    try:
        outcome = await gateway.deactivate(claimed.sf_user_id)
    except SalesforceError as error:
        return await revocation_failed(repo, policy, claimed, error)
    return await record_deactivation(repo, claimed, outcome)


async def record_deactivation(
    repo: RequestRepository, revocation: AccessRequest, outcome: DeactivationOutcome
) -> RevokedAccess | RevocationBlocked | Skipped:
    """Store what Salesforce answered for one revocation (used by single and bulk paths)."""
    if isinstance(outcome, Deactivated):
        return await finish_revocation(repo, revocation, outcome)
    return await _blocked(repo, revocation, outcome)


async def finish_revocation(
    repo: RequestRepository,
    revocation: AccessRequest,
    outcome: Deactivated | None,
    *,
    kept_for: Sequence[str] = (),
) -> RevokedAccess | Skipped:
    """Close the grant first, then the revocation: a crash in between re-runs harmlessly."""
    grant = None
    if revocation.grant_id:
        grant = await repo.transition(
            revocation.grant_id,
            expected=State.ACTIVE,
            to=State.REVOKED,
            actor="bot",
            action="revoked",
            changes={"claimed_by": None, "claimed_until": None},
            detail={"revocation": revocation.id, "kept_active_for": list(kept_for)},
        )
        grant = grant or await repo.get(revocation.grant_id)
    done = await repo.transition(
        revocation.id,
        expected=State.DEPROVISIONING,
        to=State.DONE,
        actor="bot",
        action="deactivated" if outcome is not None else "revoked_without_deactivation",
        changes={"claimed_by": None, "claimed_until": None, "last_error": None},
        detail={
            "already_inactive": bool(outcome and outcome.already_inactive),
            "removed_assignments": outcome.removed_assignments if outcome else 0,
            "kept_active_for": list(kept_for),
        },
    )
    if done is None:
        return Skipped(request_id=revocation.id, why="state changed while deprovisioning")
    return RevokedAccess(
        revocation=done,
        grant=grant,
        already_inactive=bool(outcome and outcome.already_inactive),
        kept_active_for=tuple(kept_for),
    )


async def _blocked(
    repo: RequestRepository, revocation: AccessRequest, blocked: DeactivationBlocked
) -> RevocationBlocked | Skipped:
    moved = await repo.transition(
        revocation.id,
        expected=State.DEPROVISIONING,
        to=State.BLOCKED,
        actor="bot",
        action="deactivation_blocked",
        changes={
            "needs_admin_reason": blocked.blocker.value,
            "last_error": blocked.raw_message,
            "claimed_by": None,
            "claimed_until": None,
        },
        detail={
            "blocker": blocked.blocker.value,
            "salesforce": blocked.raw_message,
            "frozen": blocked.frozen,
        },
    )
    if moved is None:
        return Skipped(request_id=revocation.id, why="state changed while deprovisioning")
    grant = await repo.get(revocation.grant_id) if revocation.grant_id else None
    return RevocationBlocked(revocation=moved, grant=grant, blocked=blocked)


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


async def _other_active_grants(
    repo: RequestRepository, revocation: AccessRequest
) -> list[AccessRequest]:
    """Other active grants on the same Salesforce user keep it active."""
    if not revocation.sf_user_id:
        return []
    active = await repo.find(
        states=[State.ACTIVE], kind=Kind.GRANT, subject_id=revocation.subject_id
    )
    return [
        g for g in active if g.id != revocation.grant_id and g.sf_user_id == revocation.sf_user_id
    ]
