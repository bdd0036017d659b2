"""A request nobody decides: reminders with growing gaps, the admins asked, then expiry."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.stage import ADA, JANE, OLIVIA, OMAR, Stage
from storage.models import State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    lifecycle_policy,
    start,
    tick,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, current, dm_texts, submit_request


def replies(stage: Stage, owner: str) -> list[str]:
    return [m.text for m in stage.slack.dms(owner) if m.is_reply]


def admin_asks(stage: Stage) -> list[str]:
    return [t for t in dm_texts(stage, ADA.id) if "Nobody decided" in t]


async def test_reminders_then_the_admins_then_expiry(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    policy = lifecycle_policy(
        first_reminder_after=3600,
        reminder_backoff=2.0,
        reminders_before_escalation=2,
        pending_expires_after="P7D",
    )
    stage = await start(open_stage, clock, policy=policy)
    try:
        request = await submit_request(stage, JANE.id)
        asks = [await approval_message(stage, o.id, request.id) for o in (OMAR, OLIVIA)]

        clock.advance(timedelta(minutes=59))
        await tick(stage)
        assert replies(stage, OMAR.id) == []

        clock.advance(timedelta(minutes=2))
        await tick(stage)
        for owner in (OMAR, OLIVIA):
            (first,) = replies(stage, owner.id)
            assert first.startswith(":bell: 1st reminder")
        reminded = next(m for m in stage.slack.dms(OMAR.id) if m.is_reply)
        assert reminded.thread_ts == asks[0].ts

        clock.advance(timedelta(hours=1))  # the second gap is two hours
        await tick(stage)
        assert len(replies(stage, OMAR.id)) == 1
        clock.advance(timedelta(hours=1, minutes=1))
        await tick(stage)
        assert [r[:20] for r in replies(stage, OMAR.id)][-1] == ":bell: 2nd reminder:"
        assert admin_asks(stage) == []

        clock.advance(timedelta(hours=4, minutes=1))  # then four hours: the admins are asked
        await tick(stage)
        (asked,) = admin_asks(stage)
        assert request.id in asked
        assert any("told" in r for r in replies(stage, OMAR.id))  # the thread says so
        clock.advance(timedelta(days=2))
        await tick(stage)
        assert len(admin_asks(stage)) == 1 and len(replies(stage, OMAR.id)) == 3

        clock.advance(timedelta(days=5))  # seven days after submission: expired
        await tick(stage)
        stored = await stage.runtime.deps.repo.get(request.id)
        assert stored is not None and stored.state is State.EXPIRED
        for ask in asks:
            now = current(stage, ask)
            assert not any(b.get("type") == "actions" for b in now.blocks)
            assert "Expired" in json.dumps(now.blocks)
        assert any("expired" in t for t in dm_texts(stage, JANE.id))
        admin_dm = next(m for m in stage.slack.dms(ADA.id) if request.id in json.dumps(m.blocks))
        assert "Expired" in json.dumps(current(stage, admin_dm).blocks)
        assert await actions(stage, request.id) == [
            "submitted",
            "reminded",
            "reminded",
            "escalated_undecided",
            "expired",
        ]
        await tick(stage)  # nothing more happens
        assert sum("expired" in t for t in dm_texts(stage, JANE.id)) == 1
    finally:
        await stage.close()
