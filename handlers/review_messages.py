"""Each reviewer's one review message: posted once, then updated in place (chat.update)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from handlers.delivery import Keep, SlackDelivery
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
from storage.reviews import REMINDER_PURPOSE
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
        delivery.remember_with(PURPOSE, self._landed)
        delivery.remember_with(REMINDER_PURPOSE, self._reminded)

    async def _landed(self, keep: Keep, channel: str, ts: str) -> None:
        """A review message the outbox posted late: store where it is, so it is updated."""
        if keep.recipient:
            await self._store.message_landed(keep.request_id, keep.recipient, channel, ts)

    async def _reminded(self, keep: Keep, channel: str, ts: str) -> None:
        """A reminder is never updated: nothing to remember of where it landed."""

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
        keep = Keep(campaign.id, PURPOSE, current.reviewer)
        queued = current.model_copy(update={"channel": current.member, "page": page})
        if await self._delivery.restate_queued(keep, built):
            # Waiting in the outbox (a crash may have come before it was marked): it goes out
            # as it is now, and where it lands is stored then. Never posted twice.
            await self._store.save_message(queued)
            return False
        posted = await self._delivery.post(current.member, built, keep=keep)
        if posted is None:
            # Queued in the outbox (where it lands is stored when it goes out, after a restart
            # too), or refused for good. Marked, so it is not posted twice.
            await self._store.save_message(queued)
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

    async def queue_reminders(self, campaign: Campaign) -> int:
        """Record a reminder for each reviewer with lines left, in the outbox with the mark
        that the campaign was reminded (one transaction); how many (0: none, or another
        process recorded them)."""
        app = self._policy().application(campaign.application)
        if app is None:
            return 0
        waiting: dict[str, int] = {}
        for item in await self._store.items(campaign.id):
            if item.decision is None and item.outcome is None:
                waiting[item.reviewer] = waiting.get(item.reviewer, 0) + 1
        reminders = []
        for reviewer, count in waiting.items():
            built = build_review_reminder(campaign, app, count)
            reminders.append((reviewer, built.text, built.blocks))
        if not await self._store.queue_reminders(campaign, reminders):
            return 0
        return len(reminders)

    async def remind(self, campaign: Campaign) -> int:
        """Remind each reviewer with lines left (recorded, then posted by the outbox: each once,
        and after a restart if the process died before); how many were reminded."""
        queued = await self.queue_reminders(campaign)
        if queued:
            await self._delivery.flush()
        return queued

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
