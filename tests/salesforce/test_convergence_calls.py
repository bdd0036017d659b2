"""What converging costs in Salesforce API calls, counted by the simulated org.

A grant for a new user: 1 call. A user already in its desired state: 1 read, nothing written.
A returning user (inactive, same email) adopted: 3. One of two grants revoked: 2. The last
grant revoked: 2 (deactivation, then its permission sets). The last grant of someone who left
Slack: 4 (what they hold is counted first, 2 calls of 5 queries). A blocked deactivation: 4
(deactivation, freeze, then what points at the user, counted for the admins).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME
from handlers.flows.batch import revoke_together
from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger, Outcome
from handlers.flows.outcomes import RevocationBlocked, RevokedAccess
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig, start_provisioning
from handlers.flows.revoke import OFFBOARDING_REASON, RevokeSource, request_revocation
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
            duration=None if days is None else timedelta(days=days),
        ),
        actor="U0OWNER",
    )
    started = await start_provisioning(repo, created, worker="w", cfg=ProvisioningConfig())
    assert isinstance(started, AccessRequest) and started.sf_username
    await converger.converge([started.sf_username])
    done = await repo.get(created.id)
    assert done is not None and done.state is State.ACTIVE
    return done


async def revoke(
    repo: RequestRepository, converger: Converger, grant: AccessRequest, *, left: bool = False
) -> list[Outcome]:
    opened = await request_revocation(
        repo,
        grant,
        actor="bot" if left else "U0OWNER",
        source=RevokeSource.OFFBOARDING if left else RevokeSource.OWNER,
        reason=OFFBOARDING_REASON if left else "done",
    )
    assert isinstance(opened, AccessRequest)
    return await revoke_together(converger, [opened])


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


async def test_a_leaver_is_counted_before_deactivation_and_a_blocked_user_after(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    leaver = await grant(repo, converger, "pat@acme.com", "Sales_Ops")
    uid = leaver.sf_user_id or ""
    org.add_records("Account", uid, 3)
    org.reset_counters()
    (outcome,) = await revoke(repo, converger, leaver, left=True)
    assert org.api_calls == 4  # what they hold (2), deactivation, then the sets it held
    assert isinstance(outcome, RevokedAccess) and outcome.holdings is not None
    assert outcome.holdings.counts() == {"Account": 3}
    user = org.user(uid)
    assert user is not None and not user.is_active

    stuck = await grant(repo, converger, "sam@acme.com", "Sales_Ops")
    org.block_deactivation(stuck.sf_user_id or "", "The user is the Default Workflow User.")
    org.reset_counters()
    opened = await request_revocation(
        repo, stuck, actor="U0OWNER", source=RevokeSource.OWNER, reason="done"
    )
    assert isinstance(opened, AccessRequest)
    (outcome,) = await revoke_together(converger, [opened])
    assert org.api_calls == 4  # deactivation refused, freeze, what points at them (2)
    assert isinstance(outcome, RevocationBlocked) and outcome.holdings is not None
    assert outcome.blocked.setup == (
        "Setup > Process Automation > Process Automation Settings > Default Workflow User",
    )


async def test_leavers_converged_together_are_counted_together(
    repo: RequestRepository, converger: Converger, org: SimulatedOrg
) -> None:
    grants = [
        await grant(repo, converger, f"{name}@acme.com", "Sales_Ops") for name in ("ann", "ben")
    ]
    org.add_records("Account", grants[1].sf_user_id or "", 2)
    for each in grants:
        opened = await request_revocation(
            repo, each, actor="bot", source=RevokeSource.OFFBOARDING, reason=OFFBOARDING_REASON
        )
        assert isinstance(opened, AccessRequest)
    org.reset_counters()
    outcomes = await converger.converge([g.sf_username or "" for g in grants])
    counted = [c for c in org.calls if "COUNT%28Id%29" in json.dumps(c.json)]
    assert len(counted) == 2  # both leavers in the same two calls
    held = {o.revocation.grant_id: o.holdings for o in outcomes if isinstance(o, RevokedAccess)}
    assert {k: v.counts() if v else None for k, v in held.items()} == {
        grants[0].id: {},
        grants[1].id: {"Account": 2},
    }
