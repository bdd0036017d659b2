"""Figures and the few statistics the benchmarks need."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

Fact = float | int | bool | str


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds."""
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds * 1000:.0f} ms"


def ratio(ours: float, baseline: float, *, higher_is_better: bool = False) -> str:
    """How many times better ours is than the baseline (``x`` suffix)."""
    if any(math.isnan(v) or v <= 0 for v in (ours, baseline)):
        return "n/a"
    times = ours / baseline if higher_is_better else baseline / ours
    return f"{times:.1f}x"


@dataclass(frozen=True)
class Figure:
    """One row of the results table: our figure beside the naive baseline, and the target."""

    what: str
    measure: str
    result: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    facts: dict[str, Fact] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """Met, missed, or not measured."""
        return {True: "yes", False: "**no**", None: "n/a"}[self.met]


def latency_summary(values: Sequence[float]) -> str:
    """``p50 / p99`` of a list of seconds."""
    return f"p50 {ms(percentile(values, 50))} / p99 {ms(percentile(values, 99))}"
