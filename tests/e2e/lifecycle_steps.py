"""Time and shortcuts for the lifecycle tests: a clock the test moves, a tick, a granted access."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import OMAR, DemoPerson, Stage, demo_policy
from handlers.ids import ActionId
from handlers.policy import Policy, Timings
from storage.models import AccessRequest, State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, submit_request

T = TypeVar("T")


class ShiftedClock:
    """Real time plus an offset: days pass in an instant, seconds pass for real."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Move every reader of this clock forward."""
        self.offset += delta


def lifecycle_policy(**timings: Any) -> Policy:
    """The demo policy with these timings."""
    return Policy(applications=demo_policy().applications, timings=Timings(**timings))


async def start(
    open_stage: StageOpener,
    clock: ShiftedClock,
    *,
    policy: Policy | None = None,
    org: SimulatedOrg | None = None,
    settings: dict[str, Any] | None = None,
) -> Stage:
    """A stage on the shifted clock (on the backend under test: see ``open_stage``)."""
    return await open_stage(
        policy=policy or lifecycle_policy(), org=org, clock=clock, settings=settings
    )


async def tick(stage: Stage) -> None:
    """One run of every scheduled job, and whatever they started in the background."""
    await stage.runtime.ticker.run_all_once()
    await stage.settle()


async def until(check: Callable[[], Awaitable[T | None]], timeout: float = 5.0) -> T:
    """Poll an async ``check`` until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.02)
    return result


async def in_state(stage: Stage, request_id: str, *states: State) -> AccessRequest:
    """The request once it reaches one of ``states``."""

    async def check() -> AccessRequest | None:
        found = await stage.runtime.deps.repo.get(request_id)
        return found if found is not None and found.state in states else None

    return await until(check)


async def approve(stage: Stage, request_id: str, owner: DemoPerson = OMAR) -> None:
    """The owner clicks Approve on the approval message in their DM."""
    message = await approval_message(stage, owner.id, request_id)
    reply = await stage.workspace.click(owner.id, message, ActionId.APPROVE)
    assert reply.status == 200


async def grant_access(stage: Stage, person: DemoPerson, *, duration: str = "P1D") -> AccessRequest:
    """Request, approve and wait until the access is live."""
    request = await submit_request(stage, person.id, duration=duration)
    await approve(stage, request.id)
    active = await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    return active


async def actions(stage: Stage, request_id: str) -> list[str]:
    """The audit trail of one request, as action names."""
    return [e.action for e in await stage.runtime.deps.repo.audit.for_request(request_id)]
