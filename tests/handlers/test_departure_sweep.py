"""The daily sweep's flow on a real SQLite file: who it takes access from, and only once."""

from __future__ import annotations

from handlers.flows.departure_sweep import sweep_departures
from storage.db import Database
from storage.due import DueWork
from storage.models import Kind, State
from storage.requests import RequestRepository
from tests.handlers.fakes import BOB, JANE
from tests.handlers.test_escalate import LEASE, grant


async def test_the_sweep_ends_what_deactivated_members_hold_and_repeats_nothing(
    db: Database, repo: RequestRepository
) -> None:
    active = await grant(repo)
    pending = await grant(repo, state=State.PENDING_APPROVAL, sf_user_id=None, sf_username=None)
    kept = await grant(
        repo, subject_id=BOB, requester_id=BOB, sf_user_id="005BOB", sf_username="bob@acme.test"
    )
    due = DueWork(db)

    # Bob is still active in Slack; U0GONE left but never held anything
    found = await sweep_departures(repo, due, {JANE, "U0GONE"}, worker="w1", lease=LEASE)

    assert [d.subject_id for d in found] == [JANE]
    (departure,) = found
    assert departure.swept and departure.report().swept
    assert [r.grant_id for r in departure.waiting] == [active.id]
    assert [c.id for c in departure.cancelled] == [pending.id]
    opened = await repo.audit.for_request(departure.waiting[0].id)
    assert opened[0].action == "revocation_requested" and opened[0].detail["source"] == "sweep"
    closed = await repo.audit.for_request(pending.id)
    assert closed[-1].action == "cancelled" and closed[-1].detail["source"] == "sweep"
    assert not await repo.find(grant_id=kept.id, kind=Kind.REVOKE)

    # the revocation is still under way (or blocked, with the admins): nothing new starts,
    # so the next sweep, in this process or another, sends no second summary
    for worker in ("w1", "w2"):
        assert await sweep_departures(repo, due, {JANE}, worker=worker, lease=LEASE) == []
    assert len(await repo.find(grant_id=active.id, kind=Kind.REVOKE)) == 1
