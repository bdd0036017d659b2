"""Approvals counted once per person and stage; break-glass reviews closed and escalated once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.break_glass import BreakGlassReviews
from storage.db import Database
from storage.models import State
from storage.requests import RequestRepository
from tests.storage.test_requests import new_grant


async def test_an_approver_counts_once_and_only_at_the_stage_the_request_waits_at(
    db: Database,
) -> None:
    repo = RequestRepository(db)
    request, _ = await repo.create(new_grant(tier="high"), actor="U1")
    assert request.tier == "high" and request.approval_stage == 0
    assert await repo.votes.add(request.id, stage=0, approver="U0OMAR")
    assert not await repo.votes.add(request.id, stage=0, approver="U0OMAR")  # twice
    assert not await repo.votes.add(request.id, stage=1, approver="U0BOB")  # not its stage yet
    moved = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.PENDING_APPROVAL,
        actor="U0OMAR",
        action="stage_approved",
        changes={"approval_stage": 1},
        match={"approval_stage": 0},
    )
    assert moved is not None and moved.approval_stage == 1
    again = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.PENDING_APPROVAL,
        actor="U0OLIVIA",
        action="stage_approved",
        changes={"approval_stage": 1},
        match={"approval_stage": 0},
    )
    assert again is None  # the stage moved on once
    assert not await repo.votes.add(request.id, stage=1, approver="U0OMAR")  # nobody twice
    assert await repo.votes.add(request.id, stage=1, approver="U0BOB")
    assert [(v.stage, v.approver) for v in await repo.votes.of(request.id)] == [
        (0, "U0OMAR"),
        (1, "U0BOB"),
    ]
    trail = [e.action for e in await repo.audit.for_request(request.id)]
    assert trail == ["submitted", "approval_recorded", "stage_approved", "approval_recorded"]
    await repo.votes.clear(request.id)
    assert await repo.votes.of(request.id) == []


async def test_a_decided_request_takes_no_more_approvals(db: Database) -> None:
    repo = RequestRepository(db)
    request, _ = await repo.create(new_grant(), actor="U1")
    await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.DENIED,
        actor="U0OMAR",
        action="denied",
    )
    assert not await repo.votes.add(request.id, stage=0, approver="U0OLIVIA")


async def test_an_overdue_review_is_escalated_once_and_stays_open_until_closed(
    tmp_path: Path,
) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    async with Database(tmp_path / "r.sqlite3", clock=lambda: now[0]) as db:
        repo = RequestRepository(db)
        reviews = BreakGlassReviews(db)
        request, _ = await repo.create(new_grant(tier="high"), actor="U1")
        await repo.transition(
            request.id,
            expected=State.PENDING_APPROVAL,
            to=State.APPROVED,
            actor="U1",
            action="break_glass_approved",
            changes={"review_due_at": now[0] + timedelta(hours=24)},
        )
        assert await reviews.claim_overdue() == []
        now[0] += timedelta(hours=25)
        (overdue,) = await reviews.claim_overdue()
        assert overdue.id == request.id and overdue.review_escalated
        assert await reviews.claim_overdue() == []  # once
        closed = await reviews.close(request.id, actor="U0ADA", action="break_glass_confirmed")
        assert closed is not None and closed.review_due_at is None
        assert await reviews.close(request.id, actor="U0OMAR", action="break_glass_revoked") is None
        trail = [e.action for e in await repo.audit.for_request(request.id)]
        assert trail[-2:] == ["break_glass_review_escalated", "break_glass_confirmed"]
