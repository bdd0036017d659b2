"""The lifecycle flows with a real SQLite file, a hand-moved clock and a fake Salesforce."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.decide import decide
from handlers.flows.expiry import expire_grants, warn_expiring
from handlers.flows.extend import request_extension
from handlers.flows.lifecycle import AskedAdmins, Reminded, Superseded
from handlers.flows.outcomes import (
    RefusalReason,
    Refused,
    RevocationBlocked,
    RevokedAccess,
    Submitted,
    WillRetry,
)
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.reminders import expire_undecided, next_nudge_at, nudge_undecided
from handlers.flows.revoke import RevokeSource, request_revocation
from handlers.policy import Policy, Timings
from salesforce.errors import Transient
from salesforce.models import DeactivationOutcome
from storage.db import Database
from storage.due import DueWork
from storage.kv import CatalogCache
from storage.models import AccessRequest, Kind, NewRequest, State
from storage.requests import RequestRepository
from tests.handlers.conftest import _person
from tests.handlers.fakes import JANE, OWNER, FakeGateway, blocked, sales_app

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
TIMINGS = Timings(
    first_reminder_after=timedelta(hours=1),
    reminder_backoff=2.0,
    reminders_before_escalation=2,
    pending_expires_after=timedelta(days=3),
    expiry_warning_before=timedelta(days=1),
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class BulkGateway(FakeGateway):
    """Records bulk deactivations as one call."""

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        self.calls.append(("deactivate_many", tuple(user_ids)))
        if self.deactivate_errors:
            raise self.deactivate_errors.pop(0)
        outcomes = {}
        for user_id in user_ids:
            outcomes[user_id] = await super().deactivate(user_id)
        self.calls[:] = [c for c in self.calls if c[0] != "deactivate"]
        return outcomes


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def db(tmp_path: Path, clock: Clock) -> AsyncIterator[Database]:
    async with Database(tmp_path / "lifecycle.sqlite3", clock=clock) as database:
        yield database


@pytest.fixture
def due(db: Database) -> DueWork:
    return DueWork(db)


@pytest.fixture
def policy() -> Policy:
    return Policy(applications=(sales_app(),), timings=TIMINGS)


@pytest.fixture
def bulk() -> BulkGateway:
    return BulkGateway()


@pytest.fixture
def conv(repo: RequestRepository, db: Database, bulk: BulkGateway, policy: Policy) -> Converger:
    return Converger(
        repo,
        repo.managed,
        bulk,
        CatalogService(bulk, CatalogCache(db), db.clock),
        lambda: policy,
        _person,
        worker="w",
        lease=LEASE,
        cfg=ProvisioningConfig(),
    )


async def pending(repo: RequestRepository, **values: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "application": "sales",
        "state": State.PENDING_APPROVAL,
        "requester_id": JANE,
        "subject_id": JANE,
        "subject_email": "jane@acme.com",
        "license": "Salesforce",
        "profile": "Standard User",
        "duration": timedelta(days=7),
    }
    fields.update(values)
    request, _ = await repo.create(NewRequest.model_validate(fields), actor=JANE)
    return request


async def active(
    repo: RequestRepository, *, ends_in: timedelta, user: str = "005A", **values: Any
) -> AccessRequest:
    username = f"{user.lower()}@acme.test"
    request = await pending(repo, sf_user_id=user, sf_username=username, **values)
    await repo.managed.add_created(username, sf_user_id=user, subject_id=request.subject_id)
    moved = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.ACTIVE,
        actor="bot",
        action="provisioned",
        changes={"expires_at": repo.clock() + ends_in, "decided_by": OWNER},
    )
    assert moved is not None
    return moved


def test_each_gap_between_nudges_grows_by_the_backoff() -> None:
    gaps = [next_nudge_at(START, TIMINGS, n) - START for n in range(3)]
    assert gaps == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]


async def test_owners_are_reminded_then_the_admins_asked_once(
    repo: RequestRepository, due: DueWork, policy: Policy, clock: Clock
) -> None:
    request = await pending(repo)

    async def step(after: timedelta) -> list[Reminded | AskedAdmins]:
        clock.now += after
        return await nudge_undecided(repo, due, policy, worker="w", lease=LEASE)

    assert await step(timedelta(minutes=59)) == []
    first = await step(timedelta(minutes=1))
    assert [type(o) for o in first] == [Reminded] and first[0].number == 1
    assert first[0].request.next_attempt_at == clock.now + timedelta(hours=2)
    assert await step(timedelta(hours=1)) == []
    second = await step(timedelta(hours=1))
    assert isinstance(second[0], Reminded) and second[0].number == 2
    asked = await step(timedelta(hours=4))
    assert isinstance(asked[0], AskedAdmins) and asked[0].reminders == 2
    assert asked[0].request.claimed_by is None
    assert await step(timedelta(days=2)) == []
    trail = [e.action for e in await repo.audit.for_request(request.id)]
    assert trail == ["submitted", "reminded", "reminded", "escalated_undecided"]


async def test_no_reminders_means_the_admins_are_asked_at_the_first_delay(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    policy = Policy(
        applications=(sales_app(),),
        timings=TIMINGS.model_copy(update={"reminders_before_escalation": 0}),
    )
    await pending(repo)
    clock.now += timedelta(hours=1)
    outcomes = await nudge_undecided(repo, due, policy, worker="w", lease=LEASE)
    assert [type(o) for o in outcomes] == [AskedAdmins]


async def test_two_processes_remind_once(
    tmp_path: Path, clock: Clock, policy: Policy, db: Database
) -> None:
    repo = RequestRepository(db)
    for _ in range(5):
        await pending(repo)
    clock.now += timedelta(hours=1)
    async with Database(db.path, clock=clock) as other:
        results = await asyncio.gather(
            nudge_undecided(repo, DueWork(db), policy, worker="a", lease=LEASE),
            nudge_undecided(
                RequestRepository(other), DueWork(other), policy, worker="b", lease=LEASE
            ),
        )
    ids = [o.request.id for outcomes in results for o in outcomes]
    assert len(ids) == len(set(ids)) == 5


async def test_undecided_requests_expire_once(
    repo: RequestRepository, due: DueWork, policy: Policy, clock: Clock
) -> None:
    old = await pending(repo)
    clock.now += timedelta(days=2)
    await pending(repo)
    clock.now += timedelta(days=1)
    first, second = await asyncio.gather(
        expire_undecided(repo, due, policy), expire_undecided(repo, due, policy)
    )
    assert [r.id for r in first + second] == [old.id]
    stored = await repo.get(old.id)
    assert stored is not None and stored.state is State.EXPIRED
    assert [e.action for e in await repo.audit.for_request(old.id)][-1] == "expired"


async def test_the_warning_goes_out_once_and_not_when_an_extension_is_under_way(
    repo: RequestRepository, due: DueWork, policy: Policy
) -> None:
    plain = await active(repo, ends_in=timedelta(hours=12))
    extended = await active(repo, ends_in=timedelta(hours=12), user="005B")
    await pending(repo, grant_id=extended.id)
    told = await warn_expiring(repo, due, policy, worker="w", lease=LEASE)
    assert [g.id for g in told] == [plain.id]
    assert await warn_expiring(repo, due, policy, worker="w", lease=LEASE) == []
    trail = await repo.audit.for_request(extended.id)
    assert trail[-1].action == "expiry_warning_sent" and "extension" in trail[-1].detail


async def test_many_expiries_are_revoked_with_one_bulk_call(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    grants = [await active(repo, ends_in=timedelta(hours=1), user=f"005U{i}") for i in range(3)]
    clock.now += timedelta(hours=2)
    outcomes = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert [(name, sorted(ids)) for name, ids in bulk.calls] == [
        ("deactivate_many", ["005U0", "005U1", "005U2"])
    ]
    assert all(isinstance(o, RevokedAccess) for o in outcomes) and len(outcomes) == 3
    for grant in grants:
        stored = await repo.get(grant.id)
        assert stored is not None and stored.state is State.REVOKED
        assert stored.claimed_by is None
        revocation = (await repo.find(grant_id=grant.id, kind=Kind.REVOKE))[0]
        assert revocation.state is State.DONE and revocation.reason == "The access period ended."
    assert await expire_grants(repo, due, conv, worker="w", lease=LEASE) == []


async def test_a_single_expiry_uses_the_single_call(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    await active(repo, ends_in=timedelta(hours=1))
    clock.now += timedelta(hours=2)
    await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert bulk.calls == [("deactivate", "005A")]


async def test_two_grants_on_one_user_end_with_the_user_deactivated(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    first = await active(repo, ends_in=timedelta(hours=1), user="005S")
    second = await active(repo, ends_in=timedelta(hours=1), user="005S")
    clock.now += timedelta(hours=2)
    outcomes = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert bulk.calls == [("deactivate", "005S")]
    assert sum(isinstance(o, RevokedAccess) for o in outcomes) == 2
    for grant in (first, second):
        stored = await repo.get(grant.id)
        assert stored is not None and stored.state is State.REVOKED


async def test_blocked_and_failed_expiries_stay_with_their_revocation(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    stuck = await active(repo, ends_in=timedelta(hours=1), user="005K")
    await active(repo, ends_in=timedelta(hours=1), user="005L")
    bulk.deactivate_outcomes["005K"] = blocked("005K")
    clock.now += timedelta(hours=2)
    outcomes = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert sorted(type(o).__name__ for o in outcomes) == ["RevocationBlocked", "RevokedAccess"]
    still = await repo.get(stuck.id)
    assert still is not None and still.state is State.ACTIVE and still.claimed_by is None
    clock.now += timedelta(hours=1)
    assert await expire_grants(repo, due, conv, worker="w", lease=LEASE) == []


async def test_a_passing_failure_retries_every_revocation_of_the_batch(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    for user in ("005M", "005N"):
        await active(repo, ends_in=timedelta(hours=1), user=user)
    bulk.deactivate_errors.append(Transient("503 Server Unavailable"))
    clock.now += timedelta(hours=2)
    outcomes = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert [type(o) for o in outcomes] == [WillRetry, WillRetry]
    revocations = await repo.find(kind=Kind.REVOKE)
    assert {r.state for r in revocations} == {State.REQUESTED}
    assert all(r.attempts == 1 and r.next_attempt_at for r in revocations)


async def test_a_grant_with_an_active_extension_ends_without_touching_the_user(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    grant = await active(repo, ends_in=timedelta(hours=1), user="005E")
    extension = await active(repo, ends_in=timedelta(days=7), user="005E", grant_id=grant.id)
    clock.now += timedelta(hours=2)
    outcomes = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert [type(o) for o in outcomes] == [Superseded]
    assert bulk.calls == []
    closed = await repo.get(grant.id)
    assert closed is not None and closed.state is State.REVOKED
    assert (await repo.audit.for_request(grant.id))[-1].detail["extension"] == extension.id


async def test_an_extension_is_asked_once_by_the_person_only(
    repo: RequestRepository, policy: Policy
) -> None:
    grant = await active(repo, ends_in=timedelta(hours=5), reason="quarter close")
    refused = await request_extension(repo, policy, grant_id=grant.id, actor=OWNER)
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOT_ALLOWED
    missing = await request_extension(repo, policy, grant_id="R-NOPE", actor=JANE)
    assert isinstance(missing, Refused) and missing.reason is RefusalReason.NOT_FOUND
    first, again = await asyncio.gather(
        request_extension(repo, policy, grant_id=grant.id, actor=JANE),
        request_extension(repo, policy, grant_id=grant.id, actor=JANE),
    )
    assert isinstance(first, Submitted) and isinstance(again, Submitted)
    assert first.request.id == again.request.id
    assert [first.created, again.created].count(True) == 1
    extension = first.request
    assert extension.state is State.PENDING_APPROVAL and extension.grant_id == grant.id
    assert (extension.profile, extension.duration) == ("Standard User", timedelta(days=7))
    assert extension.reason.startswith(f"Extension of {grant.id}")
    later = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(later, Submitted) and not later.created


async def test_permanent_access_has_nothing_to_extend(
    repo: RequestRepository, policy: Policy
) -> None:
    grant = await active(repo, ends_in=timedelta(days=1))
    forever = await repo.transition(
        grant.id,
        expected=State.ACTIVE,
        to=State.ACTIVE,
        actor="bot",
        action="changed",
        changes={"expires_at": None},
    )
    assert forever is not None
    refused = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOTHING_TO_DO


async def test_blocked_outcome_names_the_blocker(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    bulk: BulkGateway,
    clock: Clock,
    conv: Converger,
) -> None:
    await active(repo, ends_in=timedelta(hours=1), user="005Q")
    bulk.deactivate_outcomes["005Q"] = blocked("005Q")
    clock.now += timedelta(hours=2)
    (outcome,) = await expire_grants(repo, due, conv, worker="w", lease=LEASE)
    assert isinstance(outcome, RevocationBlocked)
    assert outcome.revocation.state is State.BLOCKED
    assert outcome.blocked.blocker.value == "default_workflow_user"


async def test_an_extension_keeps_the_username_an_admin_chose(
    repo: RequestRepository, policy: Policy
) -> None:
    grant = await active(repo, ends_in=timedelta(hours=5))
    renamed = await repo.transition(
        grant.id,
        expected=State.ACTIVE,
        to=State.ACTIVE,
        actor="U0ADMIN1",
        action="username_changed",
        changes={"username_override": "jane@acme.com.sales"},
    )
    assert renamed is not None
    asked = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(asked, Submitted)
    assert asked.request.username_override == "jane@acme.com.sales"


async def test_revoking_a_grant_cancels_its_undecided_extension_with_it(
    repo: RequestRepository, policy: Policy
) -> None:
    grant = await active(repo, ends_in=timedelta(hours=5))
    asked = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(asked, Submitted)
    revocation = await request_revocation(
        repo, grant, actor=OWNER, source=RevokeSource.OWNER, reason="moved teams"
    )
    assert isinstance(revocation, AccessRequest) and revocation.kind is Kind.REVOKE
    extension = await repo.get(asked.request.id)
    assert extension is not None and extension.state is State.CANCELLED
    assert (
        extension.decision_note == "The access it would extend was revoked by an owner: moved teams"
    )
    (entry,) = [e for e in await repo.audit.for_request(extension.id) if e.to_state == "cancelled"]
    assert entry.action == "extension_cancelled" and entry.actor == OWNER
    assert entry.detail["revocation"] == revocation.id
    # one transaction: the revocation's audit row comes right before the cancellation's
    opened = (await repo.audit.for_request(revocation.id))[0]
    assert entry.seq == opened.seq + 1
    again = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(again, Refused) and again.reason is RefusalReason.NOTHING_TO_DO


async def test_an_extension_of_a_grant_being_revoked_is_cancelled_not_approved(
    repo: RequestRepository, policy: Policy
) -> None:
    grant = await active(repo, ends_in=timedelta(hours=5))
    asked = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(asked, Submitted)
    # the extension slipped in just as the revocation was opened (no cancellation with it)
    await repo.create(
        NewRequest.following(grant, kind=Kind.REVOKE, state=State.REQUESTED, requester_id=OWNER),
        actor=OWNER,
        action="revocation_requested",
        idempotency_key=f"revoke:{grant.id}",
    )
    managed = await repo.managed.get(grant.sf_username or "")
    refused = await decide(repo, policy, request_id=asked.request.id, actor=OWNER, approve=True)
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.GRANT_ENDED
    assert refused.request is not None and refused.request.state is State.CANCELLED
    assert refused.request.decided_by is None
    still = await repo.get(grant.id)
    assert still is not None and still.state is State.ACTIVE and still.version == grant.version
    after = await repo.managed.get(grant.sf_username or "")
    assert managed is not None and after is not None and after.wanted_gen == managed.wanted_gen
    denied = await decide(repo, policy, request_id=asked.request.id, actor=OWNER, approve=False)
    assert isinstance(denied, Refused) and denied.reason is RefusalReason.ALREADY_DECIDED


class RevokedMeanwhile(RequestRepository):
    """A repository whose grant is revoked just before the extension is stored."""

    async def create(self, new: NewRequest, **kwargs: Any) -> tuple[AccessRequest, bool]:
        if new.kind is Kind.GRANT and new.grant_id:
            grant = await self.get(new.grant_id)
            assert grant is not None
            await super().create(
                NewRequest.following(
                    grant, kind=Kind.REVOKE, state=State.REQUESTED, requester_id=OWNER
                ),
                actor=OWNER,
                action="revocation_requested",
            )
        return await super().create(new, **kwargs)


async def test_an_extension_stored_as_its_grant_is_revoked_ends_at_once(
    db: Database, policy: Policy
) -> None:
    repo = RevokedMeanwhile(db)
    grant = await active(repo, ends_in=timedelta(hours=5))
    refused = await request_extension(repo, policy, grant_id=grant.id, actor=JANE)
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOTHING_TO_DO
    (extension,) = await repo.find(grant_id=grant.id, kind=Kind.GRANT)
    assert extension.state is State.CANCELLED
    assert (await repo.audit.for_request(extension.id))[-1].action == "extension_cancelled"
