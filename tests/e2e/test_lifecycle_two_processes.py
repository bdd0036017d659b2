"""Two bot processes on one database: every due job is done once, whoever gets to it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.stage import ADA, BOB, JANE, OLIVIA, OMAR, Stage
from bot.wiring import Runtime, build_runtime
from storage.models import Kind, State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    approve,
    grant_access,
    in_state,
    lifecycle_policy,
    start,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, dm_texts, submit_request


async def both_tick(stage: Stage, other: Runtime) -> None:
    async def one(runtime: Runtime) -> None:
        await runtime.ticker.run_all_once()
        await runtime.deps.worker.drain()

    await asyncio.gather(one(stage.runtime), one(other))


def count(texts: list[str], needle: str) -> int:
    return sum(needle in t for t in texts)


async def test_two_processes_do_each_due_job_once(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    policy = lifecycle_policy(
        first_reminder_after=3600,
        reminders_before_escalation=1,
        pending_expires_after="P2D",
        expiry_warning_before="PT2H",
        retry_base_delay=1,
    )
    stage = await start(open_stage, clock, policy=policy)
    settings = stage.runtime.settings.model_copy(update={"worker_id": "second"})
    other = await build_runtime(settings, lambda: stage.policy, clock=clock)
    try:
        await both_tick(stage, other)  # the daily jobs: one catalog refresh, one reconciliation
        assert count(dm_texts(stage, ADA.id), "Reconciliation found") == 1
        runs = [
            e async for e in stage.runtime.deps.repo.audit.entries() if e.action == "reconciled"
        ]
        assert len(runs) == 1

        undecided = [await submit_request(stage, p.id) for p in (JANE, BOB)]
        for request in undecided:
            await approval_message(stage, OMAR.id, request.id)
        clock.advance(timedelta(hours=1, minutes=1))
        await both_tick(stage, other)
        clock.advance(timedelta(hours=2, minutes=1))
        await both_tick(stage, other)
        clock.advance(timedelta(days=2))
        await both_tick(stage, other)
        for request in undecided:
            trail = await actions(stage, request.id)
            assert trail == ["submitted", "reminded", "escalated_undecided", "expired"], trail
        replies = [m.text for m in stage.slack.dms(OMAR.id) if m.is_reply]
        assert count(replies, "1st reminder") == 2
        posts = stage.slack.calls("chat.postMessage")
        asked = [c for c in posts if c.args.get("channel") == ADA.id and "Nobody" in str(c.args)]
        assert len(asked) == 2  # since updated to show the expiry
        assert count(dm_texts(stage, ADA.id), ": expired.") == 2
        assert count(dm_texts(stage, JANE.id), "so it expired") == 1

        grants = [await grant_access(stage, p, duration="P1D") for p in (JANE, BOB)]
        clock.advance(timedelta(hours=23))
        await both_tick(stage, other)
        clock.advance(timedelta(hours=1, minutes=1))
        stage.org.reset_counters()
        await both_tick(stage, other)
        for grant in grants:
            assert (await actions(stage, grant.id)).count("expiry_warning_sent") == 1
            revocations = await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE)
            assert len(revocations) == 1 and revocations[0].state is State.DONE
            assert (await actions(stage, revocations[0].id)).count("deactivated") == 1
        for person in (JANE, BOB):
            assert count(dm_texts(stage, person.id), ":alarm_clock:") == 1
            assert count(dm_texts(stage, person.id), "was removed") == 1

        late = await submit_request(stage, OLIVIA.id)
        stage.org.faults.inject(FaultKind.UNAVAILABLE, count=1, path="/composite")
        await approve(stage, late.id, OMAR)
        await in_state(stage, late.id, State.APPROVED)
        await stage.settle()
        clock.advance(timedelta(seconds=10))
        await both_tick(stage, other)
        done = await stage.runtime.deps.repo.get(late.id)
        assert done is not None and done.state is State.ACTIVE
        assert (await actions(stage, late.id)).count("provisioned") == 1
        assert count(dm_texts(stage, OLIVIA.id), "is ready") == 1
    finally:
        await other.close()
        await stage.close()
