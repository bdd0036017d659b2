"""Break-glass: a member of the policy's group approves their own high-tier request, briefly.

The approval is the ordinary decision (so the converger provisions at once), with the written
reason and the rule in its audit row. An owner then reviews it: Confirm, or Revoke now. A
review nobody answers in time goes to the admins.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from handlers.approval_rules import BreakGlass, Tier
from handlers.durations import duration_label
from handlers.flows.approvals import request_tier
from handlers.flows.decide import record_decision
from handlers.flows.eligibility import GroupMembers
from handlers.flows.outcomes import Decided, Refused
from handlers.flows.revoke_paths import revoke_grant
from handlers.policy import Application, Policy
from storage.break_glass import BreakGlassReviews
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository

REASON_MIN = 10
RULE = "break_glass"


class BreakGlassRefused(BaseModel):
    """Why break-glass is not open to this person for this request, in their words."""

    model_config = ConfigDict(frozen=True)

    text: str
    request: AccessRequest | None = None


class Reviewed(BaseModel):
    """An owner's review of break-glass access: confirmed, or revoked (``revocation`` opened)."""

    model_config = ConfigDict(frozen=True)

    request: AccessRequest
    confirmed: bool
    by: str
    revocation: AccessRequest | None = None


async def in_group(rule: BreakGlass, groups: GroupMembers, person: str) -> bool:
    """Whether ``person`` is listed in the break-glass group, directly or by user group."""
    if person in rule.group:
        return True
    for group in (g for g in rule.group if g.startswith("S")):
        if person in await groups.members(group):
            return True
    return False


async def why_not(
    app: Application | None, groups: GroupMembers, request: AccessRequest | None, actor: str
) -> str | None:
    """Why ``actor`` may not break glass on ``request`` (None: they may)."""
    if request is None or request.kind is not Kind.GRANT or app is None:
        return "I can't find this request any more."
    rule = app.break_glass
    if rule is None:
        return f"{app.title} has no break-glass rule: the owners decide this request."
    if actor != request.requester_id or actor != request.subject_id:
        return "Break-glass is only for your own request, for your own access."
    if request.state is not State.PENDING_APPROVAL:
        return "This request is no longer waiting for approval."
    if request_tier(request) is not Tier.HIGH:
        return "Break-glass is only for high-risk requests: the owners decide this one."
    if not await in_group(rule, groups, actor):
        return (
            "Only members of the break-glass group may approve their own request. "
            "The owners decide this one."
        )
    if request.duration is None or request.duration > rule.max_duration:
        asked = duration_label(request.duration).lower()
        return (
            f"Break-glass access lasts at most {duration_label(rule.max_duration)}; this request "
            f"asks for {asked}. Ask again for {duration_label(rule.max_duration)} or less."
        )
    return None


async def offer_check(
    repo: RequestRepository, policy: Policy, groups: GroupMembers, *, request_id: str, actor: str
) -> tuple[AccessRequest, Application, BreakGlass] | BreakGlassRefused:
    """The request, application and rule when ``actor`` may break glass on it; else why not."""
    request = await repo.get(request_id)
    app = policy.application(request.application) if request else None
    why = await why_not(app, groups, request, actor)
    if why is not None:
        if request is not None:
            await _audit_refused(repo, request.id, actor, why)
        return BreakGlassRefused(text=why, request=request)
    assert request is not None and app is not None and app.break_glass is not None
    return request, app, app.break_glass


async def _audit_refused(repo: RequestRepository, request_id: str, actor: str, why: str) -> None:
    await repo.audit.append(
        request_id=request_id, actor=actor, action="break_glass_refused", detail={"why": why}
    )


async def break_glass(
    repo: RequestRepository,
    policy: Policy,
    groups: GroupMembers,
    *,
    request_id: str,
    actor: str,
    reason: str,
) -> Decided | BreakGlassRefused:
    """Approve ``actor``'s own high-tier request now, if the break-glass rule lets them."""
    request = await repo.get(request_id)
    app = policy.application(request.application) if request else None
    why = await why_not(app, groups, request, actor)
    reason = reason.strip()
    if why is None and len(reason) < REASON_MIN:
        why = f"Say what the emergency is (at least {REASON_MIN} characters)."
    if why is not None:
        if request is not None:
            await _audit_refused(repo, request.id, actor, why)
        return BreakGlassRefused(text=why, request=request)
    assert request is not None and app is not None and app.break_glass is not None
    review_by = repo.clock() + app.break_glass.review_within
    outcome = await record_decision(
        repo,
        request,
        actor=actor,
        approve=True,
        note=reason,
        action="break_glass_approved",
        detail={"rule": RULE, "review_by": review_by.isoformat()},
        changes={"review_due_at": review_by},
    )
    if isinstance(outcome, Refused):
        return BreakGlassRefused(text="This request is no longer waiting for approval.")
    return outcome


def may_review(app: Application | None, request: AccessRequest, actor: str) -> bool:
    """Owners and admins review break-glass access, never its holder."""
    if app is None or actor in (request.requester_id, request.subject_id):
        return False
    return app.is_owner(actor) or app.is_admin(actor)


async def review(
    repo: RequestRepository,
    reviews: BreakGlassReviews,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    confirm: bool,
) -> Reviewed | BreakGlassRefused:
    """Confirm break-glass access, or revoke it now; the first review wins."""
    request = await repo.get(request_id)
    app = policy.application(request.application) if request else None
    if request is None or not may_review(app, request, actor):
        return BreakGlassRefused(
            text="Only the owners and admins of this application review break-glass access, "
            "and never their own.",
            request=request,
        )
    action = "break_glass_confirmed" if confirm else "break_glass_revoked"
    closed = await reviews.close(request_id, actor=actor, action=action)
    if closed is None:
        return BreakGlassRefused(
            text="This break-glass access was already reviewed.", request=request
        )
    if confirm:
        return Reviewed(request=closed, confirmed=True, by=actor)
    opened = await revoke_grant(
        repo,
        policy,
        grant_id=request_id,
        actor=actor,
        reason="Break-glass access revoked on review.",
    )
    revocation = opened if isinstance(opened, AccessRequest) else None
    return Reviewed(request=closed, confirmed=False, by=actor, revocation=revocation)
