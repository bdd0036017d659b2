"""Requests that wait for a decision: remind the owners, then ask the admins, then expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.flows.lifecycle import AskedAdmins, Reminded
from handlers.policy import Policy, Timings
from storage.due import DueWork
from storage.models import AccessRequest, State
from storage.requests import RequestRepository


def next_nudge_at(now: datetime, timings: Timings, nudges: int) -> datetime:
    """When the step after ``nudges`` reminders is due: the gap grows by the backoff each time."""
    gap: timedelta = timings.first_reminder_after * (timings.reminder_backoff**nudges)
    return now + gap


async def nudge_undecided(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 50,
) -> list[Reminded | AskedAdmins]:
    """Remind the owners of every request whose reminder is due, or ask the admins once."""
    timings = policy.timings
    claimed = await due.claim_reminders(
        first_after=timings.first_reminder_after, worker=worker, lease=lease, limit=limit
    )
    outcomes: list[Reminded | AskedAdmins] = []
    for request in claimed:
        outcome = await _nudge(repo, timings, request)
        if outcome is None:
            await repo.release(request.id, worker)
        else:
            outcomes.append(outcome)
    return outcomes


async def _nudge(
    repo: RequestRepository, timings: Timings, request: AccessRequest
) -> Reminded | AskedAdmins | None:
    """One step; ``reminders_sent`` counts every nudge, the admins' one included."""
    sent = request.reminders_sent
    escalate = sent >= timings.reminders_before_escalation
    # After the admins are asked nothing more is scheduled: the request expires in time.
    at = None if escalate else next_nudge_at(repo.clock(), timings, sent + 1)
    moved = await repo.transition(
        request.id,
        expected=State.PENDING_APPROVAL,
        to=State.PENDING_APPROVAL,
        actor="bot",
        action="escalated_undecided" if escalate else "reminded",
        changes={
            "reminders_sent": sent + 1,
            "next_attempt_at": at,
            "claimed_by": None,
            "claimed_until": None,
        },
        detail={"reminders_before": sent, "next_at": at.isoformat() if at else None},
    )
    if moved is None:
        return None
    if escalate:
        return AskedAdmins(request=moved, reminders=sent)
    return Reminded(request=moved, number=sent + 1)


async def expire_undecided(
    repo: RequestRepository, due: DueWork, policy: Policy, *, limit: int = 200
) -> list[AccessRequest]:
    """Expire every request nobody decided in time; only the process that wins tells anyone."""
    waited = policy.timings.pending_expires_after
    expired: list[AccessRequest] = []
    for request in await due.undecided_since(repo.clock() - waited, limit=limit):
        moved = await repo.transition(
            request.id,
            expected=State.PENDING_APPROVAL,
            to=State.EXPIRED,
            actor="bot",
            action="expired",
            changes={"next_attempt_at": None, "claimed_by": None, "claimed_until": None},
            detail={
                "waited_seconds": int(waited.total_seconds()),
                "reminders": request.reminders_sent,
            },
        )
        if moved is not None:
            expired.append(moved)
    return expired
