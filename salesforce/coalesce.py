"""Bulk calls that arrive together share round trips: while one runs, the next ones gather.

When many members leave Slack at once, each departure asks for its own bulk deactivation.
Run one by one, a thousand departures cost a thousand rounds of sObject Collections calls.
Here the first call runs at once; every call made while it is in flight joins a single next
round, and so on, so a burst costs a handful of rounds and a lone call waits for nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
V = TypeVar("V")


@dataclass
class _Round(Generic[V]):
    keys: dict[str, None] = field(default_factory=dict)
    waiters: list[asyncio.Future[dict[str, V]]] = field(default_factory=list)


class Coalescer(Generic[V]):
    """Runs ``action`` on the union of the keys of every call gathered while it was busy.

    ``action`` must answer for each key it is given; each caller gets the answers for its own
    keys, or the exception its round raised.
    """

    def __init__(self, action: Callable[[list[str]], Awaitable[dict[str, V]]]) -> None:
        self._action = action
        self._gathering: _Round[V] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def run(self, keys: Sequence[str]) -> dict[str, V]:
        """The answers for ``keys``, from the next round that includes them."""
        if not keys:
            return {}
        gathering = self._gathering
        if gathering is None:
            gathering = self._gathering = _Round()
        gathering.keys.update(dict.fromkeys(keys))
        answer: asyncio.Future[dict[str, V]] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(_seen)
        gathering.waiters.append(answer)
        if self._runner is None or self._runner.done():
            # A task of its own, so a caller that gives up never strands the others.
            self._runner = asyncio.create_task(self._run_rounds())
        answers = await asyncio.shield(answer)
        return {key: answers[key] for key in keys if key in answers}

    async def _run_rounds(self) -> None:
        while self._gathering is not None:
            current, self._gathering = self._gathering, None
            try:
                answers = await self._action(list(current.keys))
            except Exception as error:
                for waiter in current.waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
                continue
            if len(current.waiters) > 1:
                log.debug("%d bulk calls shared one round", len(current.waiters))
            for waiter in current.waiters:
                if not waiter.done():
                    waiter.set_result(answers)


def _seen(answer: asyncio.Future[Any]) -> None:
    # The caller may have given up; its round's failure is still its own, not the loop's.
    if not answer.cancelled():
        answer.exception()
