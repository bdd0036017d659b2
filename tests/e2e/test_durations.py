"""Grants measured in hours: offered with readable labels, timed to the second, revoked on time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.sandbox.stage import JANE, OMAR, demo_policy
from handlers.ids import ActionId, BlockId
from handlers.policy import Policy, Timings
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    approve,
    grant_access,
    in_state,
    start,
    tick,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts, open_request_form


def hourly_policy() -> Policy:
    """The demo application offering hours as well as days."""
    return Policy(
        applications=demo_policy(
            durations_days=None, durations=("PT1H", "PT4H", "P1D", "P30D", None)
        ).applications,
        timings=Timings(expiry_warning_before=timedelta(minutes=30)),
    )


def offered_durations(form: dict[str, object]) -> list[tuple[str, str]]:
    """(label, value) of each duration the request form offers."""
    blocks = {b["block_id"]: b for b in form["blocks"]}  # type: ignore[attr-defined]
    element = blocks[BlockId.DURATION]["element"]
    return [(o["text"]["text"], o["value"]) for o in element["options"]]


def ends_in(grant: AccessRequest, now: datetime) -> timedelta:
    assert grant.expires_at is not None
    return grant.expires_at - now


async def test_an_hour_long_grant_is_offered_timed_and_revoked_at_its_end(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    settings = {"ACCESSBOT_TICK_SECONDS": 0.2}
    stage = await start(open_stage, clock, policy=hourly_policy(), settings=settings)
    try:
        view_id = await open_request_form(stage, JANE.id)
        form = stage.slack.view(view_id)
        assert form is not None
        assert offered_durations(form) == [
            ("1 hour", "PT1H"),
            ("4 hours", "PT4H"),
            ("1 day", "P1D"),
            ("30 days", "P30D"),
            ("Permanent", "permanent"),
        ]
        await stage.workspace.close(JANE.id, view_id)

        started = clock()
        grant = await grant_access(stage, JANE, duration="PT1H")
        assert grant.duration == timedelta(hours=1)
        assert timedelta(minutes=59) < ends_in(grant, started) <= timedelta(hours=1, seconds=30)
        (approval,) = [m for m in stage.slack.dms(OMAR.id) if grant.id in json.dumps(m.blocks)]
        assert "1 hour" in json.dumps(approval.blocks)
        (ready,) = [t for t in dm_texts(stage, JANE.id) if "is ready" in t]
        assert grant.expires_at is not None
        assert grant.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") in ready

        clock.advance(timedelta(minutes=58))  # two minutes before its end: still live
        await tick(stage)
        assert (await in_state(stage, grant.id, State.ACTIVE)).state is State.ACTIVE
        (soon,) = [t for t in dm_texts(stage, JANE.id) if ":alarm_clock:" in t]
        assert grant.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") in soon
        # The running scheduler (ticking as serve does, faster here) ends it on time.
        clock.advance(ends_in(grant, clock()) - timedelta(seconds=1))
        stage.runtime.start_ticking()
        ended = await in_state(stage, grant.id, State.REVOKED)
        assert ended.expires_at is not None and clock() - ended.expires_at < timedelta(seconds=5)
        revocation = (await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE))[0]
        await in_state(stage, revocation.id, State.DONE)
        user = stage.org.user(ended.sf_user_id or "")
        assert user is not None and not user.is_active
        assert "revocation_requested" in await actions(stage, revocation.id)
    finally:
        await stage.close()


async def test_an_hour_long_grant_is_extended_by_another_hour(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=hourly_policy())
    try:
        grant = await grant_access(stage, JANE, duration="PT1H")
        clock.advance(timedelta(minutes=45))
        await tick(stage)
        (notice,) = [m for m in stage.slack.dms(JANE.id) if ":alarm_clock:" in m.text]
        reply = await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)
        assert reply.status == 200
        answer = await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id))
        assert "for 1 hour more" in answer[-1].text
        extension = (await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT))[0]
        assert extension.duration == timedelta(hours=1)
        await approve(stage, extension.id, OMAR)
        extended = await in_state(stage, extension.id, State.ACTIVE)
        approved_at = clock()
        assert timedelta(minutes=59) < ends_in(extended, approved_at) <= timedelta(hours=1)

        clock.advance(timedelta(minutes=16))  # the first hour is over; the second goes on
        await tick(stage)
        assert (await in_state(stage, grant.id, State.REVOKED)).sf_user_id == extended.sf_user_id
        user = stage.org.user(extended.sf_user_id or "")
        assert user is not None and user.is_active
        clock.advance(timedelta(minutes=45))  # the extension's end
        await tick(stage)
        await in_state(stage, extended.id, State.REVOKED)
        after = stage.org.user(extended.sf_user_id or "")
        assert after is not None and not after.is_active
    finally:
        await stage.close()


async def test_a_policy_in_whole_days_still_offers_and_times_days(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)  # the demo policy says durations_days: [1, 7, 30, null]
    try:
        view_id = await open_request_form(stage, JANE.id)
        form = stage.slack.view(view_id)
        assert form is not None
        assert offered_durations(form) == [
            ("1 day", "P1D"),
            ("7 days", "P7D"),
            ("30 days", "P30D"),
            ("Permanent", "permanent"),
        ]
        await stage.workspace.close(JANE.id, view_id)
        started = clock()
        grant = await grant_access(stage, JANE, duration="P7D")
        assert grant.duration == timedelta(days=7)
        assert timedelta(days=7) - ends_in(grant, started) < timedelta(seconds=30)
    finally:
        await stage.close()
