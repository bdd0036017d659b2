"""Revoke paths and offboarding on a real SQLite file with a fake gateway."""

from __future__ import annotations

from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.offboard import offboard
from handlers.flows.outcomes import (
    RefusalReason,
    Refused,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.revoke_paths import find_revocable, revoke_grant
from handlers.policy import Policy
from salesforce.errors import Transient
from storage.kv import CatalogCache
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository
from tests.handlers.conftest import _person
from tests.handlers.fakes import BOB, JANE, OWNER, FakeGateway, blocked
from tests.handlers.test_escalate import LEASE, BulkGateway, actions, grant, state_of


def conv(repo: RequestRepository, gateway: FakeGateway, policy: Policy) -> Converger:
    """The converger over ``gateway`` (the catalog cache shares the repository's database)."""
    return Converger(
        repo,
        repo.managed,
        gateway,
        CatalogService(gateway, CatalogCache(repo.managed.db), repo.clock),
        lambda: policy,
        _person,
        worker="w1",
        lease=LEASE,
        cfg=ProvisioningConfig(),
    )


# --- revoke paths -----------------------------------------------------------------------------


async def test_find_revocable_prefers_active_grants_the_actor_may_end(
    repo: RequestRepository, policy: Policy
) -> None:
    assert isinstance(await find_revocable(repo, policy, subject_id=JANE, actor=JANE), Refused)
    pending = await grant(repo, state=State.PENDING_APPROVAL, sf_user_id=None)
    active = await grant(repo)
    assert (await find_revocable(repo, policy, subject_id=JANE, actor=OWNER)) == active
    assert (await find_revocable(repo, policy, subject_id=JANE, actor=JANE)) == active
    refused = await find_revocable(repo, policy, subject_id=JANE, actor=BOB)
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOT_ALLOWED
    cancelled = await revoke_grant(repo, policy, grant_id=pending.id, actor=JANE, reason="no")
    assert isinstance(cancelled, AccessRequest) and cancelled.state is State.CANCELLED
    forged = await revoke_grant(repo, policy, grant_id=active.id, actor=BOB, reason="")
    assert isinstance(forged, Refused)
    assert (BOB, "revocation_refused") in await actions(repo, active.id)


# --- offboarding ------------------------------------------------------------------------------


async def test_offboarding_deactivates_all_users_in_one_bulk_call(
    repo: RequestRepository, policy: Policy
) -> None:
    gateway = BulkGateway()
    gateway.deactivate_outcomes["005JANE2"] = blocked("005JANE2")
    first = await grant(repo)
    second = await grant(repo, sf_user_id="005JANE2", sf_username="jane2@acme.test")
    pending = await grant(repo, state=State.PENDING_APPROVAL, sf_user_id=None)
    other = await grant(
        repo, subject_id=BOB, requester_id=BOB, sf_user_id="005BOB", sf_username="bob@acme.test"
    )

    report = await offboard(
        repo, conv(repo, gateway, policy), subject_id=JANE, worker="w1", lease=LEASE
    )

    assert sorted(gateway.bulk_calls[0]) == ["005JANE", "005JANE2"] and len(gateway.bulk_calls) == 1
    by_grant = {item.revocation.grant_id: item.outcome for item in report.revoked}
    assert isinstance(by_grant[first.id], RevokedAccess)
    assert isinstance(by_grant[second.id], RevocationBlocked)
    assert [r.id for r in report.cancelled] == [pending.id]
    states = {g.id: await state_of(repo, g.id) for g in (first, second, pending, other)}
    assert states == {
        first.id: State.REVOKED,
        second.id: State.ACTIVE,  # frozen and waiting for an admin
        pending.id: State.CANCELLED,
        other.id: State.ACTIVE,
    }
    # a second delivery finds the blocked one already with the admins, and changes nothing
    again = await offboard(
        repo, conv(repo, gateway, policy), subject_id=JANE, worker="w1", lease=LEASE
    )
    assert [type(i.outcome) for i in again.revoked] == [Skipped] and not again.cancelled
    assert len(gateway.bulk_calls) == 1


async def test_offboarding_when_salesforce_does_not_answer(
    repo: RequestRepository, policy: Policy
) -> None:
    gateway = BulkGateway()
    gateway.bulk_error = Transient("503 Service Unavailable")
    first = await grant(repo)
    second = await grant(repo, sf_user_id="005JANE2", sf_username="jane2@acme.test")
    report = await offboard(
        repo, conv(repo, gateway, policy), subject_id=JANE, worker="w1", lease=LEASE
    )
    assert len(gateway.bulk_calls) == 1
    assert {item.revocation.grant_id for item in report.revoked} == {first.id, second.id}
    for item in report.revoked:
        assert isinstance(item.outcome, WillRetry)
        stored = await repo.get(item.revocation.id)
        assert stored is not None and stored.state is State.REQUESTED and stored.attempts == 1
        assert stored.kind is Kind.REVOKE and stored.claimed_by is None


async def test_a_lone_revocation_that_fails_is_retried(
    repo: RequestRepository, policy: Policy
) -> None:
    gateway = BulkGateway()
    gateway.deactivate_errors.append(Transient("503 Service Unavailable"))
    active = await grant(repo)
    report = await offboard(
        repo, conv(repo, gateway, policy), subject_id=JANE, worker="w1", lease=LEASE
    )
    (item,) = report.revoked
    assert isinstance(item.outcome, WillRetry) and not gateway.bulk_calls
    stored = await repo.get(item.revocation.id)
    assert stored is not None and stored.state is State.REQUESTED and stored.attempts == 1
    assert stored.grant_id == active.id


async def test_nothing_to_offboard(repo: RequestRepository, policy: Policy) -> None:
    report = await offboard(
        repo, conv(repo, BulkGateway(), policy), subject_id=BOB, worker="w1", lease=LEASE
    )
    assert report.empty
