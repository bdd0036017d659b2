"""A whole bot on simulated Slack and Salesforce, as `accessbot demo` and the e2e tests run it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.cli import socket_mode_handler
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_server import OrgServer
from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.workspace import Workspace
from bot.settings import Settings
from bot.wiring import Runtime, build_runtime
from handlers.policy import Application, Policy
from storage.db import Clock, utc_now

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

SIGNING_SECRET = "demo-signing-secret"  # noqa: S105 - the simulator's public test value


@dataclass(frozen=True)
class DemoPerson:
    """A member of the simulated workspace."""

    id: str
    name: str
    real_name: str
    email: str
    tz: str = "Europe/Paris"
    locale: str = "en-US"


JANE = DemoPerson("U0JANE", "jane", "Jane Doe", "jane.doe@acme.com", "Europe/Paris", "fr-FR")
BOB = DemoPerson("U0BOB", "bob", "Bob Stone", "bob.stone@acme.com", "America/New_York")
OMAR = DemoPerson("U0OMAR", "omar", "Omar Haddad", "omar.haddad@acme.com")
OLIVIA = DemoPerson("U0OLIVIA", "olivia", "Olivia Chen", "olivia.chen@acme.com")
ADA = DemoPerson("U0ADA", "ada", "Ada Admin", "admin@acme.com")
MALLORY = DemoPerson("U0MALLORY", "mallory", "Mallory Moss", "mallory@acme.com")
JORDAN = DemoPerson("U0JORDAN", "jordan", "Jordan Lee", "jordan.lee@acme.com", "America/Chicago")
PEOPLE = (JANE, BOB, OMAR, OLIVIA, ADA, MALLORY, JORDAN)


def demo_policy(**overrides: Any) -> Policy:
    """The policy of the demo org: one application, two owners, one admin."""
    values: dict[str, Any] = {
        "name": "sales",
        "display_name": "Sales Cloud",
        "owners": (OMAR.id, OLIVIA.id),
        "admins": (ADA.id,),
        "licenses": ("Salesforce", "Salesforce Platform"),
        "profiles": ("Standard User", "Sales User", "Support User", "Standard Platform User"),
        "roles": ("SalesRep", "SalesManager", "SupportAgent"),
        "permission_sets": ("Sales_Ops", "Reports_Export", "Knowledge_Author"),
        "permission_set_groups": ("Sales_Bundle",),
        "durations_days": (1, 7, 30, None),
    }
    values.update(overrides)
    return Policy(applications=(Application.model_validate(values),))


@dataclass
class Stage:
    """Simulated org and workspace, the bot serving HTTP on loopback, and people to drive it."""

    org: SimulatedOrg
    org_server: OrgServer
    slack: SimulatedSlack
    runtime: Runtime
    workspace: Workspace
    policy_holder: list[Policy]
    _env: dict[str, str | None] = field(default_factory=dict)
    clock: Clock = utc_now
    socket_mode: AsyncSocketModeHandler | None = None

    @property
    def policy(self) -> Policy:
        """The policy the bot reads now."""
        return self.policy_holder[0]

    def set_policy(self, policy: Policy) -> None:
        """Change the policy as an edited policy file would."""
        self.policy_holder[0] = policy

    async def settle(self) -> None:
        """Wait until every background step the bot started has finished."""
        await self.runtime.deps.worker.drain()

    async def restart_bot(self) -> None:
        """Stop the bot and start a new one on the same database, simulators and port."""
        port = urlsplit(self.workspace.app_url).port or 0
        settings = self.runtime.settings
        await self.workspace.aclose()  # its next request opens a fresh connection
        await self.runtime.close()
        holder = self.policy_holder
        self.runtime = await build_runtime(settings, lambda: holder[0], clock=self.clock)
        await self.runtime.serve_http("127.0.0.1", port)

    async def close(self) -> None:
        """Stop the bot and both simulators, and restore the environment."""
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]
        await self.workspace.aclose()
        await self.runtime.close()
        self.slack.stop()
        self.org_server.stop()
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def start_stage(
    directory: Path,
    *,
    policy: Policy | None = None,
    org: SimulatedOrg | None = None,
    clock: Clock = utc_now,
    settings: dict[str, Any] | None = None,
    people: tuple[DemoPerson, ...] = PEOPLE,
    socket_mode: bool = False,
) -> Stage:
    """Start the simulators and a bot wired to them; the caller closes the stage.

    With ``socket_mode`` the bot has an app-level token and no signing secret: it opens a
    Socket Mode link to the simulated Slack, as ``accessbot serve`` does, and people's
    requests reach it in envelopes over that link instead of signed HTTP.
    """
    if org is None:
        org = SimulatedOrg(clock=clock)
        org.seed_demo()
    org_server = OrgServer(org)
    org_server.start()
    slack = SimulatedSlack()
    for person in people:
        slack.add_user(
            person.id,
            name=person.name,
            real_name=person.real_name,
            email=person.email,
            tz=person.tz,
            locale=person.locale,
        )
    slack.add_channel("C0APPROVALS", "salesforce-approvals")
    slack.start()
    # requests lets REQUESTS_CA_BUNDLE override a session's CA, so the CA is named there.
    saved = {"REQUESTS_CA_BUNDLE": os.environ.get("REQUESTS_CA_BUNDLE")}
    os.environ["REQUESTS_CA_BUNDLE"] = org_server.ca_bundle_path
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": SecretStr(slack.bot_token),
        "SLACK_SIGNING_SECRET": SecretStr(SIGNING_SECRET),
        "SLACK_API_URL": slack.api_url,
        "ACCESSBOT_DATABASE": directory / "accessbot.sqlite3",
        "ACCESSBOT_WORKER_ID": "stage",
        "SALESFORCE_INSTANCE_URL": org_server.instance_url,
        "SALESFORCE_ACCESS_TOKEN": SecretStr(org_server.access_token),
    }
    if socket_mode:
        del values["SLACK_SIGNING_SECRET"]
        values["SLACK_APP_TOKEN"] = SecretStr(slack.app_token)
    values.update(settings or {})
    holder = [policy or demo_policy()]
    policy_source: Callable[[], Policy] = lambda: holder[0]  # noqa: E731
    runtime = await build_runtime(Settings(_env_file=None, **values), policy_source, clock=clock)
    link = socket_mode_handler(runtime.app, runtime.settings)
    if link is not None:
        await link.connect_async()  # type: ignore[no-untyped-call]
        # The handshake is done; the simulated Slack counts the link a moment later.
        if not await asyncio.to_thread(slack.socket_mode.wait_connected, 1, 10.0):
            raise TimeoutError("the bot's Socket Mode link did not come up")
        app_url = ""
    else:
        app_url = f"http://127.0.0.1:{await runtime.serve_http('127.0.0.1', 0)}/slack/events"
    workspace = Workspace(
        app_url=app_url,
        signing_secret=SIGNING_SECRET,
        slack=slack,
        command=runtime.settings.slack_command,
        socket_mode=link is not None,
    )
    return Stage(
        org=org,
        org_server=org_server,
        slack=slack,
        runtime=runtime,
        workspace=workspace,
        policy_holder=holder,
        _env=saved,
        clock=clock,
        socket_mode=link,
    )
