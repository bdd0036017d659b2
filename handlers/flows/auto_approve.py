"""Auto-approval: a low-tier request whose rule says so is approved by the policy, not a person."""

from __future__ import annotations

from handlers.approval_rules import Tier
from handlers.flows.approvals import request_tier
from handlers.flows.decide import record_decision
from handlers.flows.outcomes import Decided
from handlers.policy import Application
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

# Who decided, in the request and its audit row: the policy, named as such.
POLICY_ACTOR = "policy"
RULE = "tiers.low.auto_approve"


def may_auto_approve(app: Application, request: AccessRequest) -> bool:
    """Whether ``request`` is low-tier, waiting, and its application's rule approves it."""
    tier = request_tier(request)
    return (
        tier is Tier.LOW
        and app.rule_for(tier).auto_approve
        and request.state is State.PENDING_APPROVAL
    )


async def auto_approve(
    repo: RequestRepository, app: Application, request: AccessRequest
) -> Decided | None:
    """Approve ``request`` by rule when it may be; None leaves it to the owners."""
    if not may_auto_approve(app, request):
        return None
    outcome = await record_decision(
        repo,
        request,
        actor=POLICY_ACTOR,
        approve=True,
        action="auto_approved",
        detail={"rule": RULE, "tier": Tier.LOW.value, "application": app.name},
    )
    return outcome if isinstance(outcome, Decided) else None
