"""When a batch of departures goes, and when each departed member's summary is complete."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from handlers.flows.offboard import OffboardedGrant, pair_outcomes, record_departure
from handlers.flows.outcomes import RevokedAccess, Skipped, WillRetry
from handlers.offboarding_batch import BatchWindow, Departures, RevocationBatcher
from storage.models import AccessRequest, State
from storage.requests import RequestRepository
from tests.handlers.fakes import BOB, JANE
from tests.handlers.test_escalate import LEASE, grant


class Recorder:
    """A batcher whose batches are recorded with the loop time they went at."""

    def __init__(self, window: BatchWindow) -> None:
        self.batches: list[tuple[float, list[str]]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.batcher = RevocationBatcher(self.run, self.spawn, window)

    async def run(self, batch: list[AccessRequest]) -> None:
        self.batches.append((asyncio.get_running_loop().time(), [r.id for r in batch]))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        self.tasks.append(asyncio.create_task(work))

    async def done(self) -> None:
        await asyncio.gather(*self.tasks)


async def revocations(repo: RequestRepository, count: int) -> list[AccessRequest]:
    """``count`` leased revocations, one Salesforce user each."""
    opened: list[AccessRequest] = []
    for n in range(count):
        subject = f"U0P{n:03d}"
        await grant(repo, subject_id=subject, requester_id=subject, sf_user_id=f"005P{n:03d}")
        departure = await record_departure(repo, subject_id=subject, worker="w1", lease=LEASE)
        opened += departure.waiting
    return opened


async def _batches(rec: Recorder, count: int) -> None:
    """Wait until ``count`` batches have run (well inside the 30 s quiet period)."""
    async with asyncio.timeout(5):
        while len(rec.batches) < count:
            await asyncio.sleep(0.01)


async def test_a_full_batch_goes_at_once(repo: RequestRepository) -> None:
    queued = await revocations(repo, 5)
    rec = Recorder(BatchWindow(size=2, quiet=30, max_wait=30))
    started = asyncio.get_running_loop().time()
    rec.batcher.add(queued[:3])
    await _batches(rec, 1)
    assert [ids for _, ids in rec.batches] == [[r.id for r in queued[:2]]]
    rec.batcher.add(queued[3:])
    await _batches(rec, 2)
    assert [len(ids) for _, ids in rec.batches] == [2, 2]
    assert rec.batcher.waiting == 1  # alone: it waits for the quiet period
    assert rec.batches[-1][0] - started < 1
    rec.batcher.stop()
    await rec.done()


async def test_a_lone_departure_goes_after_the_quiet_period(repo: RequestRepository) -> None:
    (one,) = await revocations(repo, 1)
    rec = Recorder(BatchWindow(quiet=0.1, max_wait=5))
    started = asyncio.get_running_loop().time()
    rec.batcher.add([one])
    await rec.done()
    ((at, ids),) = rec.batches
    assert ids == [one.id] and 0.09 <= at - started < 1
    assert rec.batcher.waiting == 0


async def test_a_steady_trickle_goes_at_the_maximum_wait(repo: RequestRepository) -> None:
    queued = await revocations(repo, 12)
    rec = Recorder(BatchWindow(quiet=0.2, max_wait=0.3))
    for revocation in queued:
        rec.batcher.add([revocation])
        await asyncio.sleep(0.05)  # never quiet for 0.2 s
    await rec.done()
    sizes = [len(ids) for _, ids in rec.batches]
    assert sum(sizes) == 12 and len(sizes) >= 2
    assert 4 <= sizes[0] <= 8  # cut by the 0.3 s maximum, not by a quiet moment


async def test_stopping_leaves_the_rows_leased_and_runs_nothing(repo: RequestRepository) -> None:
    queued = await revocations(repo, 2)
    rec = Recorder(BatchWindow(quiet=0.05, max_wait=0.1))
    rec.batcher.add(queued)
    rec.batcher.stop()
    await rec.done()
    assert rec.batches == [] and rec.batcher.waiting == 0
    stored = await repo.get(queued[0].id)
    assert stored is not None and stored.state is State.REQUESTED and stored.claimed_by == "w1"


async def test_recording_a_departure_twice_leases_once(repo: RequestRepository) -> None:
    await grant(repo)
    first = await record_departure(repo, subject_id=JANE, worker="w1", lease=LEASE)
    again = await record_departure(repo, subject_id=JANE, worker="w2", lease=LEASE)
    (mine,) = first.waiting
    assert mine.claimed_by == "w1" and not again.waiting
    (skipped,) = again.settled
    assert skipped.revocation.id == mine.id and isinstance(skipped.outcome, Skipped)


async def test_the_summary_waits_for_every_revocation(repo: RequestRepository) -> None:
    await grant(repo)
    await grant(repo, sf_user_id="005JANE2", sf_username="jane2@acme.test")
    departure = await record_departure(repo, subject_id=JANE, worker="w1", lease=LEASE)
    first, second = departure.waiting
    departures = Departures()
    assert departures.expect(departure, name="Jane Doe") is None
    revoked = RevokedAccess(revocation=first, grant=None)
    assert departures.settle(pair_outcomes([first], [revoked])) == []
    later = WillRetry(request=second, attempt=1, at=repo.clock(), human="busy")
    ((report, name),) = departures.settle(pair_outcomes([second], [later]))
    assert name == "Jane Doe" and report.subject_id == JANE
    done, retrying = (i.outcome for i in report.revoked)
    assert isinstance(done, RevokedAccess) and isinstance(retrying, WillRetry)
    # the retry later finishes it: no second summary
    retried = second.model_copy(update={"attempts": 1})
    again = [OffboardedGrant(revocation=retried, outcome=revoked)]
    assert departures.settle(again) == []


async def test_a_departure_recorded_by_a_stopped_process_still_gets_its_summary(
    repo: RequestRepository,
) -> None:
    await grant(repo, subject_id=BOB, requester_id=BOB, sf_user_id="005BOB", subject_name="Bob")
    departure = await record_departure(repo, subject_id=BOB, worker="gone", lease=LEASE)
    (orphan,) = departure.waiting
    outcome = RevokedAccess(revocation=orphan, grant=None)
    ((report, name),) = Departures().settle(pair_outcomes([orphan], [outcome]))
    assert report.subject_id == BOB and name == "Bob" and len(report.revoked) == 1
    # a revocation that is not an offboarding one never makes a summary
    other = orphan.model_copy(update={"requester_id": BOB})
    assert Departures().settle(pair_outcomes([other], [outcome])) == []
