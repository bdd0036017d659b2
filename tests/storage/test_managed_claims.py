"""Which dirty users the converger's own tick may take, and which it leaves to their request."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database
from storage.managed import ManagedUsers
from storage.models import Kind, NewRequest, State
from storage.requests import RequestRepository

LEASE = timedelta(minutes=5)
USERNAME = "jane@acme.test"


async def _provisioning(repo: RequestRepository, *, lease: timedelta) -> str:
    """A grant in provisioning for USERNAME, leased by w1 for ``lease`` (negative: expired)."""
    created, _ = await repo.create(
        NewRequest(
            kind=Kind.GRANT,
            application="sales",
            state=State.APPROVED,
            requester_id="U1",
            subject_id="U1",
            subject_email=USERNAME,
            license="Salesforce",
            profile="Sales User",
            reason="quarter close",
        ),
        actor="U1",
    )
    moved = await repo.transition(
        created.id,
        expected=State.APPROVED,
        to=State.PROVISIONING,
        actor="bot",
        action="provisioning_started",
        changes={
            "sf_username": USERNAME,
            "claimed_by": "w1",
            "claimed_until": repo.clock() + lease,
        },
    )
    assert moved is not None
    return created.id


async def test_a_user_whose_provisioning_lease_ran_out_is_left_to_the_request(
    db: Database, repo: RequestRepository
) -> None:
    """A crashed provisioning resumes through its request (audited as resumed), not the user."""
    managed = ManagedUsers(db)
    grant = await _provisioning(repo, lease=-LEASE)  # the holder died; its lease ran out
    user = await managed.get(USERNAME)
    assert user is not None and user.dirty
    assert await managed.claim_due(worker="w2", lease=LEASE) == []
    # The request's own claim takes it back; the user follows with it.
    (claimed,) = await repo.claim_due([State.PROVISIONING], worker="w2", lease=LEASE)
    assert claimed.id == grant
    assert await managed.claim_due(worker="w2", lease=LEASE) == []


async def test_a_dirty_user_no_request_carries_is_claimed(
    db: Database, repo: RequestRepository
) -> None:
    managed = ManagedUsers(db)
    grant = await _provisioning(repo, lease=-LEASE)
    cancelled = await repo.transition(
        grant, expected=State.PROVISIONING, to=State.CANCELLED, actor="U1", action="cancelled"
    )
    assert cancelled is not None
    assert [u.username for u in await managed.claim_due(worker="w2", lease=LEASE)] == [USERNAME]
