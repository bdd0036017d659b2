"""``reviews.every``: the scheduler starts campaigns by itself, one at a time."""

from __future__ import annotations

from bot.review_cli import start_review
from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.stage import ADA, JANE, demo_policy
from handlers.policy import Policy
from handlers.review_jobs import ReviewJobs
from storage.due import DueWork
from storage.review_models import CampaignState
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import all_active, granted, later, review_message
from tests.e2e.stages import StageOpener


async def test_campaigns_start_every_period_and_close_at_their_deadline(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    reviews = {"every": "P30D", "deadline": "P14D", "unanswered": "keep"}
    policy = Policy(applications=demo_policy(reviews=reviews).applications)
    stage = await start(open_stage, clock, policy=policy)
    try:
        await all_active(stage, [await granted(stage, JANE, duration="permanent")])
        await tick(stage)
        store = stage.runtime.deps.reviews
        (first,) = await store.campaigns()
        assert first.state is CampaignState.OPEN and first.started_by == "bot"
        assert review_message(stage, "U0OMAR") or review_message(stage, "U0OLIVIA")
        clock.advance(later(10))
        await tick(stage)
        assert len(await store.campaigns()) == 1  # one at a time
        clock.advance(later(5))
        await tick(stage)
        (closed,) = await store.campaigns()
        assert closed.state is CampaignState.CLOSED
        (line,) = await store.items(closed.id)
        assert line.decided_by == "bot" and line.outcome is not None
        assert line.outcome.value == "kept"
        assert any("Access review closed" in str(m.blocks) for m in stage.slack.dms(ADA.id))
        clock.advance(later(16))  # 31 days after the first started
        await tick(stage)
        campaigns = await store.campaigns()
        assert len(campaigns) == 2 and campaigns[0].state is CampaignState.OPEN
    finally:
        await stage.close()


async def test_a_campaign_the_org_cannot_serve_yet_opens_at_a_later_tick(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    policy = Policy(applications=demo_policy(reviews={"unanswered": "keep"}).applications)
    stage = await start(open_stage, clock, policy=policy)
    try:
        await all_active(stage, [await granted(stage, JANE, duration="permanent")])
        path = stage.runtime.settings.database
        assert "asked for" in await start_review(path, stage.policy, "sales", actor="cli")
        # Salesforce is down whenever the review reads the lines' logins
        stage.org.faults.set_rate(FaultKind.UNAVAILABLE, 1.0)
        reviews_job = ReviewJobs(stage.runtime.deps, DueWork(stage.runtime.db))
        assert await reviews_job.run() == 0  # said in the log; the job itself goes on
        store = stage.runtime.deps.reviews
        (waiting,) = await store.campaigns()
        assert waiting.state is CampaignState.OPENING
        assert await store.items(waiting.id) == []
        stage.org.faults.clear()
        clock.advance(later(0.01))  # its lease (five minutes) ran out
        await tick(stage)
        (opened,) = await store.campaigns()
        assert opened.state is CampaignState.OPEN and len(await store.items(opened.id)) == 1
    finally:
        await stage.close()
