"""Submitting a grant request: check the draft, store it, and say who must decide."""

from __future__ import annotations

from handlers.approval_rules import Tier
from handlers.durations import audit_duration
from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import RequestDraft, check_draft, missing_for_provisioning
from handlers.flows.outcomes import Ineligible, Rejected, Submitted
from handlers.flows.people import Person, ineligibility
from handlers.flows.tiers import TierVerdict, duration_error
from handlers.policy import Application
from storage.models import NewRequest, State
from storage.requests import RequestRepository

STANDARD = TierVerdict(tier=Tier.STANDARD)


async def submit_request(
    repo: RequestRepository,
    app: Application,
    choices: RequestChoices,
    draft: RequestDraft,
    *,
    requester: Person,
    subject: Person,
    idempotency_key: str | None = None,
    verdict: TierVerdict = STANDARD,
) -> Submitted | Rejected | Ineligible:
    """Store a valid draft as pending approval; a repeated key returns the first request.

    A subject Salesforce could not be given a user for (no email, deactivated, a bot) is
    refused here, not after approval, with the application's admins to ask. ``verdict`` is
    the draft's risk tier: its rule may cap the duration.
    """
    errors = check_draft(draft, choices)
    too_long = duration_error(app, verdict.tier, draft.duration)
    if too_long and "duration" not in errors:
        errors["duration"] = too_long
    if errors:
        return Rejected(errors=errors)
    reason = ineligibility(subject)
    if reason is not None:
        return Ineligible(subject_id=subject.id, reason=reason, admins=app.admins)
    return await store_request(
        repo,
        app,
        draft,
        requester=requester,
        subject=subject,
        idempotency_key=idempotency_key,
        verdict=verdict,
    )


async def store_request(
    repo: RequestRepository,
    app: Application,
    draft: RequestDraft,
    *,
    requester: Person,
    subject: Person,
    idempotency_key: str | None = None,
    action: str = "submitted",
    verdict: TierVerdict = STANDARD,
) -> Submitted:
    """Store a draft as it is; one that Salesforce could not act on goes to the admins."""
    missing = missing_for_provisioning(
        draft.license, draft.profile, draft.role, require_role=app.require_role
    )
    state = State.NEEDS_ADMIN if missing else State.PENDING_APPROVAL
    new = NewRequest(
        application=app.name,
        state=state,
        requester_id=requester.id,
        subject_id=subject.id,
        subject_email=subject.email,
        subject_name=subject.display,
        license=draft.license,
        profile=draft.profile,
        role=draft.role,
        permission_sets=draft.permission_sets,
        duration=draft.duration,
        reason=(draft.reason or "").strip(),
        needs_admin_reason=f"incomplete: missing {', '.join(missing)}" if missing else None,
        tier=verdict.tier.value,
    )
    detail: dict[str, object] = {
        "license": draft.license,
        "profile": draft.profile,
        "role": draft.role,
        "permission_sets": list(draft.permission_sets),
        "duration": audit_duration(draft.duration),
    }
    if subject.id != requester.id:
        detail["on_behalf_of"] = subject.id
    if missing:
        detail["missing"] = missing
    if verdict.tier is not Tier.STANDARD:
        detail["tier"] = verdict.tier.value
    if verdict.powerful:
        detail["powerful"] = list(verdict.powerful)
    request, created = await repo.create(
        new, actor=requester.id, action=action, idempotency_key=idempotency_key, detail=detail
    )
    return Submitted(request=request, created=created)
