"""How big each benchmark runs: the full run of the targets, a quick look, and the smoke size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """The load of one bench run."""

    name: str
    commands: int
    concurrency: int
    offboard: int
    stored: int
    specs: int
    reviews: int = 5000  # grants in the access review campaign
    # Records a leaver hands over, and the sample the one-PATCH-per-record baseline moves.
    transfer: int = 50_000
    transfer_sample: int = 2_000
    delay: float = 0.05
    think: float = 0.5
    rounds: int = 2
    # Approve clicks a second, each for ``seconds_per_rate``, until a rate's p99 passes 1 s.
    rates: tuple[float, ...] = (25, 50, 100, 150, 200)
    seconds_per_rate: float = 4.0
    # Requests submitted at once to one application's two owners (the cohort row).
    burst: int = 500
    # Whether the targets mean anything at this size (a missed one fails the run).
    judged: bool = True

    @property
    def clicks(self) -> int:
        """Approve clicks the grant run may need: every rate's, for each bot."""
        return sum(round(rate * self.seconds_per_rate) for rate in self.rates)


FULL = Size(
    "full",
    commands=2000,
    concurrency=50,
    offboard=1000,
    stored=100_000,
    specs=20,
)
QUICK = Size(
    "quick",
    commands=400,
    concurrency=50,
    offboard=200,
    stored=20_000,
    specs=5,
    seconds_per_rate=1.0,
    burst=100,
    reviews=1000,
    transfer=5_000,
    transfer_sample=500,
)
# Small enough for the test suite: every code path runs, no figure means anything.
TINY = Size(
    "tiny",
    commands=12,
    concurrency=4,
    offboard=12,
    stored=500,
    specs=2,
    reviews=30,
    transfer=300,
    transfer_sample=30,
    delay=0.0,
    think=0.0,
    rounds=1,
    rates=(2, 4),
    seconds_per_rate=1.0,
    burst=6,
    judged=False,
)
SIZES = {size.name: size for size in (FULL, QUICK, TINY)}
