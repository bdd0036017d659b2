"""Reconciliation: each kind of drift is found, reported, and corrected only when allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from handlers.flows.lifecycle import DriftKind
from handlers.flows.reconcile import reconcile
from handlers.policy import Policy
from salesforce.models import DeactivationOutcome, SalesforceUser
from storage.db import Database
from storage.due import DueWork
from storage.models import Kind, NewRequest, State
from storage.requests import RequestRepository
from tests.handlers.fakes import JANE, FakeGateway, demo_catalog, sales_app

STANDARD, SALES = "00eA", "00eB"


class DirectoryGateway(FakeGateway):
    """A fake org with a list of users."""

    def __init__(self, users: list[SalesforceUser]) -> None:
        super().__init__()
        self.users = {u.id: u for u in users}

    async def active_users(self, profile_ids: Sequence[str]) -> list[SalesforceUser]:
        self.calls.append(("active_users", tuple(profile_ids)))
        return [u for u in self.users.values() if u.is_active and u.profile_id in profile_ids]

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        return self.users.get(user_id)

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        self.calls.append(("deactivate_many", tuple(user_ids)))
        return {u: await self.deactivate(u) for u in user_ids}


def user(
    user_id: str, *, active: bool = True, profile: str = SALES, email: str = ""
) -> SalesforceUser:
    name = email or f"{user_id.lower()}@acme.com"
    return SalesforceUser(
        id=user_id, username=name, is_active=active, profile_id=profile, email=name
    )


async def grant(repo: RequestRepository, state: State, **values: Any) -> str:
    fields: dict[str, Any] = {
        "application": "sales",
        "state": state,
        "requester_id": JANE,
        "subject_id": JANE,
        "subject_email": "someone@acme.com",
        "license": "Salesforce",
        "profile": "Sales User",
    }
    fields.update(values)
    created, _ = await repo.create(NewRequest.model_validate(fields), actor=JANE)
    return created.id


@pytest.fixture
def org() -> DirectoryGateway:
    return DirectoryGateway(
        [
            user("005AGAIN"),  # the bot revoked it; someone turned it back on
            user("005GONE", active=False),  # its grant is active, the user is not
            user("005STRAY", profile=STANDARD),  # nobody asked the bot
            user("005FINE"),  # an active grant holds it
            user("005NEW", email="new.hire@acme.com"),  # its grant is being provisioned
            user("005OTHER", profile="00eZ"),  # a profile no application hands out
        ]
    )


@pytest.fixture
async def drifted(repo: RequestRepository) -> dict[str, str]:
    return {
        "again": await grant(repo, State.REVOKED, sf_user_id="005AGAIN"),
        "gone": await grant(repo, State.ACTIVE, sf_user_id="005GONE"),
        "fine": await grant(repo, State.ACTIVE, sf_user_id="005FINE"),
        "new": await grant(repo, State.PROVISIONING, subject_email="new.hire@acme.com"),
    }


async def test_every_kind_of_drift_is_reported_and_nothing_changes(
    repo: RequestRepository, db: Database, org: DirectoryGateway, drifted: dict[str, str]
) -> None:
    policy = Policy(applications=(sales_app(),))
    (report,) = await reconcile(repo, DueWork(db), org, demo_catalog(), policy)
    found = {(d.kind, d.user_id, d.grant_id) for d in report.drifts}
    assert found == {
        (DriftKind.ACTIVE_AGAIN, "005AGAIN", drifted["again"]),
        (DriftKind.DEACTIVATED_BY_HAND, "005GONE", drifted["gone"]),
        (DriftKind.NOT_GRANTED, "005STRAY", None),
    }
    assert report.checked_users == 4
    assert not any(d.fixed for d in report.drifts)
    assert [c for c in org.calls if c[0] != "active_users"] == []
    assert sorted(org.calls[0][1]) == ["00eA", "00eB", "00eC"]
    gone = await repo.get(drifted["gone"])
    assert gone is not None and gone.state is State.ACTIVE
    entries = [e async for e in repo.audit.entries() if e.action == "reconciled"]
    assert entries[-1].detail["not_granted"] == 1 and entries[-1].detail["fixed"] == 0


async def test_the_policy_may_correct_drift(
    repo: RequestRepository, db: Database, org: DirectoryGateway, drifted: dict[str, str]
) -> None:
    policy = Policy(applications=(sales_app(auto_revoke_drift=True),))
    (report,) = await reconcile(repo, DueWork(db), org, demo_catalog(), policy)
    assert len(report.drifts) == 3
    assert {d.kind: d.fixed for d in report.drifts} == {
        DriftKind.ACTIVE_AGAIN: True,
        DriftKind.DEACTIVATED_BY_HAND: True,
        DriftKind.NOT_GRANTED: False,  # never switched off automatically: a person decides
    }
    bulk = [c for c in org.calls if c[0] == "deactivate_many"]
    assert [sorted(c[1]) for c in bulk] == [["005AGAIN"]]
    revocation = (await repo.find(grant_id=drifted["gone"], kind=Kind.REVOKE))[0]
    assert revocation.state is State.REQUESTED
    actions = [e.action async for e in repo.audit.entries()]
    assert actions.count("drift_deactivated") == 1
