"""Review messages and reminders survive a crash between being recorded and being posted.

A reviewer's message is recorded as due when the campaign opens, posted, and its place in
Slack stored, also when the outbox posts it after a restart (no click needed to learn it);
reminders are recorded with the campaign's mark in one transaction and posted by the outbox,
each exactly once.
"""

from __future__ import annotations

import json

from bot.review_cli import start_review
from bot.sandbox.stage import BOB, JANE, OLIVIA, OMAR, Stage, demo_policy
from handlers.flows.review_open import collect_lines, open_campaign
from handlers.policy import Policy
from storage.due import DueWork
from storage.outbox import Outbox
from storage.review_models import Campaign
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import all_active, granted, later, open_review, review_message
from tests.e2e.stages import StageOpener
from tests.e2e.steps import current

REVIEWERS = (OLIVIA.id, OMAR.id)


def policy() -> Policy:
    """The demo application, reviewed by its owners Omar and Olivia within a week."""
    reviews = {"deadline": "P7D", "remind_before": "P2D", "unanswered": "keep"}
    return Policy(applications=demo_policy(reviews=reviews).applications)


async def two_grants(stage: Stage) -> None:
    """Jane and Bob hold access: one line for each owner."""
    await all_active(
        stage,
        [
            await granted(stage, JANE, duration="permanent"),
            await granted(stage, BOB, duration="permanent"),
        ],
    )


def reminders(stage: Stage, member: str) -> list[str]:
    """The review reminders ``member`` got."""
    return [m.text for m in stage.slack.dms(member) if m.text.startswith("Reminder:")]


async def test_a_first_message_slack_did_not_take_is_posted_after_a_restart_and_tracked(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, ShiftedClock(), policy=policy())
    try:
        await two_grants(stage)
        # the client retries a 500 twice: Olivia's message waits in the outbox
        for _ in range(3):
            stage.slack.fail_next("chat.postMessage", status=500, channel=OLIVIA.id)
        campaign = await open_review(stage)
        assert review_message(stage, OLIVIA.id) is None and review_message(stage, OMAR.id)
        assert await Outbox(stage.runtime.db).pending() == 1

        await stage.restart_bot()
        await tick(stage)
        deps = stage.runtime.deps
        posted = review_message(stage, OLIVIA.id)
        assert posted is not None
        # where it landed is stored without waiting for Olivia's first click
        saved = await deps.reviews.message(campaign.id, OLIVIA.id)
        assert saved is not None and (saved.channel, saved.ts) == (posted.channel, posted.ts)
        await tick(stage)
        assert review_message(stage, OLIVIA.id) is not None  # still one message

        # the deadline closes the campaign: the late message is updated in place, not reposted
        stage.clock.advance(later(8))  # type: ignore[attr-defined]
        await tick(stage)
        shown = current(stage, posted)
        assert shown.edited and "This review is closed" in json.dumps(shown.blocks)
        assert review_message(stage, OLIVIA.id) is not None
    finally:
        await stage.close()


async def test_messages_recorded_before_a_crash_are_posted_once_after_the_restart(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, ShiftedClock(), policy=policy())
    try:
        await two_grants(stage)
        path = stage.runtime.settings.database
        assert "asked for" in await start_review(path, stage.policy, "sales", actor="cli")
        # the review job opens the campaign and dies before posting anything
        deps = stage.runtime.deps
        (claimed,) = await deps.reviews.claim_opening(worker="w", lease=later(0.01))
        app = stage.policy.applications[0]
        lines = await collect_lines(
            claimed,
            due=DueWork(stage.runtime.db),
            gateway=deps.gateway,
            catalog=await deps.catalog.current(),
            policy=stage.policy,
            members=deps.user_groups.members,
            email_of=lambda member: _email(stage, member),
        )
        opened = await open_campaign(deps.reviews, claimed, lines, app=app, now=stage.clock())
        assert opened is not None
        assert all(review_message(stage, r) is None for r in REVIEWERS)

        await stage.restart_bot()
        await tick(stage)
        await tick(stage)
        for reviewer in REVIEWERS:
            message = review_message(stage, reviewer)  # exactly one each
            assert message is not None
            saved = await stage.runtime.deps.reviews.message(opened.id, reviewer)
            assert saved is not None and saved.ts == message.ts
    finally:
        await stage.close()


async def _email(stage: Stage, member: str) -> str:
    return (await stage.runtime.deps.people.get(member)).email


async def remind_time(stage: Stage) -> Campaign:
    """A campaign open with a line for each owner, and its reminder time come."""
    await two_grants(stage)
    campaign = await open_review(stage)
    stage.clock.advance(later(5.5))  # type: ignore[attr-defined]
    return campaign


async def test_reminders_recorded_before_a_crash_are_posted_once_after_the_restart(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, ShiftedClock(), policy=policy())
    try:
        campaign = await remind_time(stage)
        # recorded (with the campaign's mark), then the process dies before posting them
        assert await stage.runtime.deps.review_messenger.queue_reminders(campaign) == 2
        marked = await stage.runtime.deps.reviews.get(campaign.id)
        assert marked is not None and marked.reminded_at is not None
        assert all(reminders(stage, r) == [] for r in REVIEWERS)
        # recording again (a second process, a retried tick) adds nothing
        assert await stage.runtime.deps.review_messenger.queue_reminders(campaign) == 0

        await stage.restart_bot()
        await tick(stage)
        await tick(stage)
        for reviewer in REVIEWERS:
            (text,) = reminders(stage, reviewer)
            assert campaign.id in text
        assert await Outbox(stage.runtime.db).pending() == 0
    finally:
        await stage.close()


async def test_a_reminder_slack_refused_for_now_goes_out_later_once(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, ShiftedClock(), policy=policy())
    try:
        campaign = await remind_time(stage)
        for _ in range(3):
            stage.slack.fail_next("chat.postMessage", status=500, channel=OLIVIA.id)
        await tick(stage)
        got = {r: len(reminders(stage, r)) for r in REVIEWERS}
        assert got == {OLIVIA.id: 0, OMAR.id: 1}, got  # Olivia's waits in the outbox
        assert await Outbox(stage.runtime.db).pending() == 1
        stage.clock.advance(later(0.01))  # its retry time comes
        await tick(stage)
        await tick(stage)
        for reviewer in REVIEWERS:
            (text,) = reminders(stage, reviewer)
            assert campaign.id in text
    finally:
        await stage.close()
