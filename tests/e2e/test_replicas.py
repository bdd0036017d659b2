"""Replicas: two ``accessbot serve`` processes on one database behind a round-robin front
behave as one bot (on PostgreSQL, and on a SQLite file two processes on one host share)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from bot.sandbox.stage import JANE, OMAR, SIGNING_SECRET
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.processes import RoundRobinFront, World, free_port, until_state
from tests.e2e.steps import (
    approval_message,
    confirmed,
    dm_texts,
    fill_request,
    open_request_form,
)

pytestmark = pytest.mark.slow
CLICKS = 10


async def steps(world: World, request_id: str) -> list[str]:
    """The request's audit trail (its chain verified) without the refusals of the clicks
    that lost the race: each of those is recorded as it is answered, in any order."""
    trail = await world.trail(request_id)
    assert trail.count("decision_refused") < CLICKS
    return [step for step in trail if step != "decision_refused"]


@asynccontextmanager
async def two_replicas(world: World) -> AsyncIterator[tuple[RoundRobinFront, Workspace]]:
    """Two bot processes behind a round-robin front, and people's side of Slack sending to it."""
    ports = [world.port, free_port()]
    bots = [
        await world.start_bot("replica-a", ports[0]),
        await world.start_bot("replica-b", ports[1]),
    ]
    front = await RoundRobinFront(ports).start()
    workspace = Workspace(app_url=front.url, signing_secret=SIGNING_SECRET, slack=world.slack)
    try:
        yield front, workspace
    finally:
        await workspace.aclose()
        await front.close()
        for bot in bots:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), 15)


async def test_ten_approve_clicks_spread_over_two_replicas_make_one_user(world: World) -> None:
    async with two_replicas(world) as (front, workspace):
        ports = front.ports
        people = SimpleNamespace(workspace=workspace, slack=world.slack)
        view_id = await open_request_form(people, JANE.id)
        await fill_request(people, JANE.id, view_id)
        assert (await workspace.submit(JANE.id, view_id)).status == 200
        await confirmed(people, view_id)
        (request,) = await world.requests()
        ask = await approval_message(people, OMAR.id, request.id)
        before = dict(front.served)

        replies = await asyncio.gather(
            *(workspace.click(OMAR.id, ask, ActionId.APPROVE) for _ in range(CLICKS))
        )
        assert [r.status for r in replies] == [200] * CLICKS
        assert all(front.served[p] - before[p] == CLICKS // 2 for p in ports)  # both took clicks

        await until_state(world, request.id, State.ACTIVE)
        await world.slack.wait_for(
            lambda: any("is ready" in t for t in dm_texts(people, JANE.id)), timeout=15
        )
        users = [u for u in world.org.users() if u.username == "jane.doe@acme.com"]
        assert len(users) == 1 and users[0].is_active
        once = ["submitted", "approved", "provisioning_started", "provisioned"]
        assert await steps(world, request.id) == once
        await world.ticks("due-work", 4)  # both replicas tick on: nothing runs twice
        assert await steps(world, request.id) == once
        texts = dm_texts(people, JANE.id)
        assert sum("is ready" in t for t in texts) == 1
        assert sum("was approved" in t for t in texts) == 1


async def test_a_retried_event_delivered_to_the_other_replica_runs_once(world: World) -> None:
    def published() -> int:
        return len(world.slack.calls("views.publish"))

    home = {"type": "app_home_opened", "user": JANE.id, "tab": "home"}
    home["channel"] = world.slack.dm_channel(JANE.id)
    async with two_replicas(world) as (front, workspace):
        assert (await workspace.event(home, event_id="EvHOME0001")).status == 200
        await world.slack.wait_for(lambda: published() == 1)  # replica a served it
        for retry in (1, 2, 3):  # to replica b, a, b: Slack thought the first one was lost
            again = await workspace.event(home, event_id="EvHOME0001", retry_num=retry)
            assert again.status == 200
        # new events to each replica: by the time both are served, a retry would have been too
        await workspace.event(home, event_id="EvHOME0002")
        await workspace.event(home, event_id="EvHOME0003")
        await world.slack.wait_for(lambda: published() >= 3)
        assert all(count == 3 for count in front.served.values())
    assert published() == 3
