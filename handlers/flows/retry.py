"""When to try a failed Salesforce call again: exponential backoff with jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_DELAY = timedelta(hours=1)


def next_attempt(
    now: datetime, attempt: int, base: timedelta, *, rng: random.Random | None = None
) -> datetime:
    """The time of attempt ``attempt + 1``: base * 2^(attempt-1), jittered by +-50 %, capped."""
    rng = rng or random.Random()
    delay = min(base * (2 ** max(attempt - 1, 0)), MAX_DELAY)
    jittered: timedelta = delay * rng.uniform(0.5, 1.5)
    return now + jittered
