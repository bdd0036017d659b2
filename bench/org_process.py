"""The simulated org in a process of its own, as Salesforce is another machine.

Sharing the driver's process would make the org's answers wait for the driver and the
simulated Slack (one interpreter lock), so its 50 ms would grow under load and bound the bot's
throughput by the bench's own CPU. A multiprocessing manager hosts it; the bench calls the
few methods below through a proxy.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.managers import BaseManager
from typing import cast

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg, UserSnapshot


@dataclass(frozen=True)
class Endpoint:
    """How a client reaches the org."""

    instance_url: str
    ca_bundle_path: str
    access_token: str


class OrgHost:
    """The demo org with room for every bench user, served over HTTPS (lives in the manager)."""

    def __init__(self, delay: float) -> None:
        self._org = SimulatedOrg(delay=delay)
        self._org.seed_demo()
        # Every bench user takes a seat; the demo's ten would run out at once.
        seats = self._org.id_of("UserLicense", "Salesforce")
        self._org.admin_update("UserLicense", seats, TotalLicenses=10**6)
        self._server = OrgServer(self._org)
        self._server.start()

    def endpoint(self) -> Endpoint:
        """Instance URL, CA bundle and an access token for the integration user."""
        server = self._server
        return Endpoint(server.instance_url, server.ca_bundle_path, server.access_token)

    def api_calls(self) -> int:
        """Data API requests answered so far."""
        return self._org.api_calls

    def calls_from(self, start: int) -> list[tuple[str, str, str]]:
        """Method, path and record type of each request received since the ``start``-th."""
        found = []
        for call in self._org.calls[start:]:
            records = call.json.get("records") if isinstance(call.json, dict) else None
            first = records[0] if isinstance(records, list) and records else {}
            kind = first.get("attributes", {}).get("type", "") if isinstance(first, dict) else ""
            found.append((call.method, call.path, str(kind)))
        return found

    def cpu_seconds(self) -> float:
        """CPU time the org's process has used (the simulator's own work, not Salesforce's)."""
        return time.process_time()

    def call_count(self) -> int:
        """HTTP requests received so far (data API or not)."""
        return len(self._org.calls)

    def users(self) -> list[UserSnapshot]:
        """Every user."""
        return self._org.users()

    def assignments_of(self, user_id: str) -> tuple[str, ...]:
        """Names of the user's permission sets and groups."""
        return self._org.assignments_of(user_id)

    def id_of(self, sobject: str, name: str) -> str:
        """The Id of a named record."""
        return self._org.id_of(sobject, name)

    def add_users(
        self, usernames: list[str], profile: str, permission_set: str, *, active: bool = True
    ) -> list[str]:
        """Users as an admin would create them in Setup (no API calls), each with one set.

        Inactive ones are people who left and came back: not frozen, their email the username.
        """
        profile_id = self._org.id_of("Profile", profile)
        set_id = self._org.id_of("PermissionSet", permission_set)
        ids = []
        for username in usernames:
            user_id = self._org.add_user(username, profile_id, last_name="Bench", active=active)
            self._org.assign(user_id, set_id)
            ids.append(user_id)
        return ids

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()


class OrgManager(BaseManager):
    """Hosts ``OrgHost`` objects in a child process."""


OrgManager.register("OrgHost", OrgHost)


def start_org_process() -> OrgManager:
    """A fresh interpreter (spawned, never forked from a threaded process) for the org."""
    manager = OrgManager(ctx=multiprocessing.get_context("spawn"))
    manager.start()
    return manager


def remote_org(manager: OrgManager, delay: float) -> OrgHost:
    """An ``OrgHost`` in the manager's process; the proxy offers the same methods."""
    return cast(OrgHost, manager.OrgHost(delay))  # type: ignore[attr-defined]
