"""The access review job the scheduler ticks: start, open, remind, close, follow outcomes.

Every step reads what is due from the database, so a restart mid-campaign picks up where the
last process stopped: a campaign asked for is opened, a message not posted yet is posted, a
decision recorded before its revocation was opened is carried out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from handlers.flows.review_close import close_campaign, finish_decided, refresh_outcomes
from handlers.flows.review_decide import BOT, ReviewContext
from handlers.flows.review_open import collect_lines, open_campaign
from salesforce.errors import SalesforceError
from storage.due import DueWork
from storage.review_models import Campaign, CampaignState

if TYPE_CHECKING:
    from handlers.deps import Deps

log = logging.getLogger(__name__)


class ReviewJobs:
    """One method per step; ``run`` does them all in order (one scheduled job)."""

    def __init__(self, deps: Deps, due: DueWork) -> None:
        self._deps = deps
        self._due = due

    async def run(self) -> int:
        """Every review step that is due; how many things were done."""
        done = await self.start_due()
        done += await self.open_requested()
        done += await self.follow_open()
        done += await self.remind()
        done += await self.close_due()
        done += await self.follow_outcomes()
        return done

    async def start_due(self) -> int:
        """Ask for a campaign of each application whose ``reviews.every`` has come round."""
        deps = self._deps
        started = 0
        for app in deps.policy().applications:
            if app.reviews is None or app.reviews.every is None:
                continue
            latest = await deps.reviews.latest(app.name)
            if latest is not None and latest.created_at + app.reviews.every > deps.clock():
                continue
            _, created = await deps.reviews.request(
                app.name,
                scope=app.reviews.scope.value,
                unanswered=app.reviews.unanswered.value,
                actor=BOT,
            )
            started += int(created)
        return started

    async def open_requested(self) -> int:
        """Open the campaigns asked for: read the lines, store them, post each message."""
        deps = self._deps
        claimed = await deps.reviews.claim_opening(
            worker=deps.config.worker_id, lease=deps.config.lease
        )
        opened = 0
        for campaign in claimed:
            policy = deps.policy()
            app = policy.application(campaign.application)
            if app is None:
                log.warning("review %s names an application the policy lost", campaign.id)
                continue
            try:
                lines = await collect_lines(
                    campaign,
                    due=self._due,
                    gateway=deps.gateway,
                    catalog=await deps.catalog.current(),
                    policy=policy,
                    members=deps.user_groups.members,
                    email_of=self._email_of,
                )
            except SalesforceError as error:
                # Its lease runs out and a later tick tries again; the other steps go on.
                log.warning("access review %s cannot open yet: %s", campaign.id, error.human)
                continue
            now_open = await open_campaign(deps.reviews, campaign, lines, app=app, now=deps.clock())
            if now_open is None:
                continue
            opened += 1
            log.info(
                "access review %s of %s opened: %d lines, scope %s",
                campaign.id,
                app.name,
                len(lines),
                campaign.scope,
            )
            await deps.review_messenger.post_missing(now_open)
            deps.homes.refresh({line.reviewer for line in lines})
        return opened

    async def follow_open(self) -> int:
        """Post messages not posted yet; carry out decisions a crash left half done (in open
        campaigns, and escalated lines an admin decided after the close)."""
        deps = self._deps
        done = await deps.review_messenger.post_unposted()
        campaigns = await deps.reviews.campaigns(CampaignState.OPEN)
        for campaign in [*campaigns, *await deps.reviews.unfinished_closed()]:
            context = await self.context(campaign)
            if context is None:
                continue
            for line in await finish_decided(
                deps.reviews, deps.repo, deps.gateway, context, campaign
            ):
                done += 1
                if line.revocation is not None:
                    deps.worker.kick(line.revocation.id)
                await deps.review_messenger.show_line(campaign, line.item)
        return done

    async def _email_of(self, member: str) -> str:
        return (await self._deps.people.get(member)).email

    async def context(self, campaign: Campaign) -> ReviewContext | None:
        """The application and catalog a decision on ``campaign`` needs."""
        app = self._deps.policy().application(campaign.application)
        if app is None:
            return None
        return ReviewContext(app=app, catalog=await self._deps.catalog.current())

    async def remind(self) -> int:
        """Remind reviewers with lines left, once per campaign, before the deadline."""
        reminded = 0
        for campaign in await self._deps.reviews.due_reminders():
            reminded += await self._deps.review_messenger.remind(campaign)
        return reminded

    async def close_due(self) -> int:
        """Handle unanswered lines as the policy says, close, and tell the admins."""
        deps = self._deps
        closed_count = 0
        for campaign in await deps.reviews.due_deadlines():
            context = await self.context(campaign)
            if context is None:
                continue
            closed = await close_campaign(deps.reviews, deps.repo, deps.gateway, context, campaign)
            if closed is None:
                continue
            closed_count += 1
            for revocation in closed.revocations:
                deps.worker.kick(revocation.id)
            await deps.review_messenger.summarise(closed)
            # the reviewers' messages show the outcomes; the admins get the escalated lines
            await deps.review_messenger.refresh_all(closed.campaign)
            deps.homes.refresh({item.reviewer for item in closed.items})
            log.info(
                "access review %s closed: %s",
                campaign.id,
                ", ".join(f"{n} {k}" for k, n in sorted(closed.count().items())),
            )
        return closed_count

    async def follow_outcomes(self) -> int:
        """Record the outcome of revocations that finished; update the lines' messages."""
        deps = self._deps
        changed = await refresh_outcomes(deps.reviews, deps.repo)
        shown: set[tuple[str, str, bool]] = set()
        for item in changed:
            campaign = await deps.reviews.get(item.campaign_id)
            if campaign is None:
                continue
            key = (item.campaign_id, item.reviewer, item.escalated_in(campaign))
            if key in shown:
                continue
            shown.add(key)
            await deps.review_messenger.show_line(campaign, item)
        return len(changed)
