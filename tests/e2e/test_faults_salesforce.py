"""Salesforce failing in each way a real org or its network does: the request waits and then
completes, once. A timed-out call may still land in the org; the retry finds it instead of
creating a second user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.stage import ADA, JANE, OMAR, Stage
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import (
    ShiftedClock,
    actions,
    approve,
    in_state,
    lifecycle_policy,
    start,
    tick,
    until,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts, open_request_form, submit_request

# A client timeout shorter than the simulated org's hold, so the call times out first.
TIMEOUT_SETTINGS = {"SALESFORCE_TIMEOUT": 0.5}
HOLD = 1.2


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.SERVER_ERROR,
        FaultKind.UNAVAILABLE,
        FaultKind.TIMEOUT,
        FaultKind.DROP,
        FaultKind.REQUEST_LIMIT,
    ],
)
async def test_provisioning_waits_out_the_fault_and_completes_once(
    open_stage: StageOpener, kind: FaultKind
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(), settings=TIMEOUT_SETTINGS)
    try:
        request = await submit_request(stage, JANE.id)
        stage.org.faults.inject(kind, count=1, path="/composite", hold=HOLD)
        await approve(stage, request.id)
        waiting = await in_state(stage, request.id, State.APPROVED, State.ACTIVE)
        await stage.settle()
        waiting = await stage.runtime.deps.repo.get(request.id) or waiting
        assert waiting.state is State.APPROVED and waiting.attempts == 1, waiting
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at > clock()
        # waiting is not failing: nobody is told anything is wrong, no admin is asked
        assert not any("is ready" in t for t in dm_texts(stage, JANE.id))
        assert not stage.slack.dms(ADA.id)
        if kind is FaultKind.TIMEOUT:
            # the org applies the timed-out call after the bot gave up on it
            await stage.slack.wait_for(
                lambda: stage.org.user_by_username(JANE.email), timeout=HOLD + 3
            )
        else:
            assert stage.org.user_by_username(JANE.email) is None

        clock.advance(timedelta(hours=1))
        assert await stage.runtime.deps.worker.run_due() == 1
        await stage.settle()
        done = await stage.runtime.deps.repo.get(request.id)
        assert done is not None and done.state is State.ACTIVE
        users = [u for u in stage.org.users() if u.username == JANE.email]
        assert len(users) == 1 and users[0].is_active and users[0].id == done.sf_user_id
        assert stage.org.assignments_of(users[0].id) == ("Sales_Ops",)
        trail = await actions(stage, request.id)
        assert trail.count("provisioning_failed") == 1 and trail.count("provisioned") == 1
        await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
        assert sum("is ready" in t for t in dm_texts(stage, JANE.id)) == 1
    finally:
        await stage.close()


@pytest.mark.parametrize("kind", [FaultKind.UNAVAILABLE, FaultKind.DROP, FaultKind.TIMEOUT])
async def test_deactivation_waits_out_the_fault_and_completes_once(
    open_stage: StageOpener, kind: FaultKind
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(), settings=TIMEOUT_SETTINGS)
    try:
        await tick(stage)
        request = await submit_request(stage, JANE.id)
        await approve(stage, request.id)
        grant = await in_state(stage, request.id, State.ACTIVE)
        await stage.settle()
        stage.org.faults.inject(kind, count=1, path="/sobjects", hold=HOLD)
        reply = await stage.workspace.slash(OMAR.id, f"revoke <@{JANE.id}> project over")
        assert reply.status == 200
        repo = stage.runtime.deps.repo

        async def revocation() -> AccessRequest | None:
            await stage.settle()
            found = await repo.find(grant_id=grant.id, kind=Kind.REVOKE)
            return found[0] if found and found[0].attempts >= 1 else None

        waiting = await until(revocation)
        assert waiting.state in (State.REQUESTED, State.DEPROVISIONING), waiting
        clock.advance(timedelta(hours=1))
        if kind is FaultKind.TIMEOUT:
            # the org applies the timed-out deactivation after the bot gave up on it
            await stage.slack.wait_for(_deactivated(stage), timeout=HOLD + 3)
        await stage.runtime.deps.worker.run_due()
        await stage.settle()
        done = await repo.get(waiting.id)
        assert done is not None and done.state is State.DONE, done
        user = stage.org.user_by_username(JANE.email)
        assert user is not None and not user.is_active
        closed = await repo.get(grant.id)
        assert closed is not None and closed.state is State.REVOKED
        assert len(await repo.find(grant_id=grant.id, kind=Kind.REVOKE)) == 1
    finally:
        await stage.close()


async def test_catalog_unreachable_the_form_says_so_and_stores_nothing(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy())
    try:
        stage.org.faults.inject(FaultKind.UNAVAILABLE, count=10)
        reply = await stage.workspace.slash(JANE.id)
        assert reply.status == 200
        shown = await stage.slack.wait_for(
            lambda: (v := stage.slack.open_view(JANE.id)) and v.get("callback_id") == "unavailable"
        )
        assert shown
        modal = stage.slack.open_view(JANE.id)
        assert modal is not None and "can't be reached" in json.dumps(modal["blocks"])
        assert await stage.runtime.deps.repo.find() == []
        stage.org.faults.clear()
        stage.slack.close_view(JANE.id, modal["id"])
        # a minute later Salesforce answers and the same command opens the form
        view_id = await open_request_form(stage, JANE.id)
        assert view_id
    finally:
        await stage.close()


async def test_a_click_during_an_outage_is_not_lost(open_stage: StageOpener) -> None:
    """Approve while every Salesforce call fails: the decision stands and provisioning waits."""
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(retry_max_attempts=5))
    try:
        await tick(stage)
        request = await submit_request(stage, JANE.id)
        stage.org.faults.set_rate(FaultKind.UNAVAILABLE, 1.0)
        await approve(stage, request.id)
        await in_state(stage, request.id, State.APPROVED)
        for _ in range(2):
            await stage.settle()
            clock.advance(timedelta(hours=1))
            await stage.runtime.deps.worker.run_due()
        await stage.settle()
        still = await stage.runtime.deps.repo.get(request.id)
        assert still is not None and still.state is State.APPROVED and still.attempts == 3
        stage.org.faults.clear()  # the outage ends
        clock.advance(timedelta(hours=1))
        await stage.runtime.deps.worker.run_due()
        await stage.settle()
        done = await stage.runtime.deps.repo.get(request.id)
        assert done is not None and done.state is State.ACTIVE
        assert (await actions(stage, request.id)).count("approved") == 1
    finally:
        await stage.close()


def _deactivated(stage: Stage) -> Callable[[], bool]:
    def check() -> bool:
        user = stage.org.user_by_username(JANE.email)
        return user is not None and not user.is_active

    return check
