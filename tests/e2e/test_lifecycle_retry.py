"""Passing Salesforce failures: retried with growing, jittered gaps; the admins after too many."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.stage import ADA, JANE
from storage.models import State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    approve,
    in_state,
    lifecycle_policy,
    start,
    tick,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts, submit_request


async def test_two_passing_failures_then_the_user_is_set_up_once(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    policy = lifecycle_policy(retry_base_delay=2, retry_max_attempts=5)
    stage = await start(open_stage, clock, policy=policy)
    try:
        await tick(stage)  # the daily jobs run first, so the faults meet provisioning only
        request = await submit_request(stage, JANE.id)
        stage.org.faults.inject(FaultKind.UNAVAILABLE, count=2, path="/composite")
        await approve(stage, request.id)
        waiting = await in_state(stage, request.id, State.APPROVED)
        await stage.settle()
        waiting = await stage.runtime.deps.repo.get(request.id) or waiting
        assert waiting.attempts == 1 and waiting.next_attempt_at is not None
        # measured from the failure itself (updated_at), not from now: the test's own pace
        # on a loaded machine must not eat into the jitter window
        gap = waiting.next_attempt_at - waiting.updated_at
        assert timedelta(seconds=1) <= gap <= timedelta(seconds=3)

        await tick(stage)  # not due yet: nothing is tried
        assert (await actions(stage, request.id)).count("provisioning_started") == 1
        clock.advance(timedelta(seconds=4))
        await tick(stage)
        second = await stage.runtime.deps.repo.get(request.id)
        assert second is not None and second.state is State.APPROVED and second.attempts == 2
        assert second.next_attempt_at is not None
        gap = second.next_attempt_at - second.updated_at
        assert timedelta(seconds=2) <= gap <= timedelta(seconds=6)

        clock.advance(timedelta(seconds=7))
        await tick(stage)
        done = await stage.runtime.deps.repo.get(request.id)
        assert done is not None and done.state is State.ACTIVE
        assert await actions(stage, request.id) == [
            "submitted",
            "approved",
            "provisioning_started",
            "provisioning_failed",
            "provisioning_started",
            "provisioning_failed",
            "provisioning_started",
            "provisioned",
        ]
        trail = await stage.runtime.deps.repo.audit.for_request(request.id)
        retry_at = [
            datetime.fromisoformat(e.detail["retry_at"]) - e.at
            for e in trail
            if e.action == "provisioning_failed"
        ]
        assert retry_at[0] < retry_at[1] * 3  # jittered, but the second gap is the bigger one
        assert [u.username for u in stage.org.users()].count("jane.doe@acme.com") == 1
        assert sum("is ready" in t for t in dm_texts(stage, JANE.id)) == 1
        assert not [t for t in dm_texts(stage, ADA.id) if request.id in t]
    finally:
        await stage.close()


async def test_after_the_last_attempt_the_admins_are_asked(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    policy = lifecycle_policy(retry_base_delay=1, retry_max_attempts=2)
    stage = await start(open_stage, clock, policy=policy)
    try:
        await tick(stage)
        request = await submit_request(stage, JANE.id)
        stage.org.faults.inject(FaultKind.SERVER_ERROR, count=2, path="/composite")
        await approve(stage, request.id)
        await in_state(stage, request.id, State.APPROVED)
        await stage.settle()
        clock.advance(timedelta(seconds=5))
        await tick(stage)
        stuck = await stage.runtime.deps.repo.get(request.id)
        assert stuck is not None and stuck.state is State.NEEDS_ADMIN
        assert stuck.needs_admin_reason == "repeated_failure" and stuck.attempts == 2
        asked = await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(ADA.id) if "keeps failing" in str(m.blocks)]
        )
        assert len(asked) == 1
        assert any("taking a little longer" in t for t in dm_texts(stage, JANE.id))
        assert stage.org.user_by_username("jane.doe@acme.com") is None
    finally:
        await stage.close()
