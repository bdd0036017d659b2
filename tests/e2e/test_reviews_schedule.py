"""``reviews.every``: the scheduler starts campaigns by itself, one at a time."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.stage import ADA, JANE, demo_policy
from handlers.policy import Policy
from storage.review_models import CampaignState
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import all_active, granted, later, review_message


async def test_campaigns_start_every_period_and_close_at_their_deadline(tmp_path: Path) -> None:
    clock = ShiftedClock()
    reviews = {"every": "P30D", "deadline": "P14D", "unanswered": "keep"}
    policy = Policy(applications=demo_policy(reviews=reviews).applications)
    stage = await start(tmp_path, clock, policy=policy)
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
