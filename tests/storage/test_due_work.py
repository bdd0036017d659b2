"""The lifecycle's due-work queries: what each one picks, leases, skips, and how fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.db import Database, to_db_time
from storage.due import _EXPIRED_DUE, _EXPIRING_DUE, _REMINDER_DUE, DueWork
from storage.models import AccessRequest, Kind, NewRequest, State
from storage.requests import RequestRepository

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def db(database_target: str, clock: Clock) -> AsyncIterator[Database]:
    async with Database(database_target, clock=clock) as database:
        yield database


@pytest.fixture
def repo(db: Database) -> RequestRepository:
    return RequestRepository(db)


@pytest.fixture
def due(db: Database) -> DueWork:
    return DueWork(db)


async def pending(repo: RequestRepository, **values: Any) -> AccessRequest:
    new = NewRequest(
        application="sales",
        state=State.PENDING_APPROVAL,
        requester_id="U1",
        subject_id="U1",
        subject_email="jane@example.com",
        **values,
    )
    request, _ = await repo.create(new, actor="U1")
    return request


async def active(
    repo: RequestRepository, *, ends_in: timedelta, days: int = 7, user: str = "005A"
) -> AccessRequest:
    request = await pending(repo, sf_user_id=user, duration=timedelta(days=days))
    moved = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.ACTIVE,
        actor="bot",
        action="provisioned",
        changes={"expires_at": repo.clock() + ends_in},
    )
    assert moved is not None
    return moved


async def test_reminders_are_due_after_the_first_delay_then_at_the_stored_time(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    old = await pending(repo)
    clock.now += timedelta(hours=3)
    young = await pending(repo)
    scheduled = await pending(repo, next_attempt_at=START + timedelta(hours=5))
    clock.now = START + timedelta(hours=4)
    day = timedelta(days=1)
    claimed = await due.claim_reminders(first_after=timedelta(hours=4), worker="a", lease=day)
    assert [r.id for r in claimed] == [old.id]
    assert claimed[0].claimed_by == "a"
    clock.now = START + timedelta(hours=7, minutes=1)
    claimed = await due.claim_reminders(first_after=timedelta(hours=4), worker="a", lease=day)
    # the old one is still leased; the young one reached 4 h; the scheduled one its time
    assert {r.id for r in claimed} == {young.id, scheduled.id}


async def test_a_request_reminded_before_waits_for_its_stored_time(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    request = await pending(repo)
    await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.PENDING_APPROVAL,
        actor="bot",
        action="escalated_undecided",
        changes={"reminders_sent": 1, "next_attempt_at": None},
    )
    clock.now += timedelta(days=3)
    assert await due.claim_reminders(first_after=timedelta(hours=1), worker="a", lease=LEASE) == []


async def test_expiring_grants_are_claimed_once_and_warned_once(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    soon = await active(repo, ends_in=timedelta(hours=20))
    await active(repo, ends_in=timedelta(days=3))
    await active(repo, ends_in=timedelta(hours=10), days=1)  # shorter than the window
    window = timedelta(days=1)
    claimed = await due.claim_expiring(within=window, worker="a", lease=LEASE)
    assert [r.id for r in claimed] == [soon.id]
    assert await due.claim_expiring(within=window, worker="b", lease=LEASE) == []
    assert await due.mark_expiry_warned(soon.id, worker="b") is None  # not b's lease
    marked = await due.mark_expiry_warned(soon.id, worker="a", detail={"x": 1})
    assert marked is not None and marked.claimed_by is None
    clock.now += LEASE * 2
    assert await due.claim_expiring(within=window, worker="b", lease=LEASE) == []
    trail = await repo.audit.for_request(soon.id)
    assert [(e.action, e.detail) for e in trail][-1] == ("expiry_warning_sent", {"x": 1})


async def test_expired_grants_skip_those_whose_revocation_is_open(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    first = await active(repo, ends_in=timedelta(hours=1), user="005A")
    second = await active(repo, ends_in=timedelta(hours=2), user="005B")
    await active(repo, ends_in=timedelta(days=2), user="005C")
    await repo.create(
        NewRequest(
            kind=Kind.REVOKE,
            application="sales",
            state=State.BLOCKED,
            requester_id="bot",
            subject_id="U1",
            grant_id=second.id,
        ),
        actor="bot",
    )
    clock.now += timedelta(hours=3)
    claimed = await due.claim_expired(worker="a", lease=LEASE)
    assert [r.id for r in claimed] == [first.id]


async def test_two_processes_never_claim_the_same_row(database_target: str, clock: Clock) -> None:
    path = database_target
    async with Database(path, clock=clock) as a, Database(path, clock=clock) as b:
        repo = RequestRepository(a)
        for _ in range(30):
            await active(repo, ends_in=timedelta(minutes=1))
        clock.now += timedelta(minutes=2)
        got_a, got_b = await asyncio.gather(
            DueWork(a).claim_expired(worker="a", lease=LEASE, limit=20),
            DueWork(b).claim_expired(worker="b", lease=LEASE, limit=20),
        )
        assert not {r.id for r in got_a} & {r.id for r in got_b}
        assert len(got_a) + len(got_b) == 30


async def test_a_restart_gives_back_its_own_leases_only(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    for _ in range(3):
        await active(repo, ends_in=timedelta(minutes=1))
    clock.now += timedelta(minutes=2)
    await due.claim_expired(worker="dead", lease=LEASE, limit=2)
    await due.claim_expired(worker="alive", lease=LEASE)
    assert await due.release_claims_of("dead") == 2
    claimed = await due.claim_expired(worker="dead", lease=LEASE)
    assert len(claimed) == 2


async def test_undecided_since_and_the_reconciliation_reads(
    repo: RequestRepository, due: DueWork, clock: Clock
) -> None:
    old = await pending(repo)
    clock.now += timedelta(days=2)
    await pending(repo)
    assert [r.id for r in await due.undecided_since(START + timedelta(days=1))] == [old.id]
    grant = await active(repo, ends_in=timedelta(days=1), user="005Z")
    assert [g.id for g in await due.grants_of_users(["005Z", "005Y"])] == [grant.id]
    assert [g.id for g in await due.grants_in([State.ACTIVE], application="sales")] == [grant.id]
    assert await due.grants_in([State.ACTIVE], application="other") == []


@pytest.mark.parametrize("picker", [_REMINDER_DUE, _EXPIRING_DUE, _EXPIRED_DUE])
async def test_every_due_query_is_served_by_an_index(db: Database, picker: str) -> None:
    if db.backend != "sqlite":
        pytest.skip("reads SQLite's query plans; PostgreSQL plans by table statistics")
    params = {
        "now": to_db_time(START),
        "first_due": to_db_time(START),
        "warn_until": to_db_time(START),
        "window": 1.0,
        "limit": 10,
    }
    async with db.conn.execute("EXPLAIN QUERY PLAN " + picker, params) as cur:
        plan = [str(row[3]) for row in await cur.fetchall()]
    scans = [step for step in plan if step.startswith("SCAN")]
    assert not scans, plan
    assert any("USING INDEX" in step for step in plan), plan


async def test_a_read_being_walked_through_does_not_hold_a_write_back(
    database_target: str, clock: Clock
) -> None:
    path = database_target
    async with Database(path, clock=clock) as a, Database(path, clock=clock) as b:
        mine, theirs = RequestRepository(a), RequestRepository(b)
        for _ in range(3):
            await pending(mine)
        async with a.conn.execute("SELECT * FROM requests") as cur:
            await cur.fetchone()  # rows come whole: no snapshot stays pinned while walked
            await pending(theirs)  # another process writes meanwhile
            created = await asyncio.wait_for(pending(mine), timeout=10)
            assert len([row async for row in cur]) == 2
        assert len(await mine.find()) == 5 and created.state is State.PENDING_APPROVAL
