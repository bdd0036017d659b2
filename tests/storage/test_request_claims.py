"""Leasing named requests: one holder at a time, only in the given states."""

from __future__ import annotations

from datetime import timedelta

from storage.models import Kind, NewRequest, State
from storage.requests import RequestRepository

LEASE = timedelta(minutes=5)


async def _requested(repo: RequestRepository, subject: str) -> str:
    created, _ = await repo.create(
        NewRequest(
            kind=Kind.REVOKE,
            application="sales",
            state=State.REQUESTED,
            requester_id="bot",
            subject_id=subject,
            subject_email=f"{subject}@acme.test",
            license="Salesforce",
            profile="Sales User",
            reason="left",
        ),
        actor="bot",
    )
    return created.id


async def test_a_lease_on_named_requests_is_held_once(repo: RequestRepository) -> None:
    first, second = await _requested(repo, "U1"), await _requested(repo, "U2")
    mine = await repo.claim([first], states=[State.REQUESTED], worker="w1", lease=LEASE)
    assert [r.id for r in mine] == [first] and mine[0].claimed_by == "w1"
    theirs = await repo.claim([first, second], states=[State.REQUESTED], worker="w2", lease=LEASE)
    assert [r.id for r in theirs] == [second]
    # the holder may renew; other states are never leased
    assert await repo.claim([first], states=[State.REQUESTED], worker="w1", lease=LEASE)
    assert await repo.claim([first], states=[State.DONE], worker="w1", lease=LEASE) == []
    assert await repo.claim([], states=[State.REQUESTED], worker="w1", lease=LEASE) == []


async def test_an_expired_lease_can_be_taken_over(repo: RequestRepository) -> None:
    request = await _requested(repo, "U1")
    await repo.claim([request], states=[State.REQUESTED], worker="w1", lease=-LEASE)
    taken = await repo.claim([request], states=[State.REQUESTED], worker="w2", lease=LEASE)
    assert [r.claimed_by for r in taken] == ["w2"]
    due = await repo.claim_due([State.REQUESTED], worker="w3", lease=LEASE)
    assert due == []  # w2 holds it now: the scheduler leaves it alone
