"""APScheduler only ticks; each tick asks the database what is due and claims it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Ticker:
    """Runs each job every ``seconds``; one run of a job at a time, missed runs coalesced."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._scheduler = AsyncIOScheduler()
        self._jobs: list[tuple[str, Job]] = []

    def add(self, name: str, job: Job, *, seconds: float | None = None) -> None:
        """Register ``job`` to run every ``seconds`` (the tick by default)."""
        self._jobs.append((name, job))

        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("scheduled job %s failed; it runs again on the next tick", name)

        self._scheduler.add_job(
            run,
            "interval",
            seconds=seconds or self._seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def start(self) -> None:
        """Start ticking (needs a running event loop)."""
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop ticking; a job in progress finishes on its own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run_all_once(self) -> None:
        """Run every job now, in order (tests and the demo use this instead of waiting)."""
        for _name, job in self._jobs:
            await job()
