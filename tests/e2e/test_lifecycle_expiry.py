"""Time-bound access: the "ends soon" DM, Extend, and revocation at the end (bulk, blocked)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from bot.sandbox.stage import ADA, BOB, JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    approve,
    grant_access,
    in_state,
    lifecycle_policy,
    start,
    tick,
    until,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, dm_texts


def removed(stage: Stage, user_id: str) -> list[str]:
    return [t for t in dm_texts(stage, user_id) if "was removed" in t]


def until_end(grant: AccessRequest) -> timedelta:
    assert grant.expires_at is not None
    return grant.expires_at - datetime.now(UTC)


async def test_ends_soon_then_extend_then_the_old_grant_ends_quietly(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(expiry_warning_before="PT2H"))
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        user_id = grant.sf_user_id
        clock.advance(timedelta(hours=21))
        await tick(stage)
        assert not any(":alarm_clock:" in t for t in dm_texts(stage, JANE.id))
        clock.advance(timedelta(hours=2))
        await tick(stage)
        (notice,) = [m for m in stage.slack.dms(JANE.id) if ":alarm_clock:" in m.text]
        await tick(stage)
        assert sum(":alarm_clock:" in t for t in dm_texts(stage, JANE.id)) == 1

        reply = await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)
        assert reply.status == 200
        answer = await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id))
        assert "to extend" in answer[-1].text and answer[-1].response_type == "ephemeral"
        extension = (await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT))[0]
        assert extension.state is State.PENDING_APPROVAL and extension.duration == timedelta(days=1)
        await approve(stage, extension.id, OMAR)
        extended = await in_state(stage, extension.id, State.ACTIVE)
        await stage.settle()
        assert extended.sf_user_id == user_id

        clock.advance(timedelta(hours=1, minutes=1))  # the first grant's end
        await tick(stage)
        closed = await stage.runtime.deps.repo.get(grant.id)
        assert closed is not None and closed.state is State.REVOKED
        assert (await actions(stage, grant.id))[-1] == "superseded"
        user = stage.org.user(user_id or "")
        assert user is not None and user.is_active
        assert removed(stage, JANE.id) == []
        assert extended.expires_at is not None and extended.expires_at > clock()

        await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)  # too late now
        await stage.slack.wait_for(lambda: len(stage.slack.responses(JANE.id)) == 2)
        assert "Nothing to do" in stage.slack.responses(JANE.id)[-1].text
    finally:
        await stage.close()


async def test_a_two_second_grant_is_revoked_by_the_running_scheduler(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    settings = {"ACCESSBOT_TICK_SECONDS": 0.2}
    stage = await start(open_stage, clock, settings=settings)
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        clock.advance(until_end(grant) - timedelta(seconds=2))  # two seconds left
        started = time.monotonic()
        stage.runtime.start_ticking()
        done = await in_state(stage, grant.id, State.REVOKED)
        waited = time.monotonic() - started
        assert 1.5 <= waited < 4.0, waited
        assert done.expires_at is not None and clock() >= done.expires_at
        user = stage.org.user(grant.sf_user_id or "")
        assert user is not None and not user.is_active
        await stage.slack.wait_for(lambda: removed(stage, JANE.id))
        assert "The access period ended." in json.dumps(stage.slack.dms(JANE.id)[-1].blocks)
        revocation = (await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE))[0]
        assert await actions(stage, revocation.id) == [
            "revocation_requested",
            "deprovisioning_started",
            "deactivated",
        ]
    finally:
        await stage.close()


async def test_expiries_at_once_are_revoked_in_one_bulk_call(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        grants = [await grant_access(stage, p, duration="P1D") for p in (JANE, BOB)]
        clock.advance(timedelta(days=1, minutes=1))
        stage.org.reset_counters()
        await tick(stage)
        deactivations = [
            c
            for c in stage.org.calls
            if c.method == "PATCH" and "composite/sobjects" in c.path and "IsActive" in str(c.json)
        ]
        assert len(deactivations) == 1
        assert len(deactivations[0].json["records"]) == 2
        for grant in grants:
            stored = await stage.runtime.deps.repo.get(grant.id)
            assert stored is not None and stored.state is State.REVOKED
            user = stage.org.user(grant.sf_user_id or "")
            assert user is not None and not user.is_active
        assert len(removed(stage, JANE.id)) == len(removed(stage, BOB.id)) == 1
    finally:
        await stage.close()


async def test_a_blocked_expiry_freezes_the_user_and_asks_the_admins(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        user_id = grant.sf_user_id or ""
        stage.org.block_deactivation(
            user_id, "Cannot deactivate: this user is the Default Workflow User"
        )
        clock.advance(timedelta(days=1, minutes=1))
        await tick(stage)
        revocation = (await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE))[0]
        assert revocation.state is State.BLOCKED
        assert stage.org.is_frozen(user_id)
        escalations = await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(ADA.id) if revocation.id in json.dumps(m.blocks)]
        )
        still = await stage.runtime.deps.repo.get(grant.id)
        assert still is not None and still.state is State.ACTIVE
        await tick(stage)
        assert len(await stage.runtime.deps.repo.find(kind=Kind.REVOKE)) == 1
        again = [m for m in stage.slack.dms(ADA.id) if revocation.id in json.dumps(m.blocks)]
        assert [m.ts for m in again] == [m.ts for m in escalations]
        assert removed(stage, JANE.id) == []
    finally:
        await stage.close()


async def test_owner_sees_extension_as_a_request(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(expiry_warning_before="PT2H"))
    try:
        grant = await grant_access(stage, JANE, duration="P1D")
        clock.advance(timedelta(hours=23))
        await tick(stage)
        notice = next(m for m in stage.slack.dms(JANE.id) if ":alarm_clock:" in m.text)
        await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)
        extension = await until(
            lambda: stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT)
        )
        ask = await approval_message(stage, OMAR.id, extension[0].id)
        assert f"Extension of {grant.id}" in json.dumps(ask.blocks)
        await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)
        await stage.slack.wait_for(lambda: len(stage.slack.responses(JANE.id)) == 2)
        assert "Already asked" in stage.slack.responses(JANE.id)[-1].text
        assert len(await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT)) == 1
    finally:
        await stage.close()
