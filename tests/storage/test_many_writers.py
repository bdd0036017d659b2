"""Several processes on one database (each its own Database): one migration, one winner per
compare-and-set, one unbroken audit chain, on both backends."""

from __future__ import annotations

import asyncio
import logging

import pytest

from storage.audit import AuditLog, append_audit
from storage.db import Database, latest_migration
from storage.models import NewRequest, State
from storage.requests import RequestRepository

REPLICAS = 3


def _grant() -> NewRequest:
    return NewRequest(
        application="sales",
        state=State.PENDING_APPROVAL,
        requester_id="U1",
        subject_id="U1",
        subject_email="jane@example.com",
        reason="quarter close",
    )


async def test_replicas_starting_together_migrate_once(
    database_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storage.db")
    databases = [Database(database_target) for _ in range(REPLICAS)]
    await asyncio.gather(*(db.open() for db in databases))
    try:
        versions = {await db.schema_version() for db in databases}
        assert versions == {latest_migration()}
        migrated = [r for r in caplog.records if "migrated from version 0" in r.getMessage()]
        assert len(migrated) == 1
    finally:
        for db in databases:
            await db.close()


async def test_concurrent_approvals_on_replicas_have_one_winner_and_one_chain(
    database_target: str,
) -> None:
    databases = [await Database(database_target).open() for _ in range(REPLICAS)]
    try:
        repos = [RequestRepository(db) for db in databases]
        requests = [(await repos[0].create(_grant(), actor="U1"))[0] for _ in range(5)]

        async def approve(repo: RequestRepository, request_id: str, who: str) -> bool:
            moved = await repo.transition(
                request_id,
                expected=State.PENDING_APPROVAL,
                to=State.APPROVED,
                actor=who,
                action="approved",
            )
            return moved is not None

        clicks = [
            approve(repos[i % REPLICAS], request.id, f"U{i}")
            for request in requests
            for i in range(10)
        ]
        appends = [
            AuditLog(databases[i % REPLICAS]).append(request_id=None, actor="bot", action="tick")
            for i in range(30)
        ]
        won = (await asyncio.gather(*clicks, *appends))[: len(clicks)]
        assert sum(won) == len(requests)  # one winner for each request's ten clicks
        check = await AuditLog(databases[1]).verify()
        assert check.ok, check.problem
        assert check.rows == len(requests) * 2 + 30  # submitted + approved each, and the ticks
    finally:
        for db in databases:
            await db.close()


async def test_the_chain_holds_when_another_process_or_a_rollback_moved_the_head(
    database_target: str,
) -> None:
    first, second = [await Database(database_target).open() for _ in range(2)]
    try:
        ours, theirs = AuditLog(first), AuditLog(second)
        await ours.append(request_id=None, actor="bot", action="one")
        await ours.append(request_id=None, actor="bot", action="two")  # chained to its own
        await theirs.append(request_id=None, actor="bot", action="three")
        await ours.append(request_id=None, actor="bot", action="four")  # after another's row
        with pytest.raises(RuntimeError):
            async with first.transaction() as conn:
                await append_audit(
                    conn, key=None, at=first.clock(), request_id=None, actor="bot", action="gone"
                )
                raise RuntimeError("rolled back")
        await ours.append(request_id=None, actor="bot", action="five")  # after the rollback
        check = await AuditLog(second).verify()
        assert check.ok, check.problem
        actions = [e.action async for e in ours.entries()]
        assert actions == ["one", "two", "three", "four", "five"]
    finally:
        await first.close()
        await second.close()
