"""Approve or deny: only owners, never on their own request, and the first decision wins."""

from __future__ import annotations

from handlers.flows.approval_scope import CHANGED_AFTER_APPROVAL
from handlers.flows.extend import cancel_stale_extension, extends_ended_grant
from handlers.flows.outcomes import Decided, RefusalReason, Refused
from handlers.flows.provision import ProvisionStart, begin_provisioning
from handlers.policy import Policy
from storage.models import AccessRequest, Kind, ManagedUser, State
from storage.requests import RequestRepository


async def decide(
    repo: RequestRepository,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    approve: bool,
    note: str | None = None,
    start: ProvisionStart | None = None,
) -> Decided | Refused:
    """Record ``actor``'s decision if they may make it and nobody decided first."""
    request = await repo.get(request_id)
    refused = check_decider(policy, request, actor)
    if refused is not None:
        if request is not None:
            await audit_refusal(repo, request_id, actor, refused.reason.value)
        return refused
    assert request is not None
    return await record_decision(
        repo, request, actor=actor, approve=approve, note=note, start=start
    )


async def record_decision(
    repo: RequestRepository,
    request: AccessRequest,
    *,
    actor: str,
    approve: bool,
    note: str | None = None,
    action: str | None = None,
    detail: dict[str, object] | None = None,
    changes: dict[str, object] | None = None,
    start: ProvisionStart | None = None,
) -> Decided | Refused:
    """Approve or deny ``request`` for ``actor``, who may decide it: the first decision wins.

    ``action`` and ``detail`` name a decision made by a rule rather than a click. ``start``:
    an approval starts provisioning (and leases the user) in its own transaction.
    """
    request_id = request.id
    if await extends_ended_grant(repo, request):
        # Approving it would bring back access that was taken away: it ends here instead.
        cancelled = await cancel_stale_extension(repo, request, actor=actor)
        return Refused(
            reason=RefusalReason.GRANT_ENDED, request=cancelled or await repo.get(request_id)
        )
    if approve and await _changed_by(repo, request_id) == actor:
        # An admin who is also an owner does not approve their own change of the request.
        await audit_refusal(repo, request_id, actor, RefusalReason.OWN_CHANGE.value)
        return Refused(reason=RefusalReason.OWN_CHANGE, request=request)
    now = repo.clock()
    to = State.APPROVED if approve else State.DENIED
    changes = {
        **(changes or {}),
        "decided_by": actor,
        "decided_at": now,
        "decision_note": note,
    }
    if approve:
        changes["next_attempt_at"] = now
    audited = dict(detail or {})
    if note:
        audited["note"] = note
    started: tuple[AccessRequest | None, ManagedUser | None] = (None, None)
    async with repo.together() as unit:  # the decision and the start of provisioning at once
        updated = await unit.transition(
            request_id,
            expected=State.PENDING_APPROVAL,
            to=to,
            actor=actor,
            action=action or ("approved" if approve else "denied"),
            changes=changes,
            detail=audited or None,
        )
        if updated is not None and approve and start is not None:
            started = await begin_provisioning(unit, updated, start)
    if updated is None:
        current = await repo.get(request_id)
        return Refused(
            reason=RefusalReason.ALREADY_DECIDED,
            request=current,
            decided_by=current.decided_by if current else None,
        )
    return Decided(request=updated, approved=approve, provisioning=started[0], leased=started[1])


def check_decider(policy: Policy, request: AccessRequest | None, actor: str) -> Refused | None:
    """Why ``actor`` may not decide ``request`` now, or None when they may."""
    if request is None or request.kind is not Kind.GRANT:
        return Refused(reason=RefusalReason.NOT_FOUND)
    app = policy.application(request.application)
    if app is None or not app.is_owner(actor):
        return Refused(reason=RefusalReason.NOT_OWNER, request=request)
    if actor in (request.requester_id, request.subject_id):
        return Refused(reason=RefusalReason.OWN_REQUEST, request=request)
    if request.state is not State.PENDING_APPROVAL:
        return Refused(
            reason=RefusalReason.ALREADY_DECIDED, request=request, decided_by=request.decided_by
        )
    return None


async def _changed_by(repo: RequestRepository, request_id: str) -> str | None:
    """Who last changed the request beyond an approval (it then came back to the owners)."""
    entries = await repo.audit.for_request(request_id)
    return next((e.actor for e in reversed(entries) if e.action == CHANGED_AFTER_APPROVAL), None)


async def audit_refusal(repo: RequestRepository, request_id: str, actor: str, why: str) -> None:
    """Refused clicks are recorded too: they are how forged or mistaken decisions show up."""
    await repo.audit.append(
        request_id=request_id, actor=actor, action="decision_refused", detail={"why": why}
    )
