from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage.db import Database, IntegrityError, _migrations, latest_migration
from storage.events import EventLog
from storage.models import Kind, MessageRef, NewRequest, State
from storage.requests import RequestRepository


def new_grant(**overrides: object) -> NewRequest:
    values: dict[str, object] = {
        "application": "sales",
        "state": State.PENDING_APPROVAL,
        "requester_id": "U1",
        "subject_id": "U1",
        "subject_email": "jane@example.com",
        "license": "Salesforce",
        "profile": "Standard User",
        "permission_sets": ("Sales_Ops",),
        "reason": "quarter close",
    }
    values.update(overrides)
    return NewRequest.model_validate(values)


async def test_migrations_use_wal_and_set_version(db: Database) -> None:
    if db.backend == "sqlite":
        async with db.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
    assert await db.schema_version() == latest_migration()


async def test_reopening_applies_no_migration_twice(database_target: str) -> None:
    path = database_target
    async with Database(path) as first:
        repo = RequestRepository(first)
        created, _ = await repo.create(new_grant(), actor="U1")
    async with Database(path) as second:
        assert (await RequestRepository(second).get(created.id)) == created


async def test_durations_in_days_become_seconds_and_hours_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # a database from before durations in seconds
        before = [(v, script) for v, script in _migrations() if v < 10]
        for _, script in before:
            old.executescript(script)
        old.execute(f"PRAGMA user_version = {before[-1][0]}")
        old.executemany(
            "INSERT INTO requests (id, kind, application, state, requester_id, subject_id, "
            "duration_days, created_at, updated_at) VALUES (?, 'grant', 'sales', 'active', "
            "'U1', 'U1', ?, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            [("R-WEEK", 7), ("R-EVER", None)],
        )
    async with Database(path) as db:
        repo = RequestRepository(db)
        week, ever = await repo.get("R-WEEK"), await repo.get("R-EVER")
        assert week is not None and week.duration == timedelta(days=7)
        assert ever is not None and ever.duration is None
        hour, _ = await repo.create(new_grant(duration=timedelta(hours=1)), actor="U1")
        assert (await repo.get(hour.id)) == hour and hour.duration == timedelta(hours=1)


async def test_create_round_trips_and_audits(repo: RequestRepository) -> None:
    request, created = await repo.create(new_grant(), actor="U1", detail={"x": 1})
    assert created
    assert request.id.startswith("R-") and len(request.id) == 10
    assert request.permission_sets == ("Sales_Ops",)
    assert await repo.get(request.id) == request
    trail = await repo.audit.for_request(request.id)
    assert [(e.action, e.to_state, e.detail) for e in trail] == [
        ("submitted", "pending_approval", {"x": 1})
    ]


async def test_idempotency_key_returns_the_first_request(repo: RequestRepository) -> None:
    first, created = await repo.create(new_grant(), actor="U1", idempotency_key="view:V1")
    again, created_again = await repo.create(
        new_grant(reason="other"), actor="U1", idempotency_key="view:V1"
    )
    assert created and not created_again
    assert again.id == first.id
    assert len(await repo.find()) == 1


async def test_transition_is_compare_and_set(repo: RequestRepository) -> None:
    request, _ = await repo.create(new_grant(), actor="U1")
    results = await asyncio.gather(
        *(
            repo.transition(
                request.id,
                expected=State.PENDING_APPROVAL,
                to=State.APPROVED,
                actor=f"U{i}",
                action="approved",
                changes={"decided_by": f"U{i}"},
            )
            for i in range(10)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await repo.get(request.id)
    assert stored is not None and stored.state is State.APPROVED
    assert stored.decided_by == winners[0].decided_by
    trail = await repo.audit.for_request(request.id)
    assert [e.action for e in trail] == ["submitted", "approved"]
    assert trail[1].from_state == "pending_approval"


async def test_transition_rejects_unknown_fields(repo: RequestRepository) -> None:
    request, _ = await repo.create(new_grant(), actor="U1")
    with pytest.raises(ValueError, match="state"):
        await repo.transition(
            request.id,
            expected=State.PENDING_APPROVAL,
            to=State.APPROVED,
            actor="U2",
            action="approved",
            changes={"state": "active"},
        )


async def test_claim_due_leases_each_row_to_one_worker(database_target: str) -> None:
    path = database_target
    async with Database(path) as a, Database(path) as b:
        repo_a, repo_b = RequestRepository(a), RequestRepository(b)
        for _ in range(20):
            await repo_a.create(new_grant(state=State.APPROVED), actor="U1")
        got_a, got_b = await asyncio.gather(
            repo_a.claim_due([State.APPROVED], worker="a", lease=timedelta(minutes=1), limit=15),
            repo_b.claim_due([State.APPROVED], worker="b", lease=timedelta(minutes=1), limit=15),
        )
        ids_a, ids_b = {r.id for r in got_a}, {r.id for r in got_b}
        assert not ids_a & ids_b
        assert len(ids_a | ids_b) == 20
        assert await repo_a.claim_due([State.APPROVED], worker="c", lease=timedelta(1)) == []


async def test_claim_due_takes_expired_leases_back(repo: RequestRepository) -> None:
    request, _ = await repo.create(new_grant(state=State.APPROVED), actor="U1")
    now = repo.clock()
    first = await repo.claim_due([State.APPROVED], worker="a", lease=timedelta(seconds=5))
    assert [r.id for r in first] == [request.id]
    later = now + timedelta(seconds=6)
    again = await repo.claim_due([State.APPROVED], worker="b", lease=timedelta(5), now=later)
    assert [r.claimed_by for r in again] == ["b"]


async def test_find_filters(repo: RequestRepository) -> None:
    grant, _ = await repo.create(new_grant(state=State.ACTIVE, subject_id="U9"), actor="U9")
    await repo.create(new_grant(), actor="U1")
    revoke, _ = await repo.create(
        new_grant(kind=Kind.REVOKE, state=State.REQUESTED, grant_id=grant.id), actor="U2"
    )
    assert [r.id for r in await repo.find(subject_id="U9")] == [grant.id]
    assert [r.id for r in await repo.find(kind=Kind.REVOKE)] == [revoke.id]
    assert [r.id for r in await repo.find(grant_id=grant.id)] == [revoke.id]


async def test_messages_are_remembered_per_purpose(repo: RequestRepository) -> None:
    request, _ = await repo.create(new_grant(), actor="U1")
    await repo.add_message(
        MessageRef(request_id=request.id, purpose="approval", channel="D1", ts="1")
    )
    await repo.add_message(
        MessageRef(request_id=request.id, purpose="approval", channel="D2", ts="2")
    )
    await repo.add_message(
        MessageRef(request_id=request.id, purpose="approval", channel="D1", ts="3")
    )
    refs = await repo.messages(request.id, "approval")
    assert sorted((m.channel, m.ts) for m in refs) == [("D1", "3"), ("D2", "2")]


async def test_one_message_about_several_requests_lists_them_all(repo: RequestRepository) -> None:
    first, _ = await repo.create(new_grant(), actor="U1")
    second, _ = await repo.create(new_grant(), actor="U1")
    for request in (first, second):
        ref = MessageRef(request_id=request.id, purpose="summary", channel="D1", ts="7")
        await repo.add_message(ref)
    await repo.add_message(
        MessageRef(request_id=first.id, purpose="approval", channel="D1", ts="7")
    )
    await repo.add_message(MessageRef(request_id=first.id, purpose="summary", channel="D2", ts="8"))
    listed = await repo.messages_at("D1", "7", "summary")
    assert sorted(m.request_id for m in listed) == sorted([first.id, second.id])


async def test_event_ids_are_handled_once(db: Database) -> None:
    events = EventLog(db)
    assert await events.first_time("Ev1")
    assert not await events.first_time("Ev1")
    assert await events.first_time("Ev2")


async def test_audit_log_is_append_only(repo: RequestRepository, db: Database) -> None:
    request, _ = await repo.create(new_grant(), actor="U1")
    with pytest.raises(IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("UPDATE audit_log SET actor = 'x'")
    with pytest.raises(IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM audit_log")
    assert len(await repo.audit.for_request(request.id)) == 1


async def test_audit_chain_verifies_and_detects_tampering(
    repo: RequestRepository, db: Database
) -> None:
    for _ in range(3):
        request, _ = await repo.create(new_grant(), actor="U1")
        await repo.transition(
            request.id,
            expected=State.PENDING_APPROVAL,
            to=State.DENIED,
            actor="U2",
            action="denied",
        )
    check = await repo.audit.verify()
    assert check.ok and check.rows == 6
    async with db.transaction() as conn:
        on_table = " ON audit_log" if db.backend == "postgresql" else ""
        await conn.execute(f"DROP TRIGGER audit_log_no_update{on_table}")
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
    tampered = await repo.audit.verify()
    assert not tampered.ok
    assert tampered.first_bad_seq == 4
    assert tampered.problem == "row altered"
