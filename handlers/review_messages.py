"""Each reviewer's one review message: posted once, then updated in place (chat.update)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from handlers.delivery import SlackDelivery
from handlers.flows.review_close import ClosedCampaign
from handlers.policy import Policy
from handlers.views.message import SlackMessage
from handlers.views.review import (
    build_review_message,
    build_review_reminder,
    build_review_summary,
)
from storage.db import Clock
from storage.models import MessageRef
from storage.review_models import Campaign, ReviewItem, ReviewMessage
from storage.reviews import Reviews as ReviewStore

log = logging.getLogger(__name__)

PURPOSE = "review"


class ReviewMessenger:
    """Posts, pages and updates review messages; reminders and the closing summary."""

    def __init__(
        self,
        delivery: SlackDelivery,
        store: ReviewStore,
        policy: Callable[[], Policy],
        clock: Clock,
    ) -> None:
        self._delivery = delivery
        self._store = store
        self._policy = policy
        self._clock = clock

    async def show(self, campaign: Campaign, reviewer: str, page: int | None = None) -> bool:
        """Post the reviewer's message, or update it in place (at ``page`` when given).

        False when Slack did not take it now (the next tick tries again).
        """
        app = self._policy().application(campaign.application)
        if app is None:
            return False
        saved = await self._store.message(campaign.id, reviewer)
        current = saved or ReviewMessage(campaign_id=campaign.id, reviewer=reviewer)
        page = current.page if page is None else page
        if current.escalated:
            every = await self._store.items(campaign.id)
            items = [i for i in every if i.escalated_in(campaign)]
        else:
            items = await self._store.items(campaign.id, reviewer=reviewer)
        built = build_review_message(campaign, app, items, page, escalated=current.escalated)
        if current.channel and current.ts:
            ref = MessageRef(
                request_id=campaign.id,
                purpose=PURPOSE,
                channel=current.channel,
                ts=current.ts,
                recipient=current.member,
            )
            updated = await self._delivery.update(ref, built)
            if page != current.page:
                await self._store.save_message(current.model_copy(update={"page": page}))
            return updated
        posted = await self._delivery.post(current.member, built)
        if posted is None:
            # Queued in the outbox: it goes out later, and the reviewer's first click on it
            # tells where it landed (``seen_at``). Marked, so it is not posted twice.
            await self._store.save_message(current.model_copy(update={"channel": current.member}))
            return False
        channel, ts = posted
        await self._store.save_message(
            ReviewMessage(
                campaign_id=campaign.id, reviewer=reviewer, channel=channel, ts=ts, page=page
            )
        )
        return True

    async def post_missing(self, campaign: Campaign) -> int:
        """Post the campaign's messages not posted yet (a campaign just opened)."""
        posted = 0
        for saved in await self._store.messages(campaign.id):
            if saved.channel is None and await self.show(campaign, saved.reviewer):
                posted += 1
        return posted

    async def post_unposted(self) -> int:
        """Post every message due and not posted yet (after a restart; escalated lines)."""
        posted = 0
        for saved in await self._store.unposted():
            campaign = await self._store.get(saved.campaign_id)
            if campaign is not None and await self.show(campaign, saved.reviewer):
                posted += 1
        return posted

    async def show_line(self, campaign: Campaign, item: ReviewItem) -> None:
        """Update the messages showing ``item``: its reviewer's, and the admins' if escalated."""
        await self.show(campaign, item.reviewer)
        if item.escalated_in(campaign):
            for saved in await self._store.messages(campaign.id):
                if saved.escalated:
                    await self.show(campaign, saved.reviewer)

    async def seen_at(self, campaign: Campaign, reviewer: str, channel: str, ts: str) -> None:
        """A click came from the reviewer's message at ``channel``/``ts``: update that one."""
        saved = await self._store.message(campaign.id, reviewer)
        if saved is not None and saved.ts is None:
            await self._store.save_message(saved.model_copy(update={"channel": channel, "ts": ts}))

    async def refresh_all(self, campaign: Campaign) -> None:
        """Update every reviewer's message (a campaign closed, lines decided by the policy)."""
        for saved in await self._store.messages(campaign.id):
            await self.show(campaign, saved.reviewer)

    async def remind(self, campaign: Campaign) -> int:
        """Remind each reviewer with lines left; how many were reminded."""
        app = self._policy().application(campaign.application)
        if app is None:
            return 0
        waiting: dict[str, int] = {}
        for item in await self._store.items(campaign.id):
            if item.decision is None and item.outcome is None:
                waiting[item.reviewer] = waiting.get(item.reviewer, 0) + 1
        for reviewer, count in waiting.items():
            await self._post(reviewer, build_review_reminder(campaign, app, count))
        return len(waiting)

    async def summarise(self, closed: ClosedCampaign) -> None:
        """The closing summary, to each admin of the application."""
        app = self._policy().application(closed.campaign.application)
        if app is None:
            return
        summary = build_review_summary(closed.campaign, app, closed.items, self._clock())
        for admin in app.admins:
            await self._post(admin, summary)

    async def _post(self, channel: str, message: SlackMessage) -> None:
        if await self._delivery.post(channel, message) is None:
            log.info("a review message to %s waits in the outbox", channel)
