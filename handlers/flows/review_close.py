"""The end of an access review: unanswered lines handled as the policy says, then closed.

Lines whose revocation is under way learn their outcome from the revocation: deactivated,
reduced (sets removed, other grants keep the user) or restored (an adopted user), or blocked.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from handlers.flows.ports import SalesforceGateway
from handlers.flows.review_decide import BOT, LineDecided, ReviewContext, carry_out
from handlers.review_policy import Unanswered
from storage.models import AccessRequest, State
from storage.requests import RequestRepository
from storage.review_models import Campaign, Decision, Outcome, ReviewItem
from storage.reviews import Reviews as ReviewStore

_DONE = {
    "deactivate": Outcome.DEACTIVATED,
    "reduce": Outcome.REDUCED,
    "restore": Outcome.RESTORED,
}


class ClosedCampaign(BaseModel):
    """A campaign just closed: its lines and the revocations the policy opened."""

    model_config = ConfigDict(frozen=True)

    campaign: Campaign
    items: tuple[ReviewItem, ...]
    revocations: tuple[AccessRequest, ...] = ()

    def count(self) -> Counter[str]:
        """Lines per outcome (``undecided`` for none)."""
        return Counter((i.outcome.value if i.outcome else "undecided") for i in self.items)


async def handle_unanswered(
    store: ReviewStore,
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    campaign: Campaign,
) -> list[LineDecided]:
    """Apply the campaign's ``unanswered`` rule to every line nobody decided."""
    rule = Unanswered(campaign.unanswered)
    done: list[LineDecided] = []
    for item in await store.items(campaign.id):
        if item.decision is not None or item.outcome is not None:
            continue
        if rule is Unanswered.ESCALATE:
            settled = await store.settle(item.id, outcome=Outcome.ESCALATED)
            done.append(LineDecided(item=settled or item))
            continue
        decision = Decision.REVOKE if rule is Unanswered.REVOKE else Decision.KEEP
        decided = await store.decide(
            item, decision, actor=BOT, extra={"why": "unanswered", "rule": rule.value}
        )
        if decided is not None:
            done.append(await carry_out(store, repo, gateway, context, decided))
    return done


async def finish_decided(
    store: ReviewStore,
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    campaign: Campaign,
) -> list[LineDecided]:
    """Carry out decisions recorded before a crash stopped their Salesforce side."""
    return [
        await carry_out(store, repo, gateway, context, item)
        for item in await store.items(campaign.id)
        if item.decision is not None and item.outcome is None
    ]


async def close_campaign(
    store: ReviewStore,
    repo: RequestRepository,
    gateway: SalesforceGateway,
    context: ReviewContext,
    campaign: Campaign,
) -> ClosedCampaign | None:
    """Handle the unanswered lines and close (None: another process closed it)."""
    await finish_decided(store, repo, gateway, context, campaign)
    handled = await handle_unanswered(store, repo, gateway, context, campaign)
    items = await store.items(campaign.id)
    closed = ClosedCampaign(
        campaign=campaign,
        items=tuple(items),
        revocations=tuple(d.revocation for d in handled if d.revocation is not None),
    )
    escalated = any(i.outcome is Outcome.ESCALATED for i in items)
    done = await store.close(
        campaign,
        detail={"outcomes": dict(closed.count())},
        escalate_to=context.app.admins if escalated else (),
    )
    if done is None:
        return None
    return closed.model_copy(update={"campaign": done})


async def refresh_outcomes(store: ReviewStore, repo: RequestRepository) -> list[ReviewItem]:
    """Lines whose revocation finished (or was blocked) since: their outcome recorded."""
    changed = []
    for item in await store.revoking():
        revocation = await repo.get(item.revocation_id) if item.revocation_id else None
        if revocation is None:
            continue
        if revocation.state is State.DONE:
            outcome = _DONE.get(item.effect or "", Outcome.REDUCED)
        elif revocation.state is State.BLOCKED:
            outcome = Outcome.BLOCKED
        else:
            continue
        settled = await store.settle(item.id, outcome=outcome)
        if settled is not None:
            changed.append(settled)
    return changed
