"""What the flows need from the outside world, as protocols: the seams tests fill with fakes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from salesforce.holdings import Holdings
from salesforce.models import (
    ApiBudget,
    Catalog,
    ChangeOutcome,
    DeactivationOutcome,
    GrantKind,
    GrantPowers,
    ProvisionResult,
    RecordPowers,
    SalesforceUser,
    UserChange,
    UserSpec,
    UserState,
)
from salesforce.transfer import BulkJob, Manager, Moved, RowFailure


class SalesforceGateway(Protocol):
    """The Salesforce operations the bot performs (implemented by ``salesforce.gateway``).

    Expected failures raise the typed errors of ``salesforce.errors``.
    """

    async def fetch_catalog(self) -> Catalog:
        """Read licenses (with seats), profiles, roles, permission sets and groups."""
        ...

    async def find_user(
        self, username: str, federation_id: str | None = None
    ) -> SalesforceUser | None:
        """The user with this Username (or FederationIdentifier), active or not."""
        ...

    async def create_user(self, spec: UserSpec) -> ProvisionResult:
        """Create the user and its assignments in one call; DuplicateUsername when taken."""
        ...

    async def integration_user_id(self) -> str:
        """The Id of the user the bot acts as."""
        ...

    async def record_powers(self, kind: GrantKind, record_id: str) -> RecordPowers:
        """What a profile, set or group could hand over; whether the bot's user holds it."""
        ...

    async def grant_powers(
        self, records: Sequence[tuple[GrantKind, str]]
    ) -> dict[str, GrantPowers]:
        """The org-wide powers of these permission sets and groups, by record Id, at once."""
        ...

    async def read_user(self, user_id: str, *, with_expiry: bool = False) -> UserState | None:
        """The user with this Id as it is now (assignments, freeze; ``with_expiry``: each
        assignment's ExpirationDate, for an org that has the field)."""
        ...

    async def find_user_state(
        self, username: str, *, with_expiry: bool = False
    ) -> UserState | None:
        """The user with this Username as it is now."""
        ...

    async def apply_change(self, change: UserChange) -> ChangeOutcome:
        """Apply one user's difference; a refused deactivation freezes them."""
        ...

    async def deactivate(self, user_id: str) -> DeactivationOutcome:
        """Deactivate; if Salesforce blocks it, freeze and say why."""
        ...

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        """Deactivate many users with sObject Collections, 200 a call."""
        ...

    async def read_holdings(
        self, user_ids: Sequence[str], objects: Sequence[str]
    ) -> dict[str, Holdings]:
        """What each user owns and what points at them (2 calls per 200 users by default)."""
        ...

    async def held_ids(self, what: str, user_id: str) -> list[str]:
        """Ids of what still points at the user: owned records, approvals, reports."""
        ...

    async def manager_of(self, user_id: str) -> Manager | None:
        """The user's Salesforce Manager, if any."""
        ...

    async def move_records(self, what: str, ids: Sequence[str], successor_id: str) -> Moved:
        """Point these at the successor with sObject Collections (200 a call)."""
        ...

    async def start_bulk_move(self, what: str, ids: Sequence[str], successor_id: str) -> str:
        """Open, fill and close a Bulk API 2.0 update job; its Id."""
        ...

    async def bulk_job(self, what: str, job_id: str) -> BulkJob:
        """A Bulk API 2.0 job's state and counts."""
        ...

    async def bulk_failures(self, what: str, job_id: str) -> tuple[RowFailure, ...]:
        """The rows a finished job refused."""
        ...

    async def freeze(self, user_id: str) -> bool:
        """Freeze the user's login; True when the user is frozen afterwards."""
        ...

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        """The user with this Id."""
        ...

    async def active_users(self, profile_ids: Sequence[str]) -> list[SalesforceUser]:
        """Active users holding one of these profiles (for reconciliation)."""
        ...

    async def last_logins(self, user_ids: Sequence[str]) -> dict[str, datetime | None]:
        """When each user last logged in (User.LastLoginDate; None: never)."""
        ...

    def budget(self) -> ApiBudget | None:
        """The API budget seen on the last response, if any."""
        ...

    async def check_session(self) -> ApiBudget:
        """One cheap call proving the session is usable (for readiness); the budget it reports."""
        ...

    def api_calls(self) -> int:
        """Data API requests made since the gateway started (for metrics)."""
        ...
