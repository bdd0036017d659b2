"""The retry backoff: every gap longer than the one before (until the cap), whatever the jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from handlers.flows.retry import MAX_DELAY, next_attempt, retry_at
from salesforce.errors import Transient

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BASE = timedelta(seconds=30)
# 30 s doubled: 30, 60, ..., 1920 s stay under the one-hour cap; the 8th attempt reaches it.
UNCAPPED = range(1, 8)
SEEDS = range(200)


def _gaps(rng: random.Random, attempts: range) -> list[timedelta]:
    return [next_attempt(NOW, attempt, BASE, rng=rng) - NOW for attempt in attempts]


def test_each_gap_grows_until_the_cap() -> None:
    for seed in SEEDS:
        gaps = _gaps(random.Random(seed), UNCAPPED)
        assert all(earlier < later for earlier, later in pairwise(gaps)), (seed, gaps)


def test_the_gaps_are_jittered_within_their_band() -> None:
    firsts = {_gaps(random.Random(seed), range(1, 2))[0] for seed in SEEDS}
    assert len(firsts) > len(SEEDS) // 2  # jittered: processes that failed together spread out
    assert all(BASE / 2 <= gap <= BASE for gap in firsts)


def test_capped_gaps_stay_under_the_cap() -> None:
    for seed in SEEDS:
        gaps = _gaps(random.Random(seed), range(8, 30))
        assert all(MAX_DELAY / 2 <= gap <= MAX_DELAY for gap in gaps), (seed, gaps)


def test_retry_at_takes_its_jitter_from_the_given_source() -> None:
    error = Transient("503")
    first = [retry_at(NOW, n, BASE, error, rng=random.Random(7)) for n in UNCAPPED]
    again = [retry_at(NOW, n, BASE, error, rng=random.Random(7)) for n in UNCAPPED]
    assert first == again
    assert all(earlier < later for earlier, later in pairwise(first))
