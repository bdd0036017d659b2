"""When to try a failed Salesforce call again: exponential backoff with jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from handlers.flows.outcomes import Skipped, WillRetry
from handlers.policy import Policy
from salesforce.errors import ApiBudgetExhausted, SalesforceError
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

MAX_DELAY = timedelta(hours=1)
# The daily API allocation is a rolling 24 h window: retrying it within seconds only burns attempts.
BUDGET_RETRY_DELAY = timedelta(minutes=15)


def next_attempt(
    now: datetime, attempt: int, base: timedelta, *, rng: random.Random | None = None
) -> datetime:
    """The time of attempt ``attempt + 1``: base * 2^(attempt-1) capped, jittered down to half.

    The jitter keeps each gap within [delay/2, delay] (equal jitter): bands of successive
    attempts do not overlap, so every gap is longer than the one before until the cap, while
    processes that failed together still spread out. ``rng`` is the jitter source (tests seed it).
    """
    rng = rng or random.Random()
    delay = min(base * (2 ** max(attempt - 1, 0)), MAX_DELAY)
    jittered: timedelta = delay * rng.uniform(0.5, 1.0)
    return now + jittered


def retry_at(
    now: datetime,
    attempt: int,
    base: timedelta,
    error: SalesforceError,
    *,
    rng: random.Random | None = None,
) -> datetime:
    """When to retry after ``error``; an exhausted API budget waits at least 15 minutes."""
    at = next_attempt(now, attempt, base, rng=rng)
    if isinstance(error, ApiBudgetExhausted):
        return max(at, now + BUDGET_RETRY_DELAY)
    return at


async def schedule_retry(
    repo: RequestRepository,
    request: AccessRequest,
    error: SalesforceError,
    policy: Policy,
    *,
    working: State,
    back_to: State,
    action: str,
) -> WillRetry | Skipped | None:
    """Put a passing failure back in the queue with backoff; None when it needs a person.

    Only retryable errors are retried, and only ``retry_max_attempts`` times in all.
    """
    attempt = request.attempts + 1
    timings = policy.timings
    if not error.retryable or attempt >= timings.retry_max_attempts:
        return None
    at = retry_at(repo.clock(), attempt, timings.retry_base_delay, error)
    moved = await repo.transition(
        request.id,
        expected=working,
        to=back_to,
        actor="bot",
        action=action,
        changes={
            "attempts": attempt,
            "next_attempt_at": at,
            "last_error": error.human,
            "claimed_by": None,
            "claimed_until": None,
        },
        detail={
            "error": type(error).__name__,
            "salesforce": error.raw_message,
            "retry_at": at.isoformat(),
        },
        touch=False,  # the converger's own bookkeeping: the user is retried at ``at``
    )
    if moved is None:
        return Skipped(request_id=request.id, why=f"state changed while {working.value}")
    return WillRetry(request=moved, attempt=attempt, at=at, human=error.human)
