"""A bot process killed with SIGKILL mid-provisioning, then restarted: the step resumes once.

The bot runs as a real subprocess (``python -m bot serve``) against simulators this test
process serves; the simulated org holds its answer to the provisioning call (after applying
it) while the process is killed.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from types import SimpleNamespace

import pytest

from bot.sandbox.salesforce_org import Hold
from bot.sandbox.stage import JANE, OMAR, SIGNING_SECRET
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.processes import World, free_port, until_state
from tests.e2e.steps import (
    approval_message,
    confirmed,
    dm_texts,
    fill_request,
    open_request_form,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "restart_as",
    [
        pytest.param("bot-1", id="same-worker-takes-its-leases-back"),
        pytest.param("bot-2", id="another-worker-waits-for-the-lease"),
    ],
)
async def test_a_killed_provisioning_resumes_once_after_restart(
    world: World, restart_as: str
) -> None:
    first = await world.start_bot()
    workspace = Workspace(
        app_url=f"http://127.0.0.1:{world.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        slack=world.slack,
    )
    people = SimpleNamespace(workspace=workspace, slack=world.slack)
    second = None
    try:
        view_id = await open_request_form(people, JANE.id)
        await fill_request(people, JANE.id, view_id)
        reply = await workspace.submit(JANE.id, view_id)
        assert reply.status == 200
        await confirmed(people, view_id)
        (request,) = await world.requests()
        ask = await approval_message(people, OMAR.id, request.id)

        # Only the call that creates the user: the catalog and user reads are composites too.
        hold: Hold = world.org.hold("/composite", after_apply=True, body_has='"newUser"')
        await workspace.click(OMAR.id, ask, ActionId.APPROVE)
        assert await asyncio.to_thread(hold.wait_arrived, 10.0)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        hold.release()
        # The user exists in Salesforce, but the dead process never heard so.
        assert world.org.user_by_username("jane.doe@acme.com") is not None
        stuck = await until_state(world, request.id, State.PROVISIONING)
        assert stuck.claimed_by == "bot-1"

        second = await world.start_bot(restart_as)
        await until_state(world, request.id, State.ACTIVE)
        await world.slack.wait_for(
            lambda: any("is ready" in t for t in dm_texts(people, JANE.id)),
            timeout=10,
        )
        users = [u for u in world.org.users() if u.username == "jane.doe@acme.com"]
        assert len(users) == 1 and users[0].is_active
        assert await world.trail(request.id) == [
            "submitted",
            "approved",
            "provisioning_started",
            "provisioning_resumed",
            "provisioned",
        ]
        await world.ticks("due-work", 3)  # a few more ticks change nothing
        assert await world.trail(request.id) == [
            "submitted",
            "approved",
            "provisioning_started",
            "provisioning_resumed",
            "provisioned",
        ]
        texts = dm_texts(people, JANE.id)
        assert sum("is ready" in t for t in texts) == 1
        assert sum("was approved" in t for t in texts) == 1
    finally:
        await workspace.aclose()
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 10)


async def test_a_second_process_with_a_live_worker_id_refuses_to_start(world: World) -> None:
    first = await world.start_bot("bot-1")
    try:
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            cwd=world.directory,
            env=world.env("bot-1"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(second.communicate(), 20)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert second.returncode == 2
        message = err.decode()
        assert f"pid {first.pid} on {socket.gethostname()}" in message
        assert "runs as worker id 'bot-1' on this database" in message
        assert "give each process its own ACCESSBOT_WORKER_ID" in message
        assert first.returncode is None  # the first one serves on
    finally:
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 10) == 0
    # a clean shutdown gave the worker id up: the next start takes it at once
    again = await world.start_bot("bot-1")
    again.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(again.wait(), 10) == 0
