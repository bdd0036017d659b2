"""Transfers as stored: leases, per-object outcomes with their audit rows, retries of refused
rows, and the totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.audit import AuditLog
from storage.db import Database
from storage.transfers import RefusedRow, Transfers, TransferState

LEASE = timedelta(minutes=2)


async def _new(transfers: Transfers, worker: str = "a") -> str:
    made = await transfers.create(
        username="jane.doe@acme.com",
        from_user_id="005A",
        to_user_id="005B",
        objects=("Account", "Opportunity"),
        decided_by="U0ADA",
        worker=worker,
        lease=LEASE,
        revocation_id="R-1",
    )
    return made.id


async def test_a_running_transfer_is_leased_to_one_worker_until_its_lease_runs_out(
    db: Database,
) -> None:
    transfers = Transfers(db)
    transfer_id = await _new(transfers, worker="a")

    assert await transfers.claim(None, worker="b", lease=LEASE) == []
    mine = await transfers.claim(transfer_id, worker="a", lease=LEASE)
    assert [t.id for t in mine] == [transfer_id]
    db.clock = lambda: datetime.now(UTC) + LEASE * 2
    taken = await transfers.claim(None, worker="b", lease=LEASE)
    assert [t.claimed_by for t in taken] == ["b"]


async def test_objects_add_up_and_a_retry_keeps_what_moved(db: Database) -> None:
    transfers = Transfers(db)
    transfer = await transfers.get(await _new(transfers))
    assert transfer is not None
    transfer = await transfers.job_started(transfer, "Account", "750JOB")
    refused = [RefusedRow(record_id="001X", code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="No")]
    transfer = await transfers.object_done(transfer, "Account", moved=297, refused=refused)
    transfer = await transfers.object_done(transfer, "Opportunity", moved=40, refused=[])
    finished = await transfers.finish(transfer)

    assert (finished.state, finished.moved, finished.failed) == (TransferState.FAILED, 337, 1)
    assert finished.job_ids == ("750JOB",) and finished.claimed_by is None
    reopened = await transfers.reopen(finished.id, actor="U0ADA")
    assert reopened is not None and reopened.state is TransferState.RUNNING
    assert not reopened.step("Account").done and reopened.step("Account").moved == 297
    assert reopened.step("Opportunity").done  # nothing refused there: not sent again
    assert await transfers.reopen(finished.id, actor="U0ADA") is None  # running already
    again = await transfers.object_done(reopened, "Account", moved=1, refused=[])
    done = await transfers.finish(again)
    assert (done.state, done.moved, done.failed) == (TransferState.DONE, 338, 0)

    rows = await AuditLog(db).for_request("R-1")
    moved = [
        (r.detail["object"], r.detail["moved"], r.detail["failed"])
        for r in rows
        if r.action == "transfer_moved"
    ]
    assert moved == [("Account", 297, 1), ("Opportunity", 40, 0), ("Account", 1, 0)]
    assert [r.action for r in rows].count("transfer_finished") == 2
    assert all(r.actor == "U0ADA" for r in rows)
