"""The async face of the Salesforce layer: every call runs in a bounded thread pool."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import requests

from salesforce import (
    catalog,
    convergence,
    deprovisioning,
    holdings,
    identity,
    logins,
    powers,
    provisioning,
    soql,
    transfer,
)
from salesforce.auth import SalesforceAuth
from salesforce.client import SalesforceClient, TimeoutAdapter
from salesforce.coalesce import Coalescer
from salesforce.models import (
    ApiBudget,
    Catalog,
    ChangeOutcome,
    DeactivationOutcome,
    GrantKind,
    GrantPowers,
    OrgIdentity,
    ProvisionResult,
    RecordPowers,
    SalesforceUser,
    UserChange,
    UserSpec,
    UserState,
)
from salesforce.records import UserRow

T = TypeVar("T")


class SalesforceGateway:
    """Implements ``handlers.flows.ports.SalesforceGateway``; expected failures are typed errors.

    ``session`` is the transport seam: pass one to add adapters (tests, proxies); the gateway
    owns it either way and closes it in ``aclose``.
    """

    def __init__(
        self,
        auth: SalesforceAuth,
        *,
        max_workers: int = 4,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        session = session or requests.Session()
        session.mount("https://", TimeoutAdapter(timeout, pool_size=max_workers))
        self._client = SalesforceClient(auth, session)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="salesforce")
        self._bulk_deactivations = Coalescer(self._deactivate_now)

    async def _run(self, action: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(action, *args))

    async def fetch_catalog(self) -> Catalog:
        """Licenses (with seats), profiles, roles, permission sets and groups: one API call."""
        return await self._run(catalog.fetch_catalog, self._client)

    async def find_user(
        self, username: str, federation_id: str | None = None
    ) -> SalesforceUser | None:
        """The user with this Username (preferred) or FederationIdentifier, active or not."""
        rows = await self._run(self._client.query, soql.users_named(username, federation_id))
        users = [UserRow.model_validate(r) for r in rows]
        match = next((u for u in users if u.username.casefold() == username.casefold()), None)
        chosen = match or (users[0] if users else None)
        return chosen.to_user() if chosen else None

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        """The user with this Id."""
        rows = await self._run(self._client.query, soql.user_by_id(user_id))
        return UserRow.model_validate(rows[0]).to_user() if rows else None

    async def create_user(self, spec: UserSpec) -> ProvisionResult:
        """Create the user and its assignments in one call; DuplicateUsername when taken."""
        return await self._run(provisioning.create_user, self._client, spec)

    async def integration_user_id(self) -> str:
        """The Id of the user the bot acts as (read once per process)."""
        info = await self._run(self._client.userinfo)
        return info.user_id

    async def record_powers(self, kind: GrantKind, record_id: str) -> RecordPowers:
        """What the record could hand over, and whether the bot's own user holds it (1 call)."""
        return await self._run(powers.read_powers, self._client, kind, record_id)

    async def grant_powers(
        self, records: Sequence[tuple[GrantKind, str]]
    ) -> dict[str, GrantPowers]:
        """The org-wide powers of these permission sets and groups, by record Id (1 query)."""
        return await self._run(powers.read_grant_powers, self._client, records)

    async def read_user(self, user_id: str, *, with_expiry: bool = False) -> UserState | None:
        """The user with this Id as it is now, assignments and freeze included (1 call).

        ``with_expiry`` (an org with assignment expiration) also reads each ExpirationDate.
        """
        return await self._run(convergence.read_user, self._client, user_id, with_expiry)

    async def find_user_state(
        self, username: str, *, with_expiry: bool = False
    ) -> UserState | None:
        """The user with this Username as it is now (1 call)."""
        return await self._run(convergence.find_user_state, self._client, username, with_expiry)

    async def apply_change(self, change: UserChange) -> ChangeOutcome:
        """Apply one user's difference in one call; a refused deactivation freezes them."""
        return await self._run(convergence.apply_change, self._client, change)

    async def deactivate(self, user_id: str) -> DeactivationOutcome:
        """Deactivate; if Salesforce blocks it, freeze and say why."""
        return await self._run(deprovisioning.deactivate, self._client, user_id)

    async def read_holdings(
        self, user_ids: Sequence[str], objects: Sequence[str]
    ) -> dict[str, holdings.Holdings]:
        """What each user owns and what points at them (2 calls per 200 users by default)."""
        return await self._run(holdings.read_holdings, self._client, user_ids, objects)

    async def held_ids(self, what: str, user_id: str) -> list[str]:
        """Ids of what still points at the user: owned records, approvals, reports (1 query;
        a Bulk API 2.0 query job, polled from the event loop, when there are many)."""
        return await transfer.held_ids(self._run, self._client, what, user_id)

    async def manager_of(self, user_id: str) -> transfer.Manager | None:
        """The user's Salesforce Manager, if any (1 query)."""
        return await self._run(transfer.manager_of, self._client, user_id)

    async def move_records(
        self, what: str, ids: Sequence[str], successor_id: str
    ) -> transfer.Moved:
        """Point these at the successor with sObject Collections (200 a call)."""
        return await self._run(transfer.move_records, self._client, what, ids, successor_id)

    async def start_bulk_move(self, what: str, ids: Sequence[str], successor_id: str) -> str:
        """Open, fill and close a Bulk API 2.0 update job (3 calls); its Id."""
        return await self._run(transfer.start_bulk_move, self._client, what, ids, successor_id)

    async def bulk_job(self, what: str, job_id: str) -> transfer.BulkJob:
        """A Bulk API 2.0 job's state and counts (1 call)."""
        return await self._run(transfer.bulk_job, self._client, what, job_id)

    async def bulk_failures(self, what: str, job_id: str) -> tuple[transfer.RowFailure, ...]:
        """The rows a finished job refused (1 call)."""
        return await self._run(transfer.bulk_failures, self._client, what, job_id)

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        """Deactivate many users with sObject Collections, 200 a call.

        Calls made while one is running share the next round (see ``salesforce.coalesce``):
        a thousand people leaving at once cost a few rounds, not a thousand.
        """
        return await self._bulk_deactivations.run(user_ids)

    async def _deactivate_now(self, user_ids: list[str]) -> dict[str, DeactivationOutcome]:
        return await self._run(deprovisioning.deactivate_many, self._client, user_ids)

    async def freeze(self, user_id: str) -> bool:
        """Freeze the user's login; True when frozen afterwards."""
        return await self._run(deprovisioning.set_frozen, self._client, user_id, True)

    async def unfreeze(self, user_id: str) -> bool:
        """Unfreeze the user's login; True when unfrozen afterwards."""
        return await self._run(deprovisioning.set_frozen, self._client, user_id, False)

    async def identity(self) -> OrgIdentity:
        """Org Id, name, sandbox flag and the integration username."""
        return await self._run(identity.identity, self._client)

    async def permission_check(self) -> dict[str, bool]:
        """Each permission the integration user needs -> granted or not."""
        return await self._run(identity.permission_check, self._client)

    async def active_users(self, profile_ids: Sequence[str]) -> list[SalesforceUser]:
        """Active users holding these profiles (for reconciliation)."""
        if not profile_ids:
            return []
        rows = await self._run(self._client.query, soql.active_users(list(profile_ids)))
        return [UserRow.model_validate(r).to_user() for r in rows]

    async def last_logins(self, user_ids: Sequence[str]) -> dict[str, datetime | None]:
        """When each user last logged in (1,000 users a call); absent: no such user."""
        return await self._run(logins.read_last_logins, self._client, list(user_ids))

    def budget(self) -> ApiBudget | None:
        """The API budget seen on the last response, if any."""
        return self._client.budget

    async def check_session(self) -> ApiBudget:
        """One cheap call (GET /limits) proving the session is usable; the budget it reports."""
        return await self._run(self._client.limits)

    def api_calls(self) -> int:
        """Data API requests made since the gateway started."""
        return self._client.calls

    def budget_low(self, floor: int) -> bool:
        """True when fewer than ``floor`` daily API requests remain (non-urgent work waits)."""
        budget = self._client.budget
        return budget is not None and budget.remaining < floor

    async def aclose(self) -> None:
        """Let running calls finish, then release the pool and the session."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        self._client.close()
