"""What converging costs in Salesforce API calls, counted by the simulated org.

A grant for a new user: 1 call. A user already in its desired state: 1 read, nothing written.
A returning user (inactive, same email) adopted: 3. One of two grants revoked: 2. The last
grant revoked: 2 (deactivation, then its permission sets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME
from handlers.flows.batch import revoke_together
from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig, start_provisioning
from handlers.flows.revoke import RevokeSource, request_revocation
from handlers.policy import Application, Policy
from salesforce.gateway import SalesforceGateway
from storage.db import Database
from storage.kv import CatalogCache
from storage.models import AccessRequest, NewRequest, State
from storage.requests import RequestRepository

POLICY = Policy(
    applications=(
        Application(
            name="sales",
            owners=("U0OWNER",),
            admins=("U0ADMIN",),
            licenses=("Salesforce",),
            profiles=("Sales User", "Standard User"),
            roles=("SalesRep",),
            permission_sets=("Sales_Ops", "Reports_Export"),
        ),
    )
)


async def _person(subject_id: str) -> Person:
    return Person(id=subject_id, email="x@acme.com", real_name="Pat Example")


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[RequestRepository]:
    async with Database(tmp_path / "calls.sqlite3") as db:
        yield RequestRepository(db)


@pytest.fixture
async def converger(
    repo: RequestRepository, gateway: SalesforceGateway, org: SimulatedOrg
) -> Converger:
    catalog = CatalogService(gateway, CatalogCache(repo.managed.db), repo.clock)
    await catalog.current()  # cached, as after the request form was opened
    await gateway.integration_user_id()  # who the bot is: read once per process
    org.reset_counters()
    return Converger(
        repo,
        repo.managed,
        gateway,
        catalog,
        lambda: POLICY,
        _person,
        worker="w",
        lease=timedelta(minutes=5),
        cfg=ProvisioningConfig(),
    )


async def grant(
    repo: RequestRepository,
    converger: Converger,
    email: str,
    *sets: str,
    profile: str = "",
    days: int | None = None,
) -> AccessRequest:
    created, _ = await repo.create(
        NewRequest(
            application="sales",
            state=State.APPROVED,
            requester_id="U0PAT",
            subject_id="U0PAT",
            subject_email=email,
            license="Salesforce",
            profile=profile or "Sales User",
            permission_sets=sets,
            duration_days=days,
        ),
        actor="U0OWNER",
    )
    started = await start_provisioning(repo, created, worker="w", cfg=ProvisioningConfig())
    assert isinstance(started, AccessRequest) and started.sf_username
    await converger.converge([started.sf_username])
    done = await repo.get(created.id)
    assert done is not None and done.state is State.ACTIVE
    return done


async def revoke(repo: RequestRepository, converger: Converger, grant: AccessRequest) -> None:
    opened = await request_revocation(
        repo, grant, actor="U0OWNER", source=RevokeSource.OWNER, reason="done"
    )
    assert isinstance(opened, AccessRequest)
    await revoke_together(converger, [opened])


async def test_a_new_user_costs_one_call_and_a_clean_one_one_read(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    done = await grant(repo, converger, "pat@acme.com", "Sales_Ops")
    assert org.api_calls == 1
    org.reset_counters()
    # something marks the user dirty, but nothing changed: one read, no write
    await repo.managed.mark("pat@acme.com", subject_id="U0PAT")
    assert await converger.converge(["pat@acme.com"]) == []
    assert org.api_calls == 1
    (read,) = org.calls
    parts = read.json["compositeRequest"]
    assert all(p["method"] == "GET" for p in parts)
    managed = await repo.managed.get("pat@acme.com")
    assert managed is not None and not managed.dirty and managed.sf_user_id == done.sf_user_id


async def test_assignments_that_expire_cost_nothing_more(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    org.turn_on_assignment_expiration()
    await converger.catalog.refresh()  # the describe comes with the catalog: no call of its own
    org.reset_counters()
    done = await grant(repo, converger, "pat@acme.com", "Sales_Ops", days=1)
    assert org.api_calls == 1
    (create,) = org.calls
    (assign,) = [p for p in create.json["compositeRequest"] if p["referenceId"] == "assign0"]
    assert "ExpirationDate" in assign["body"]
    org.reset_counters()
    await repo.managed.mark("pat@acme.com", subject_id="U0PAT")
    assert await converger.converge(["pat@acme.com"]) == []
    assert org.api_calls == 1  # the end Salesforce holds is the grant's: nothing to move
    assert done.expires_at is not None


async def test_expiration_turned_off_since_the_catalog_was_read(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    org.turn_on_assignment_expiration()
    await converger.catalog.refresh()
    await grant(repo, converger, "pat@acme.com", "Sales_Ops", days=1)
    org.turn_off_assignment_expiration()  # the cached catalog still says it is on
    second = await grant(repo, converger, "pat@acme.com", "Reports_Export", days=1)
    assert org.assignments_of(second.sf_user_id or "") == ("Reports_Export", "Sales_Ops")
    catalog = await converger.catalog.current()
    assert not catalog.assignment_expiry
    managed = await repo.managed.get("pat@acme.com")
    assert managed is not None and not managed.dirty and managed.last_error is None


async def test_adopting_a_returning_user_costs_three(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    await grant(repo, converger, INACTIVE_USERNAME, "Sales_Ops")
    assert org.api_calls == 3  # the create Salesforce refuses, the read, the change


async def test_revocations_cost_two(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    first = await grant(repo, converger, "pat@acme.com", "Sales_Ops", profile="Standard User")
    second = await grant(repo, converger, "pat@acme.com", "Reports_Export")
    assert org.assignments_of(second.sf_user_id or "") == ("Reports_Export", "Sales_Ops")
    org.reset_counters()
    await revoke(repo, converger, second)
    assert org.api_calls == 2  # read, then one change (profile back, one set out)
    assert org.assignments_of(first.sf_user_id or "") == ("Sales_Ops",)
    org.reset_counters()
    await revoke(repo, converger, first)
    assert org.api_calls == 2  # deactivation, then the sets it held
    user = org.user(first.sf_user_id or "")
    assert user is not None and not user.is_active
