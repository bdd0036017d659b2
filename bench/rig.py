"""The bench rig: the simulators, and the bot in a child process serving HTTP on loopback.

The bot runs as its own process (``accessbot serve``, or the naive bot for a baseline), as in
production, and its peak memory can be read from ``/proc``. The simulated Salesforce org runs
in a process of its own too (``bench.org_process``); the simulated Slack workspace stays in
this one, beside the people driving it, who read what it shows.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.org_process import Endpoint, OrgHost, OrgManager, remote_org, start_org_process
from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.stage import PEOPLE, demo_policy
from bot.sandbox.workspace import Workspace
from storage.db import is_postgres

SIGNING_SECRET = "bench-signing-secret"
REPO_ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"listening on http://[^:]+:(\d+)/slack/events")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class BenchUser:
    """A member of the simulated workspace who asks for access in the bench."""

    id: str
    email: str


def bench_users(count: int) -> list[BenchUser]:
    """``count`` distinct members, each with an email that becomes a Salesforce username."""
    return [BenchUser(f"U0B{n:06d}", f"bench.user{n:06d}@acme.com") for n in range(count)]


class TriggerLog(SimulatedSlack):
    """The simulated workspace, remembering whose interaction each trigger_id belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.trigger_owner: dict[str, str] = {}

    def issue_trigger(self, user_id: str) -> str:
        """Issue as Slack does, and note the owner (to time the modal that opens with it)."""
        trigger = super().issue_trigger(user_id)
        self.trigger_owner[trigger] = user_id
        return trigger


@dataclass
class Simulators:
    """The simulated org (its own process, with its latency) and workspace, on loopback."""

    org: OrgHost
    endpoint: Endpoint
    slack: TriggerLog
    users: list[BenchUser]
    _manager: OrgManager = field(repr=False)

    def stop(self) -> None:
        """Stop both servers and the org's process."""
        self.slack.stop()
        self.org.stop()
        self._manager.shutdown()


def start_simulators(*, delay: float, users: int) -> Simulators:
    """The demo org with room for every bench user, and a workspace holding them."""
    manager = start_org_process()
    org = remote_org(manager, delay)
    slack = TriggerLog()
    for person in PEOPLE:
        slack.add_user(
            person.id,
            name=person.name,
            real_name=person.real_name,
            email=person.email,
            tz=person.tz,
            locale=person.locale,
        )
    members = bench_users(users)
    for n, user in enumerate(members):
        slack.add_user(
            user.id,
            name=f"bench{n}",
            real_name=f"Bench User{n}",
            email=user.email,
            tz="Europe/Paris",
        )
    slack.start()
    return Simulators(
        org=org, endpoint=org.endpoint(), slack=slack, users=members, _manager=manager
    )


def write_policy(directory: Path, **overrides: Any) -> Path:
    """The demo policy (with these application settings) as the YAML file ``accessbot serve``
    reads."""
    path = directory / "policy.yml"
    data = demo_policy(**overrides).model_dump(mode="json", exclude_defaults=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class BotProcess:
    """A bot serving HTTP in a child process, with its log and database in ``directory``."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    database: Path | str  # a SQLite file, or the PostgreSQL URL it was given
    _log: Path = field(repr=False)

    @property
    def url(self) -> str:
        """Where Slack would send requests."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    def peak_rss_bytes(self) -> int:
        """The process's peak resident memory (VmHWM) so far."""
        return _status_kb(self.process.pid, "VmHWM") * 1024

    def log_tail(self, lines: int = 20) -> str:
        """The end of the bot's log, for error messages."""
        text = self._log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Ask the bot to stop (SIGTERM), as an operator would, and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(f"{key} not in /proc/{pid}/status")


def bot_command(naive: bool) -> list[str]:
    """``accessbot serve`` (the real bot), or the naive bot that works before it acknowledges."""
    module = "bench.naive_bot" if naive else "bot"
    return [sys.executable, "-m", module, "serve", "--host", "127.0.0.1", "--port", "0"]


def launch_bot(
    sims: Simulators,
    directory: Path,
    *,
    naive: bool,
    settings: Mapping[str, str] | None = None,
    policy: Mapping[str, Any] | None = None,
) -> tuple[subprocess.Popen[bytes], Path | str, Path]:
    """Start a bot wired to the simulators; returns the process, its database and its log."""
    directory.mkdir(parents=True, exist_ok=True)
    database: Path | str = directory / "accessbot.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "SALESFORCE_", "ACCESSBOT_"))
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        SLACK_BOT_TOKEN=sims.slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=sims.slack.api_url,
        SALESFORCE_INSTANCE_URL=sims.endpoint.instance_url,
        SALESFORCE_ACCESS_TOKEN=sims.endpoint.access_token,
        REQUESTS_CA_BUNDLE=sims.endpoint.ca_bundle_path,
        ACCESSBOT_DATABASE=str(database),
        ACCESSBOT_POLICY_FILE=str(write_policy(directory, **(policy or {}))),
        ACCESSBOT_WORKER_ID="bench",
        ACCESSBOT_LOG_LEVEL="WARNING",
    )
    env.update(settings or {})
    database = env["ACCESSBOT_DATABASE"] if is_postgres(env["ACCESSBOT_DATABASE"]) else database
    log = directory / "bot.log"
    with log.open("wb") as sink:
        # The working directory is the run's own, so no stray .env file is read.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            bot_command(naive), cwd=directory, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    return process, database, log


async def start_bot(
    sims: Simulators,
    directory: Path,
    *,
    naive: bool,
    settings: Mapping[str, str] | None = None,
    policy: Mapping[str, Any] | None = None,
) -> BotProcess:
    """Start a bot wired to the simulators (``settings``: extra environment; ``policy``: the
    demo application's settings changed) and wait for it."""
    process, database, log = launch_bot(
        sims, directory, naive=naive, settings=settings, policy=policy
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = _LISTENING.search(_read(log))
        if found:
            return BotProcess(process, int(found.group(1)), directory, database, log)
        if process.poll() is not None:
            break
        await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the bot did not start:\n{_read(log)[-2000:]}")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def workspace_for(sims: Simulators, bot: BotProcess) -> Workspace:
    """People's side of the workspace, sending signed requests to ``bot``."""
    return Workspace(app_url=bot.url, signing_secret=SIGNING_SECRET, slack=sims.slack)
