"""Expiry Salesforce enforces by itself: time-bound assignments carry an ExpirationDate.

In an org with "Permission Set & Permission Set Group Assignments with Expiration Dates" on,
a time-bound grant's permission sets are given with the grant's end, so Salesforce removes
them even while the bot is down; the bot still revokes at the end and finds them gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.check import run_check
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.models import AccessRequest, Kind, State
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
from tests.e2e.steps import approval_message, submit_request


async def start_org(open_stage: StageOpener, clock: ShiftedClock, *, expiration: bool) -> Stage:
    """A stage whose org has assignment expiration on or off (as in a new org)."""
    org = SimulatedOrg(clock=clock)
    org.seed_demo()
    if expiration:
        org.turn_on_assignment_expiration()
    return await start(
        open_stage, clock, org=org, policy=lifecycle_policy(expiry_warning_before="PT2H")
    )


async def jane_gets(stage: Stage, **choices: object) -> AccessRequest:
    """Jane asks, Omar approves, and the access is live."""
    request = await submit_request(stage, JANE.id, **choices)
    await approve(stage, request.id, OMAR)
    done = await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    return done


def assignment_writes(org: SimulatedOrg) -> list[object]:
    """Every PermissionSetAssignment insert or update the org received."""
    writes: list[object] = []
    for call in org.calls:
        body = call.json if isinstance(call.json, dict) else {}
        writes += [
            sub
            for sub in body.get("compositeRequest", [])
            if sub["method"] in ("POST", "PATCH")
            and "/sobjects/PermissionSetAssignment" in sub["url"]
        ]
        if call.method in ("POST", "PATCH"):
            writes += [
                r
                for r in body.get("records", [])
                if r.get("attributes", {}).get("type") == "PermissionSetAssignment"
            ]
            if "sobjects/PermissionSetAssignment" in call.path:
                writes.append(body)
    return writes


def close_to(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) < 1


async def test_a_one_day_grant_is_given_with_its_end_as_expiration_date(
    open_stage: StageOpener, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ShiftedClock()
    stage = await start_org(open_stage, clock, expiration=True)
    try:
        grant = await jane_gets(stage, duration="P1D")
        assert grant.expires_at is not None
        assert abs(grant.expires_at - (clock() + timedelta(days=1))) < timedelta(seconds=30)
        ends = stage.org.assignment_expirations(grant.sf_user_id or "")
        assert list(ends) == ["Sales_Ops"]
        assert close_to(ends["Sales_Ops"], grant.expires_at)  # the bot and Salesforce agree

        assert await run_check(stage.runtime.settings, stage.policy)
        out = capsys.readouterr().out
        assert "Assignment expiry: on" in out and "even if the bot is down" in out
    finally:
        await stage.close()


async def test_an_org_without_expiration_gets_no_expiration_date(
    open_stage: StageOpener, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ShiftedClock()
    stage = await start_org(open_stage, clock, expiration=False)
    try:
        grant = await jane_gets(stage, duration="P1D")
        assert stage.org.assignment_expirations(grant.sf_user_id or "") == {"Sales_Ops": None}
        assert not any("ExpirationDate" in str(c.json) for c in stage.org.calls)

        assert await run_check(stage.runtime.settings, stage.policy)
        out = capsys.readouterr().out
        assert "Assignment expiry: off" in out
        assert "User Management Settings" in out and "Expiration Dates" in out
    finally:
        await stage.close()


async def test_a_set_a_permanent_grant_also_gives_has_no_expiration_date(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start_org(open_stage, clock, expiration=True)
    try:
        short = await jane_gets(stage, duration="P1D")
        user_id = short.sf_user_id or ""
        assert close_to(stage.org.assignment_expirations(user_id)["Sales_Ops"], short.expires_at)
        kept = await jane_gets(stage, duration="permanent", profile="Standard User", role=None)
        assert kept.sf_user_id == user_id and kept.expires_at is None
        # the permanent grant would lose the set with the short one's end: the end is cleared
        assert stage.org.assignment_expirations(user_id) == {"Sales_Ops": None}

        clock.advance(timedelta(days=1, minutes=1))
        await tick(stage)
        ended = await in_state(stage, short.id, State.REVOKED)
        assert ended.state is State.REVOKED
        assert stage.org.assignments_of(user_id) == ("Sales_Ops",)
    finally:
        await stage.close()


async def test_salesforce_removed_it_while_the_bot_was_down(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start_org(open_stage, clock, expiration=True)
    try:
        kept = await jane_gets(
            stage,
            duration="permanent",
            profile="Standard User",
            role=None,
            permission_sets=("Reports_Export",),
        )
        short = await jane_gets(stage, duration="P1D", permission_sets=("Sales_Ops",))
        user_id = short.sf_user_id or ""
        assert stage.org.assignments_of(user_id) == ("Reports_Export", "Sales_Ops")

        clock.advance(timedelta(days=1, minutes=1))  # no tick: the bot is down meanwhile
        assert stage.org.assignments_of(user_id) == ("Reports_Export",)  # Salesforce did it
        await stage.restart_bot()
        stage.org.reset_counters()

        # Jane's user is converged (as a dirty user is at a restart) before the expiry job
        # runs: the grant has ended, so its set is not given again.
        await stage.runtime.deps.converger.converge(["jane.doe@acme.com"])
        await tick(stage)
        done = await in_state(stage, short.id, State.REVOKED)
        assert done.state is State.REVOKED
        (revocation,) = await stage.runtime.deps.repo.find(grant_id=short.id, kind=Kind.REVOKE)
        assert revocation.state is State.DONE and revocation.last_error is None
        assert (await actions(stage, revocation.id))[-1] == "access_reduced"
        assert stage.org.assignments_of(user_id) == ("Reports_Export",)
        assert assignment_writes(stage.org) == []
        user = stage.org.user(user_id)
        assert user is not None and user.is_active
        still = await stage.runtime.deps.repo.get(kept.id)
        assert still is not None and still.state is State.ACTIVE
    finally:
        await stage.close()


async def test_an_extension_moves_the_expiration_date(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start_org(open_stage, clock, expiration=True)
    try:
        grant = await jane_gets(stage, duration="P1D")
        user_id = grant.sf_user_id or ""
        clock.advance(timedelta(hours=23))
        await tick(stage)
        notice = await stage.slack.wait_for(
            lambda: next((m for m in stage.slack.dms(JANE.id) if ":alarm_clock:" in m.text), None)
        )
        reply = await stage.workspace.click(JANE.id, notice, ActionId.EXTEND)
        assert reply.status == 200
        await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id))
        (extension,) = await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT)
        await approval_message(stage, OMAR.id, extension.id)
        await approve(stage, extension.id, OMAR)
        extended = await in_state(stage, extension.id, State.ACTIVE)
        await stage.settle()
        assert extended.expires_at is not None and grant.expires_at is not None
        assert extended.expires_at > grant.expires_at + timedelta(hours=23)
        ends = stage.org.assignment_expirations(user_id)
        assert close_to(ends["Sales_Ops"], extended.expires_at)

        clock.advance(timedelta(hours=1, minutes=1))  # the first grant's end
        await tick(stage)
        await in_state(stage, grant.id, State.REVOKED)
        assert stage.org.assignments_of(user_id) == ("Sales_Ops",)
        assert close_to(stage.org.assignment_expirations(user_id)["Sales_Ops"], extended.expires_at)
    finally:
        await stage.close()
