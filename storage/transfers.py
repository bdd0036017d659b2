"""Transfers of a leaving user's work to a successor, and how far each one got.

A transfer is written before anything moves; each object's Bulk API job Id is stored as soon
as Salesforce gives it, and each object's outcome in the same transaction as its audit row
(object, moved, failed, from, to, who decided). A process that dies mid-transfer leaves the
row ``running``; the next one claims it when the lease runs out and carries on from there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.audit import append_audit
from storage.db import Database, Row, from_db_time, row_dict, to_db_time

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class TransferState(StrEnum):
    """Running, finished with everything moved, or finished with refused rows."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RefusedRow(_Frozen):
    """A record Salesforce would not hand over, and why."""

    record_id: str
    code: str
    message: str


class ObjectProgress(_Frozen):
    """One object of a transfer: the job in flight, or what moved and what was refused."""

    job_id: str | None = None
    done: bool = False
    moved: int = 0
    refused: tuple[RefusedRow, ...] = ()


class Transfer(_Frozen):
    """One hand-over, as stored."""

    id: str
    revocation_id: str | None
    username: str
    from_user_id: str
    to_user_id: str
    to_slack_id: str | None
    objects: tuple[str, ...]
    progress: dict[str, ObjectProgress]
    job_ids: tuple[str, ...]
    state: TransferState
    moved: int
    failed: int
    decided_by: str
    channel: str | None = None
    thread_ts: str | None = None
    claimed_by: str | None
    claimed_until: datetime | None
    created_at: datetime
    updated_at: datetime

    def step(self, what: str) -> ObjectProgress:
        """The progress of one object (nothing done yet when absent)."""
        return self.progress.get(what) or ObjectProgress()

    def refused(self) -> list[tuple[str, RefusedRow]]:
        """Every refused row with its object, in object order."""
        return [(what, row) for what in self.objects for row in self.step(what).refused]


def _row(row: Row) -> Transfer:
    data = row_dict(row)
    data["objects"] = tuple(json.loads(data["objects"]))
    data["progress"] = {
        k: ObjectProgress.model_validate(v) for k, v in json.loads(data["progress"]).items()
    }
    data["job_ids"] = tuple(json.loads(data["job_ids"]))
    for name in ("claimed_until", "created_at", "updated_at"):
        data[name] = from_db_time(data[name])
    return Transfer.model_validate(data)


def _progress_json(progress: Mapping[str, ObjectProgress]) -> str:
    return json.dumps({k: v.model_dump(mode="json") for k, v in progress.items()})


class Transfers:
    """Creates, claims and records transfers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        username: str,
        from_user_id: str,
        to_user_id: str,
        objects: Sequence[str],
        decided_by: str,
        worker: str,
        lease: timedelta,
        revocation_id: str | None = None,
        to_slack_id: str | None = None,
        thread: tuple[str, str] | None = None,
    ) -> Transfer:
        """A new running transfer, leased to ``worker``, and its audit row."""
        now = self._db.clock()
        transfer_id = "T-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO transfers (id, revocation_id, username, from_user_id, to_user_id, "
                "to_slack_id, objects, state, decided_by, channel, thread_ts, claimed_by, "
                "claimed_until, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    transfer_id,
                    revocation_id,
                    username,
                    from_user_id,
                    to_user_id,
                    to_slack_id,
                    json.dumps(list(objects)),
                    decided_by,
                    thread[0] if thread else None,
                    thread[1] if thread else None,
                    worker,
                    to_db_time(now + lease),
                    to_db_time(now),
                    to_db_time(now),
                ),
            )
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=now,
                request_id=revocation_id,
                actor=decided_by,
                action="transfer_started",
                detail={
                    "transfer": transfer_id,
                    "from": from_user_id,
                    "to": to_user_id,
                    "objects": list(objects),
                },
            )
        return _row(next(iter(rows)))

    async def get(self, transfer_id: str) -> Transfer | None:
        """The transfer with this id."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM transfers WHERE id = ?", (transfer_id,)
        )
        return next((_row(r) for r in rows), None)

    async def for_revocation(self, revocation_id: str) -> Transfer | None:
        """The latest transfer started from this revocation's DM."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM transfers WHERE revocation_id = ? ORDER BY created_at DESC, id LIMIT 1",
            (revocation_id,),
        )
        return next((_row(r) for r in rows), None)

    async def claim(
        self, transfer_id: str | None, *, worker: str, lease: timedelta
    ) -> list[Transfer]:
        """Lease a running transfer (``None``: every one whose lease ran out)."""
        now = self._db.clock()
        which = "" if transfer_id is None else "AND id = ? "
        params: list[Any] = [to_db_time(now + lease), worker]
        if transfer_id is not None:
            params.append(transfer_id)
        params += [to_db_time(now), worker]
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE transfers SET claimed_until = ?, claimed_by = ? "  # noqa: S608
                f"WHERE state = 'running' {which}"
                "AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?) RETURNING *",
                params,
            )
        return [_row(r) for r in rows]

    async def reopen(self, transfer_id: str, *, actor: str) -> Transfer | None:
        """Run a finished transfer's refused objects again (the retry of failed rows)."""
        found = await self.get(transfer_id)
        if found is None or found.state is not TransferState.FAILED:
            return None
        progress = {
            what: (ObjectProgress(moved=step.moved) if step.refused else step)
            for what, step in found.progress.items()
        }
        now = self._db.clock()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE transfers SET state = 'running', progress = ?, claimed_by = NULL, "
                "claimed_until = NULL, updated_at = ? WHERE id = ? AND state = 'failed' "
                "RETURNING *",
                (_progress_json(progress), to_db_time(now), transfer_id),
            )
            if rows:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=now,
                    request_id=found.revocation_id,
                    actor=actor,
                    action="transfer_retry_requested",
                    detail={"transfer": transfer_id, "rows": found.failed},
                )
        return next((_row(r) for r in rows), None)

    async def job_started(self, transfer: Transfer, what: str, job_id: str) -> Transfer:
        """Remember the Bulk API job moving ``what`` before waiting for it."""
        progress = {
            **transfer.progress,
            what: transfer.step(what).model_copy(update={"job_id": job_id}),
        }
        return await self._save(
            transfer, progress=progress, job_ids=(*transfer.job_ids, job_id), audit=None
        )

    async def object_done(
        self, transfer: Transfer, what: str, *, moved: int, refused: Sequence[RefusedRow]
    ) -> Transfer:
        """One object's outcome, with its audit row."""
        before = transfer.step(what)
        step = ObjectProgress(
            job_id=before.job_id, done=True, moved=before.moved + moved, refused=tuple(refused)
        )
        audit = {
            "transfer": transfer.id,
            "object": what,
            "moved": moved,
            "failed": len(refused),
            "from": transfer.from_user_id,
            "to": transfer.to_user_id,
            "decided_by": transfer.decided_by,
            **({"job_id": before.job_id} if before.job_id else {}),
        }
        return await self._save(transfer, progress={**transfer.progress, what: step}, audit=audit)

    async def finish(self, transfer: Transfer) -> Transfer:
        """Done (everything moved) or failed (some rows refused), with the totals audited."""
        state = TransferState.FAILED if transfer.failed else TransferState.DONE
        audit = {
            "transfer": transfer.id,
            "moved": transfer.moved,
            "failed": transfer.failed,
            "from": transfer.from_user_id,
            "to": transfer.to_user_id,
            "decided_by": transfer.decided_by,
            "state": state.value,
        }
        return await self._save(transfer, state=state, audit=audit, action="transfer_finished")

    async def _save(
        self,
        transfer: Transfer,
        *,
        progress: Mapping[str, ObjectProgress] | None = None,
        job_ids: Sequence[str] | None = None,
        state: TransferState | None = None,
        audit: Mapping[str, Any] | None,
        action: str = "transfer_moved",
    ) -> Transfer:
        now = self._db.clock()
        progress = dict(progress if progress is not None else transfer.progress)
        moved = sum(p.moved for p in progress.values())
        failed = sum(len(p.refused) for p in progress.values())
        finished = state is not None and state is not TransferState.RUNNING
        async with self._db.transaction() as conn:
            # A finished transfer gives its lease back.
            release = ", claimed_by = NULL, claimed_until = NULL" if finished else ""
            rows = await conn.execute_fetchall(
                "UPDATE transfers SET progress = ?, job_ids = ?, state = ?, moved = ?, "  # noqa: S608
                f"failed = ?, updated_at = ?{release} WHERE id = ? RETURNING *",
                (
                    _progress_json(progress),
                    json.dumps(list(job_ids if job_ids is not None else transfer.job_ids)),
                    (state or transfer.state).value,
                    moved,
                    failed,
                    to_db_time(now),
                    transfer.id,
                ),
            )
            if audit is not None:
                await append_audit(
                    conn,
                    key=self._db.audit_key,
                    at=now,
                    request_id=transfer.revocation_id,
                    actor=transfer.decided_by,
                    action=action,
                    detail=audit,
                )
        return _row(next(iter(rows)))
