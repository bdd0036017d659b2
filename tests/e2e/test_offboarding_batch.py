"""Many members leaving Slack at once: their users are deactivated in a few bulk calls.

Each departure is recorded at once and leased; the deactivations wait for a batch. The
crash test restarts the bot before the batch goes: the next tick finishes the work.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.sandbox.stage import ADA, OMAR, PEOPLE, DemoPerson, Stage
from handlers.ids import ActionId
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import until
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, submit_request
from tests.e2e.test_revocation import deactivating_calls, dms_saying
from tests.security.actors import roomy_org

LEAVERS = tuple(
    DemoPerson(f"U0L{n:03d}", f"l{n}", f"Leaver Person{n:03d}", f"leaver{n:03d}@acme.com")
    for n in range(30)
)


async def _grant(stage: Stage, person: DemoPerson) -> AccessRequest:
    request = await submit_request(stage, person.id, duration="permanent")
    ask = await approval_message(stage, OMAR.id, request.id)
    assert (await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)).status == 200
    return request


async def _grants(stage: Stage, people: tuple[DemoPerson, ...]) -> list[AccessRequest]:
    """Every person requests, Omar approves, and each access is live."""
    requests: list[AccessRequest] = []
    for start in range(0, len(people), 10):
        requests += await asyncio.gather(*(_grant(stage, p) for p in people[start : start + 10]))
    repo = stage.runtime.deps.repo

    async def live() -> list[AccessRequest] | None:
        found = [await repo.get(r.id) for r in requests]
        done = [g for g in found if g is not None and g.state is State.ACTIVE]
        return done if len(done) == len(requests) else None

    grants = await until(live, timeout=30)
    await stage.settle()
    return grants


def _summaries(stage: Stage) -> Counter[str]:
    """How many "left Slack" summaries the admin got about each person."""
    return Counter(
        p.id for m in dms_saying(stage, ADA.id, "left Slack") for p in LEAVERS if p.id in m.text
    )


async def test_thirty_departures_share_a_few_bulk_calls(open_stage: StageOpener) -> None:
    stage = await open_stage(org=roomy_org(), people=(*PEOPLE, *LEAVERS))
    # About bulk deactivation, not Slack's limits: granting thirty people first sends Omar
    # thirty asks and thirty thread lines, a minute at one a second (test_rate_limits.py
    # covers that burst).
    stage.slack.set_rate_limits(enabled=False)
    try:
        grants = await _grants(stage, LEAVERS)
        stage.org.reset_counters()
        replies = await asyncio.gather(*(stage.workspace.deactivate(p.id) for p in LEAVERS))
        assert {r.status for r in replies} == {200}
        repo = stage.runtime.deps.repo

        async def all_revoked() -> bool:
            found = await repo.find(kind=Kind.GRANT, states=[State.REVOKED], limit=100)
            return len(found) == len(LEAVERS)

        await until(all_revoked, timeout=15)
        await stage.slack.wait_for(lambda: len(_summaries(stage)) == len(LEAVERS))
        await stage.settle()

        calls = deactivating_calls(stage)
        assert 1 <= len(calls) <= 3, [c.path for c in calls]
        print(f"\n{len(LEAVERS)} departures, {len(calls)} deactivating call(s)")
        for grant in grants:
            user = stage.org.user(grant.sf_user_id or "")
            assert user is not None and not user.is_active
        assert set(_summaries(stage).values()) == {1}
        revocations = await repo.find(kind=Kind.REVOKE, limit=100)
        assert len(revocations) == len(LEAVERS)
        assert {r.state for r in revocations} == {State.DONE}
        # those who left get nothing after their access is ready
        for person in LEAVERS:
            assert not dms_saying(stage, person.id, "removed")
    finally:
        await stage.close()


async def test_departures_recorded_before_a_restart_are_deactivated_by_the_next_tick(
    open_stage: StageOpener,
) -> None:
    slow = {
        "ACCESSBOT_OFFBOARDING_QUIET_SECONDS": 30,
        "ACCESSBOT_OFFBOARDING_MAX_WAIT_SECONDS": 60,
    }
    leavers = LEAVERS[:3]
    stage = await open_stage(org=roomy_org(), people=(*PEOPLE, *leavers), settings=slow)
    try:
        grants = await _grants(stage, leavers)
        stage.org.reset_counters()
        for person in leavers:
            assert (await stage.workspace.deactivate(person.id)).status == 200
        repo = stage.runtime.deps.repo

        async def recorded() -> list[AccessRequest] | None:
            found = await repo.find(kind=Kind.REVOKE, states=[State.REQUESTED])
            return found if len(found) == len(leavers) else None

        opened = await until(recorded)
        assert {r.claimed_by for r in opened} == {"stage"}
        # leased to the batch: the scheduler leaves them alone
        assert await stage.runtime.deps.worker.run_due() == 0

        await stage.restart_bot()
        assert not deactivating_calls(stage)
        assert {(await repo_state(stage, r.id)) for r in opened} == {State.REQUESTED}

        await stage.runtime.ticker.run_all_once()
        await stage.settle()
        for grant in grants:
            user = stage.org.user(grant.sf_user_id or "")
            assert user is not None and not user.is_active
        assert len(deactivating_calls(stage)) == 1
        new_repo = stage.runtime.deps.repo
        for revocation in opened:
            stored = await new_repo.get(revocation.id)
            assert stored is not None and stored.state is State.DONE
        await stage.slack.wait_for(lambda: len(_summaries(stage)) == len(leavers))
        assert set(_summaries(stage).values()) == {1}
        for person in leavers:
            assert not dms_saying(stage, person.id, "removed")
    finally:
        await stage.close()


async def repo_state(stage: Stage, request_id: str) -> State | None:
    """The stored state of a request, as the running bot reads it."""
    stored = await stage.runtime.deps.repo.get(request_id)
    return stored.state if stored is not None else None
