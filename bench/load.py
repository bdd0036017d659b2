"""Bounded-concurrency load: N simulated people working through a list of jobs."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def run_concurrently(
    items: Sequence[T],
    concurrency: int,
    job: Callable[[T], Awaitable[R]],
    *,
    think: float = 0.0,
    seed: int = 0,
) -> list[R]:
    """Run ``job`` on every item, ``concurrency`` people at a time; results in item order.

    Each person waits for the answer, then thinks ``think`` seconds on average (uniformly
    between half and one and a half times that) before their next job, as load-testing tools
    model users; people arrive spread over the first ``think`` seconds rather than all in the
    same millisecond. ``think=0`` hammers the bot to find its capacity.
    """
    results: list[R | None] = [None] * len(items)
    cursor = iter(range(len(items)))
    pace = random.Random(seed)

    async def person() -> None:
        if think:
            await asyncio.sleep(pace.uniform(0, think))
        for index in cursor:
            results[index] = await job(items[index])
            if think:
                await asyncio.sleep(pace.uniform(0.5 * think, 1.5 * think))

    await asyncio.gather(*(person() for _ in range(max(1, min(concurrency, len(items))))))
    return [r for r in results if r is not None]


async def wait_until(
    predicate: Callable[[], bool], *, within: float, interval: float = 0.05
) -> bool:
    """Poll ``predicate`` until it holds (True) or ``within`` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause this process's garbage collector while measuring (its pauses are not the bot's)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
