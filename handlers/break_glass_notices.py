"""Who hears of break-glass access: the offer, everyone at once, the review and its escalation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.approval_rules import Tier
from handlers.delivery import Keep, SlackDelivery
from handlers.flows.approvals import request_tier
from handlers.flows.break_glass import Reviewed, in_group
from handlers.flows.eligibility import GroupMembers
from handlers.flows.labels import Labels
from handlers.policy import Application, Policy
from handlers.views.break_glass import (
    build_break_glass_notice,
    build_break_glass_offer,
    build_break_glass_offer_closed,
)
from handlers.views.message import SlackMessage
from handlers.views.text import mention
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

OFFER = "break_glass_offer"
REVIEW = "break_glass_review"  # to the owners, with Confirm and Revoke now
FYI = "break_glass_fyi"  # to the admins and the security channel
OVERDUE = "break_glass_overdue"  # to the admins, when nobody reviewed in time


def closed_offer(purpose: str, request: AccessRequest, app: Application) -> SlackMessage | None:
    """What a decided request's break-glass offer becomes, or None for any other message.

    Decided by someone else (or expired): the offer's button goes. A break-glass approval
    rewrote the offer itself.
    """
    if purpose != OFFER or request.decided_by == request.requester_id:
        return None
    return build_break_glass_offer_closed(request, app)


class BreakGlassNotices:
    """Posts and updates the break-glass messages of requests."""

    def __init__(
        self,
        delivery: SlackDelivery,
        repo: RequestRepository,
        policy: Callable[[], Policy],
        groups: GroupMembers,
        *,
        labels: Callable[[], Awaitable[Labels]],
    ) -> None:
        self._delivery = delivery
        self._repo = repo
        self._policy = policy
        self._groups = groups
        self._labels = labels

    def _app(self, request: AccessRequest) -> Application | None:
        return self._policy().application(request.application)

    async def offer(self, request: AccessRequest) -> None:
        """Offer break-glass to a group member whose own high-tier request waits."""
        app = self._app(request)
        rule = app.break_glass if app else None
        if (
            app is None
            or rule is None
            or request.state is not State.PENDING_APPROVAL
            or request_tier(request) is not Tier.HIGH
            or request.requester_id != request.subject_id
            or not await in_group(rule, self._groups, request.requester_id)
        ):
            return
        await self._delivery.post(
            request.requester_id,
            build_break_glass_offer(request, app, rule),
            keep=Keep(request.id, OFFER, request.requester_id),
        )

    async def used(self, request: AccessRequest) -> None:
        """Tell the owners (to review), the admins and the security channel, at once."""
        app = self._app(request)
        if app is None:
            return
        shown = (await self._labels()).shown(request)
        review = build_break_glass_notice(request, app, shown=shown, review=True)
        fyi = build_break_glass_notice(request, app, shown=shown, review=False)
        holder = (request.requester_id, request.subject_id)
        owners = [o for o in app.owners if o not in holder]
        for owner in owners:
            await self._delivery.post(owner, review, keep=Keep(request.id, REVIEW, owner))
        for admin in (a for a in app.admins if a not in holder and a not in owners):
            await self._delivery.post(admin, fyi, keep=Keep(request.id, FYI, admin))
        channel = app.break_glass.security_channel if app.break_glass else None
        if channel:
            await self._delivery.post(channel, fyi, keep=Keep(request.id, FYI, None))
        for ref in await self._repo.messages(request.id, OFFER):
            await self._delivery.update(ref, fyi)

    async def overdue(self, request: AccessRequest) -> None:
        """Nobody reviewed in time: the admins are asked to confirm or revoke."""
        app = self._app(request)
        if app is None:
            return
        shown = (await self._labels()).shown(request)
        ask = build_break_glass_notice(request, app, shown=shown, review=False, overdue=True)
        holder = (request.requester_id, request.subject_id)
        for admin in (a for a in app.admins if a not in holder):
            await self._delivery.post(admin, ask, keep=Keep(request.id, OVERDUE, admin))

    async def reviewed(self, outcome: Reviewed) -> None:
        """Every break-glass message shows the review's result; no buttons are left."""
        request = outcome.request
        app = self._app(request)
        if app is None:
            return
        verb = "confirmed" if outcome.confirmed else "revoked"
        icon = ":white_check_mark:" if outcome.confirmed else ":no_entry:"
        done = build_break_glass_notice(
            request,
            app,
            shown=(await self._labels()).shown(request),
            review=False,
            outcome=f"{icon} {mention(outcome.by)} {verb} this break-glass access.",
        )
        for ref in await self._repo.messages(request.id):
            if ref.purpose in (REVIEW, FYI, OVERDUE):
                await self._delivery.update(ref, done)
