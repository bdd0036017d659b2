"""When to try a failed Salesforce call again: exponential backoff with jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from salesforce.errors import ApiBudgetExhausted, SalesforceError

MAX_DELAY = timedelta(hours=1)
# The daily API allocation is a rolling 24 h window: retrying it within seconds only burns attempts.
BUDGET_RETRY_DELAY = timedelta(minutes=15)


def next_attempt(
    now: datetime, attempt: int, base: timedelta, *, rng: random.Random | None = None
) -> datetime:
    """The time of attempt ``attempt + 1``: base * 2^(attempt-1), jittered by +-50 %, capped."""
    rng = rng or random.Random()
    delay = min(base * (2 ** max(attempt - 1, 0)), MAX_DELAY)
    jittered: timedelta = delay * rng.uniform(0.5, 1.5)
    return now + jittered


def retry_at(now: datetime, attempt: int, base: timedelta, error: SalesforceError) -> datetime:
    """When to retry after ``error``; an exhausted API budget waits at least 15 minutes."""
    at = next_attempt(now, attempt, base)
    if isinstance(error, ApiBudgetExhausted):
        return max(at, now + BUDGET_RETRY_DELAY)
    return at
