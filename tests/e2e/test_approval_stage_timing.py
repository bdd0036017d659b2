"""Reminders and expiry of a two-stage request run per stage: each stage waits on its own clock."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.stage import BOB, JANE, OLIVIA, OMAR, Stage
from handlers.ids import ActionId
from handlers.policy import Policy, Timings
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, actions, in_state, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, submit_request
from tests.e2e.test_approval_rules import SECURITY, owners_then_security


def replies(stage: Stage, person: str) -> list[str]:
    return [m.text for m in stage.slack.dms(person) if m.is_reply]


async def test_each_stage_is_reminded_and_expires_on_its_own_clock(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    timings = Timings(
        first_reminder_after=timedelta(hours=1),
        reminders_before_escalation=5,
        pending_expires_after=timedelta(hours=3),
    )
    policy = Policy(applications=owners_then_security().applications, timings=timings)
    stage = await start(open_stage, clock, policy=policy)
    stage.slack.set_usergroup(SECURITY, [BOB.id])
    try:
        request = await submit_request(stage, JANE.id, duration="P7D")
        omar_ask = await approval_message(stage, OMAR.id, request.id)

        clock.advance(timedelta(hours=1, minutes=1))
        await tick(stage)
        for owner in (OMAR, OLIVIA):
            assert [r[:20] for r in replies(stage, owner.id)] == [":bell: 1st reminder:"]
        assert replies(stage, BOB.id) == []

        await stage.workspace.click(OMAR.id, omar_ask, ActionId.APPROVE)
        bob_ask = await approval_message(stage, BOB.id, request.id)

        # Under an hour into stage 2: no reminder yet.
        clock.advance(timedelta(minutes=50))
        await tick(stage)
        assert replies(stage, BOB.id) == []
        clock.advance(timedelta(minutes=20))
        await tick(stage)
        (first,) = [m for m in stage.slack.dms(BOB.id) if m.is_reply]
        assert first.text.startswith(":bell: 1st reminder") and first.thread_ts == bob_ask.ts
        # The owners' stage is done: they are not reminded again.
        assert len(replies(stage, OMAR.id)) == 1 and len(replies(stage, OLIVIA.id)) == 1

        # Over three hours since the request, two into stage 2: it still waits.
        clock.advance(timedelta(hours=1))
        await tick(stage)
        waiting = await stage.runtime.deps.repo.get(request.id)
        assert waiting is not None and waiting.state is State.PENDING_APPROVAL

        # Stage 2 expires three hours after it began.
        clock.advance(timedelta(hours=1))
        await tick(stage)
        await in_state(stage, request.id, State.EXPIRED)
        trail = await actions(stage, request.id)
        assert trail.index("stage_approved") < trail.index("expired")
    finally:
        await stage.close()
