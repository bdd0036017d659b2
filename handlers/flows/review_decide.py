"""A line of an access review decided: kept, or revoked through the one revocation path.

Only the line's reviewer decides it (the policy does at the deadline, as ``bot``). A kept
user that no grant explained becomes managed: adopted, with a grant its reviewer owns.
Revoking goes through ``request_revocation``; the converger then changes Salesforce.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from handlers.flows.ports import SalesforceGateway
from handlers.flows.revoke import RevokeSource, request_revocation, revocation_effect
from handlers.policy import Application
from salesforce.errors import SalesforceError
from salesforce.models import Catalog
from storage.models import AccessRequest, Baseline, Kind, NewRequest, State
from storage.requests import RequestRepository
from storage.review_models import Campaign, CampaignState, Decision, Outcome, ReviewItem
from storage.reviews import Reviews as ReviewStore

BOT = "bot"


class ReviewRefusal(StrEnum):
    """Why a click on a review line changed nothing."""

    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    ADMINS_ONLY = "admins_only"  # an escalated line: only the application's admins decide it
    OWN_ACCESS = "own_access"
    ALREADY_DECIDED = "already_decided"
    CLOSED = "closed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReviewRefused(_Frozen):
    """The click was refused; ``item`` is the line as it is."""

    reason: ReviewRefusal
    item: ReviewItem | None = None


class LineDecided(_Frozen):
    """The line as decided and settled, and the revocation it opened (to converge now)."""

    item: ReviewItem
    revocation: AccessRequest | None = None


class ReviewContext(_Frozen):
    """What carrying out a decision needs besides the stores."""

    app: Application
    catalog: Catalog


def _check(
    campaign: Campaign | None, item: ReviewItem, actor: str, app: Application
) -> ReviewRefusal | None:
    if campaign is not None and item.outcome is Outcome.ESCALATED and item.decision is None:
        # Nobody answered by the deadline: the application's admins decide it now.
        if actor not in app.admins:
            return ReviewRefusal.ADMINS_ONLY
        return ReviewRefusal.OWN_ACCESS if item.subject_id == actor else None
    if campaign is None or campaign.state is not CampaignState.OPEN:
        return ReviewRefusal.CLOSED
    if actor != item.reviewer:
        return ReviewRefusal.NOT_YOURS
    if item.subject_id == actor:
        return ReviewRefusal.OWN_ACCESS
    if item.decision is not None or item.outcome is not None:
        return ReviewRefusal.ALREADY_DECIDED
    return None


async def decide_line(
    store: ReviewStore,
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    *,
    item_id: str,
    actor: str,
    decision: Decision,
    subject_id: str | None = None,
) -> LineDecided | ReviewRefused:
    """The reviewer's Keep or Revoke on one line; refused unless it is theirs and open.

    A line escalated to the admins (nobody answered by the deadline) is any admin's to decide,
    but never their own.
    """
    item = await store.item(item_id)
    if item is None:
        return ReviewRefused(reason=ReviewRefusal.NOT_FOUND)
    refusal = _check(await store.get(item.campaign_id), item, actor, context.app)
    if refusal is not None:
        if refusal in (
            ReviewRefusal.NOT_YOURS,
            ReviewRefusal.OWN_ACCESS,
            ReviewRefusal.ADMINS_ONLY,
        ):
            # Anyone who sees a button can click it; a refused attempt is worth a trace.
            await repo.audit.append(
                request_id=item.grant_id,
                actor=actor,
                action="review_refused",
                detail={"item": item.id, "why": refusal.value, "reviewer": item.reviewer},
            )
        return ReviewRefused(reason=refusal, item=item)
    extra = {"escalated": True} if item.outcome is Outcome.ESCALATED else None
    decided = await store.decide(item, decision, actor=actor, extra=extra)
    if decided is None:
        return ReviewRefused(reason=ReviewRefusal.ALREADY_DECIDED, item=await store.item(item_id))
    return await carry_out(store, repo, gateway, context, decided, subject_id=subject_id)


async def carry_out(
    store: ReviewStore,
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    item: ReviewItem,
    *,
    subject_id: str | None = None,
) -> LineDecided:
    """Do what a recorded decision says (idempotent: a restart runs it again safely)."""
    actor = item.decided_by or BOT
    grant = await repo.get(item.grant_id) if item.grant_id else None
    if grant is None and item.drift:
        owner = subject_id or item.subject_id
        grant = await adopt(repo, gateway, context, item, actor=actor, subject_id=owner)
        if grant is None:
            settled = await store.settle(item.id, outcome=Outcome.ENDED)
            return LineDecided(item=settled or item)
        if item.decision is Decision.KEEP:
            settled = await store.settle(item.id, outcome=Outcome.ADOPTED, grant_id=grant.id)
            return LineDecided(item=settled or item)
    if item.decision is Decision.KEEP or grant is None:
        # A grant that ended meanwhile (expired, revoked elsewhere) is not kept by a click.
        holding = grant is not None and grant.state is State.ACTIVE
        outcome = Outcome.KEPT if holding else Outcome.ENDED
        settled = await store.settle(item.id, outcome=outcome)
        return LineDecided(item=settled or item)
    effect = await revocation_effect(repo, grant)
    opened = await request_revocation(
        repo,
        grant,
        actor=actor,
        source=RevokeSource.REVIEW,
        reason=f"Not confirmed in access review {item.campaign_id}.",
    )
    if not isinstance(opened, AccessRequest) or opened.kind is not Kind.REVOKE:
        settled = await store.settle(item.id, outcome=Outcome.ENDED, grant_id=grant.id)
        return LineDecided(item=settled or item)
    kind = "deactivate" if effect.deactivates else "restore" if effect.restores else "reduce"
    if item.drift and effect.restores:
        kind = "deactivate"  # adopted by the review with an inactive baseline
    settled = await store.settle(
        item.id,
        outcome=Outcome.REVOKING,
        grant_id=grant.id,
        revocation_id=opened.id,
        effect=kind,
    )
    return LineDecided(item=settled or item, revocation=opened)


async def adopt(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    item: ReviewItem,
    *,
    actor: str,
    subject_id: str | None,
) -> AccessRequest | None:
    """Make a user no grant explained a managed one, with a grant for what it holds now.

    Its baseline is the user as it is, but inactive: when its last grant ends, the user is
    deactivated and keeps the sets it had. None when the user is gone or inactive already.
    """
    if item.sf_user_id is None:
        return None
    try:
        found = await gateway.read_user(item.sf_user_id)
    except SalesforceError:
        return None
    if found is None or not found.is_active:
        return None
    catalog = context.catalog
    profile = next((p for p in catalog.profiles if p.id == found.profile_id), None)
    role = next((r for r in catalog.roles if r.id == found.role_id), None)
    license_name = next(
        (lic.name for lic in catalog.licenses if profile and lic.id == profile.license_id), None
    )
    owner = subject_id or actor
    await repo.managed.adopt_active(
        found.username,
        sf_user_id=found.id,
        subject_id=owner,
        baseline=Baseline(
            is_active=False,
            frozen=found.frozen,
            profile_id=found.profile_id,
            role_id=found.role_id,
            assignments=tuple(sorted(found.assignments)),
        ),
        actor=actor,
        detail={"review_item": item.id},
    )
    grant, _ = await repo.create(
        NewRequest(
            application=context.app.name,
            state=State.ACTIVE,
            requester_id=actor,
            subject_id=owner,
            subject_email=found.email or "",
            subject_name=item.subject_name or found.username,
            license=license_name,
            profile=profile.name if profile else None,
            role=role.developer_name if role else None,
            reason=f"Kept in access review {item.campaign_id}.",
            sf_user_id=found.id,
            sf_username=found.username,
        ),
        actor=actor,
        action="review_adopted",
        idempotency_key=f"review:{item.id}",
        detail={"item": item.id, "user": found.username},
    )
    return grant
