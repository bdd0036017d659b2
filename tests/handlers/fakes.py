"""Test doubles and sample data for the flows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from handlers.policy import Application
from salesforce.errors import SalesforceError
from salesforce.holdings import Holdings
from salesforce.models import (
    ApiBudget,
    Blocker,
    Catalog,
    ChangeApplied,
    ChangeOutcome,
    Deactivated,
    DeactivationBlocked,
    DeactivationOutcome,
    GrantKind,
    GrantPowers,
    PermissionSet,
    Profile,
    ProvisionAction,
    ProvisionResult,
    RecordPowers,
    Role,
    SalesforceUser,
    UserChange,
    UserLicense,
    UserSpec,
    UserState,
)

OWNER, OTHER_OWNER, ADMIN, JANE, BOB = "U0OWNER1", "U0OWNER2", "U0ADMIN1", "U0JANE01", "U0BOB001"


def demo_catalog() -> Catalog:
    return Catalog(
        licenses=(
            UserLicense(id="100A", name="Salesforce", master_label="Salesforce", total=10, used=4),
            UserLicense(id="100B", name="Salesforce Platform", total=2, used=2),
        ),
        profiles=(
            Profile(id="00eA", name="Standard User", license_id="100A"),
            Profile(id="00eB", name="Sales User", license_id="100A"),
            Profile(id="00eC", name="Standard Platform User", license_id="100B"),
        ),
        roles=(Role(id="00EA", name="Sales Rep", developer_name="SalesRep"),),
        permission_sets=(PermissionSet(id="0PSA", name="Sales_Ops", label="Sales Ops"),),
    )


def sales_app(**overrides: object) -> Application:
    values: dict[str, object] = {
        "name": "sales",
        "display_name": "Sales Cloud",
        "owners": (OWNER, OTHER_OWNER),
        "admins": (ADMIN,),
        "licenses": ("Salesforce", "Salesforce Platform"),
        "profiles": ("Standard User", "Sales User", "Standard Platform User"),
        "roles": ("SalesRep",),
        "permission_sets": ("Sales_Ops",),
        "durations_days": (7, None),
    }
    values.update(overrides)
    return Application.model_validate(values)


class FakeGateway:
    """Answers like the Salesforce layer would; records every call."""

    def __init__(self) -> None:
        self.catalog = demo_catalog()
        self.calls: list[tuple[str, object]] = []
        self.provision_errors: list[SalesforceError] = []
        self.deactivate_outcomes: dict[str, DeactivationOutcome] = {}
        self.deactivate_errors: list[SalesforceError] = []
        self.states: dict[str, UserState] = {}

    async def fetch_catalog(self) -> Catalog:
        self.calls.append(("fetch_catalog", None))
        return self.catalog

    async def find_user(self, username: str, federation_id: str | None = None) -> None:
        return None

    async def create_user(self, spec: UserSpec) -> ProvisionResult:
        self.calls.append(("create_user", spec))
        if self.provision_errors:
            raise self.provision_errors.pop(0)
        assigned = (*spec.permission_set_ids, *spec.permission_set_group_ids)
        self.states["005NEW"] = UserState(
            id="005NEW",
            username=spec.username,
            email=spec.email,
            is_active=True,
            profile_id=spec.profile_id,
            role_id=spec.role_id,
            login_id="060NEW",
            created_by_id="005BOT",
            assignments={i: f"0Pa{i}" for i in assigned},
        )
        return ProvisionResult(
            user_id="005NEW",
            username=spec.username,
            action=ProvisionAction.CREATED,
            assigned=assigned,
            api_calls=1,
        )

    async def integration_user_id(self) -> str:
        return "005BOT"

    async def record_powers(self, kind: GrantKind, record_id: str) -> RecordPowers:
        return RecordPowers(kind=kind, record_id=record_id)

    async def grant_powers(
        self, records: Sequence[tuple[GrantKind, str]]
    ) -> dict[str, GrantPowers]:
        return {i: GrantPowers(kind=kind, record_id=i) for kind, i in records}

    async def read_user(self, user_id: str, *, with_expiry: bool = False) -> UserState | None:
        self.calls.append(("read_user", user_id))
        return self.states.get(user_id)

    async def find_user_state(
        self, username: str, *, with_expiry: bool = False
    ) -> UserState | None:
        self.calls.append(("find_user_state", username))
        return next((u for u in self.states.values() if u.username == username), None)

    async def apply_change(self, change: UserChange) -> ChangeOutcome:
        self.calls.append(("apply_change", change))
        if change.deactivates and change.user_id in self.deactivate_outcomes:
            return self.deactivate_outcomes[change.user_id]
        return ChangeApplied(user_id=change.user_id, assigned=change.assign)

    async def deactivate(self, user_id: str) -> DeactivationOutcome:
        self.calls.append(("deactivate", user_id))
        if self.deactivate_errors:
            raise self.deactivate_errors.pop(0)
        outcome = self.deactivate_outcomes.get(user_id, Deactivated(user_id=user_id))
        if isinstance(outcome, Deactivated) and user_id in self.states:
            self.states[user_id] = self.states[user_id].model_copy(update={"is_active": False})
        return outcome

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        return {u: await self.deactivate(u) for u in user_ids}

    async def read_holdings(
        self, user_ids: Sequence[str], objects: Sequence[str]
    ) -> dict[str, Holdings]:
        self.calls.append(("read_holdings", list(user_ids)))
        return {u: Holdings(user_id=u) for u in user_ids}

    async def freeze(self, user_id: str) -> bool:
        return True

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        return None

    async def active_users(self, profile_ids: Sequence[str]) -> list[SalesforceUser]:
        return []

    async def last_logins(self, user_ids: Sequence[str]) -> dict[str, datetime | None]:
        return dict.fromkeys(user_ids)

    def budget(self) -> ApiBudget | None:
        return None

    async def check_session(self) -> ApiBudget:
        return ApiBudget(used=0, total=15000)

    def api_calls(self) -> int:
        return len(self.calls)


def blocked(user_id: str) -> DeactivationBlocked:
    return DeactivationBlocked(
        user_id=user_id,
        blocker=Blocker.DEFAULT_WORKFLOW_USER,
        explanation="The user is the Default Workflow User.",
        fix="Pick another user in Process Automation Settings.",
        raw_message="Cannot deactivate: user is the Default Workflow User",
        frozen=True,
    )
