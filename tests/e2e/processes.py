"""Bot processes (``python -m bot serve``) on one database, against simulators this test
process serves: what the crash-recovery and replica tests share."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.sandbox.front import RoundRobinFront
from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.stage import JANE, PEOPLE, SIGNING_SECRET, demo_policy
from storage.db import Database
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

ROOT = Path(__file__).resolve().parents[2]


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

    async def start_bot(
        self, worker: str = "bot-1", port: int | None = None
    ) -> asyncio.subprocess.Process:
        """``python -m bot serve`` on the world's port (or ``port``), once it listens."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port if port is None else port),
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


async def until_state(world: World, request_id: str, state: State) -> AccessRequest:
    async with asyncio.timeout(15):
        while True:
            found = next((r for r in await world.requests() if r.id == request_id), None)
            if found is not None and found.state is state:
                return found
            await asyncio.sleep(0.1)


@asynccontextmanager
async def simulated_world(directory: Path, database: dict[str, Any]) -> AsyncIterator[World]:
    """The simulated org and Slack, served until the block ends, for bots run as processes."""
    org = SimulatedOrg()
    org.seed_demo()
    org_server = OrgServer(org)
    org_server.start()
    slack = SimulatedSlack()
    for person in PEOPLE:
        slack.add_user(person.id, name=person.name, real_name=person.real_name, email=person.email)
    slack.start()
    try:
        yield World(org, org_server, slack, directory, free_port(), database)
    finally:
        org.release_all()
        slack.stop()
        org_server.stop()


__all__ = ["RoundRobinFront", "World", "free_port", "simulated_world", "until_state"]
