"""A bot process killed with SIGKILL mid-provisioning, then restarted: the step resumes once.

The bot runs as a real subprocess (``python -m bot serve``) against simulators this test
process serves; the simulated org holds its answer to the provisioning call (after applying
it) while the process is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from bot.sandbox.salesforce_org import Hold, OrgServer, SimulatedOrg
from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.stage import JANE, OMAR, PEOPLE, SIGNING_SECRET, demo_policy
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId
from storage.db import Database
from storage.models import AccessRequest, State
from storage.requests import RequestRepository
from tests.e2e.steps import approval_message, dm_texts, fill_request, open_request_form

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@dataclass
class World:
    """The simulators, the policy file and the database the bot processes share."""

    org: SimulatedOrg
    org_server: OrgServer
    slack: SimulatedSlack
    directory: Path
    port: int
    database_settings: dict[str, Any]
    logs: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def database(self) -> str:
        """The SQLite file in the world's folder, or the PostgreSQL URL under test."""
        url = self.database_settings.get("ACCESSBOT_DATABASE")
        return str(url or self.directory / "accessbot.sqlite3")

    def env(self, worker: str) -> dict[str, str]:
        policy = self.directory / "policy.yml"
        policy.write_text(yaml.safe_dump(demo_policy().model_dump(mode="json")))
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "ACCESSBOT_DATABASE": self.database,
            "ACCESSBOT_AUDIT_KEY_FILE": str(self.directory / "audit.key"),
            "ACCESSBOT_POLICY_FILE": str(policy),
            "ACCESSBOT_WORKER_ID": worker,
            "ACCESSBOT_TICK_SECONDS": "0.2",
            # The scheduler's routine lines ("executed successfully") are how the test sees
            # ticks; at INFO an idle bot writes none.
            "ACCESSBOT_LOG_LEVEL": "DEBUG",
            "ACCESSBOT_LEASE_SECONDS": "2",
            "SALESFORCE_INSTANCE_URL": self.org_server.instance_url,
            "SALESFORCE_ACCESS_TOKEN": self.org_server.access_token,
            "REQUESTS_CA_BUNDLE": self.org_server.ca_bundle_path,
        }

    async def start_bot(self, worker: str = "bot-1") -> asyncio.subprocess.Process:
        """``python -m bot serve`` on the world's port, once it listens."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            cwd=self.directory,
            env=self.env(worker),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        listening = asyncio.Event()

        async def drain() -> None:
            assert process.stderr is not None
            async for raw in process.stderr:
                line = raw.decode(errors="replace")
                self.logs.append(line)
                if "listening on" in line:
                    listening.set()

        self.readers.append(asyncio.create_task(drain()))
        async with asyncio.timeout(20):
            await listening.wait()
        return process

    def _runs(self, job: str) -> int:
        """How many runs of the scheduled ``job`` the bots have logged as finished."""
        return sum(
            f'Job "{job} (' in line and "executed successfully" in line for line in self.logs
        )

    async def ticks(self, job: str, count: int) -> None:
        """Wait until the running bot has run ``job`` ``count`` more times."""
        target = self._runs(job) + count
        async with asyncio.timeout(10):
            while self._runs(job) < target:
                await asyncio.sleep(0.05)

    async def requests(self) -> list[AccessRequest]:
        async with Database(self.database) as db:
            return await RequestRepository(db).find(subject_id=JANE.id)

    async def trail(self, request_id: str) -> list[str]:
        async with Database(self.database) as db:
            repo = RequestRepository(db)
            assert (await repo.audit.verify()).ok
            return [e.action for e in await repo.audit.for_request(request_id)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def world(tmp_path: Path, e2e_database: dict[str, Any]) -> AsyncIterator[World]:
    org = SimulatedOrg()
    org.seed_demo()
    org_server = OrgServer(org)
    org_server.start()
    slack = SimulatedSlack()
    for person in PEOPLE:
        slack.add_user(person.id, name=person.name, real_name=person.real_name, email=person.email)
    slack.start()
    try:
        yield World(org, org_server, slack, tmp_path, free_port(), e2e_database)
    finally:
        org.release_all()
        slack.stop()
        org_server.stop()


async def until_state(world: World, request_id: str, state: State) -> AccessRequest:
    async with asyncio.timeout(15):
        while True:
            found = next((r for r in await world.requests() if r.id == request_id), None)
            if found is not None and found.state is state:
                return found
            await asyncio.sleep(0.1)


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
