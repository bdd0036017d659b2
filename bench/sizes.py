"""How big each benchmark runs: the full run of the targets, a quick look, and the smoke size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """The load of one bench run."""

    name: str
    commands: int
    concurrency: int
    grants: int
    baseline_grants: int
    offboard: int
    stored: int
    specs: int
    reviews: int = 5000  # grants in the access review campaign
    delay: float = 0.05
    think: float = 0.5
    rounds: int = 2


FULL = Size(
    "full",
    commands=2000,
    concurrency=50,
    grants=1000,
    baseline_grants=1000,
    offboard=1000,
    stored=100_000,
    specs=20,
)
QUICK = Size(
    "quick",
    commands=400,
    concurrency=50,
    grants=200,
    baseline_grants=200,
    offboard=200,
    stored=20_000,
    specs=5,
    reviews=1000,
)
# Small enough for the test suite: every code path runs, no figure means anything.
TINY = Size(
    "tiny",
    commands=12,
    concurrency=4,
    grants=6,
    baseline_grants=4,
    offboard=12,
    stored=500,
    specs=2,
    reviews=30,
    delay=0.0,
    think=0.0,
    rounds=1,
)
SIZES = {size.name: size for size in (FULL, QUICK, TINY)}
