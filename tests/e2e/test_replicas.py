"""Replicas: two ``accessbot serve`` processes on one database behind a round-robin front
behave as one bot (on PostgreSQL, and on a SQLite file two processes on one host share)."""

from __future__ import annotations

import asyncio
import signal
from types import SimpleNamespace

import pytest

from bot.sandbox.stage import JANE, OMAR, SIGNING_SECRET
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.processes import RoundRobinFront, World, free_port, until_state
from tests.e2e.steps import approval_message, dm_texts, fill_request, open_request_form

pytestmark = pytest.mark.slow
CLICKS = 10


async def test_ten_approve_clicks_spread_over_two_replicas_make_one_user(world: World) -> None:
    ports = [world.port, free_port()]
    bots = [
        await world.start_bot("replica-a", ports[0]),
        await world.start_bot("replica-b", ports[1]),
    ]
    front = await RoundRobinFront(ports).start()
    workspace = Workspace(app_url=front.url, signing_secret=SIGNING_SECRET, slack=world.slack)
    people = SimpleNamespace(workspace=workspace, slack=world.slack)
    try:
        view_id = await open_request_form(people, JANE.id)
        await fill_request(people, JANE.id, view_id)
        assert (await workspace.submit(JANE.id, view_id)).status == 200
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
        trail = await world.trail(request.id)
        # the clicks that lost the race are audited as refused; everything else happened once
        steps = [step for step in trail if step != "decision_refused"]
        assert steps == ["submitted", "approved", "provisioning_started", "provisioned"]
        await world.ticks("due-work", 4)  # both replicas tick on: nothing runs twice
        assert await world.trail(request.id) == trail
        texts = dm_texts(people, JANE.id)
        assert sum("is ready" in t for t in texts) == 1
        assert sum("was approved" in t for t in texts) == 1
    finally:
        await workspace.aclose()
        await front.close()
        for bot in bots:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), 15)
