"""APScheduler only ticks; each tick asks the database what is due and claims it.

An idle tick writes nothing at INFO; a job that handled things writes one line with the count.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeGuard

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


def did_work(result: object) -> TypeGuard[int]:
    """A job that handled things returns how many; anything else (True, a list) is routine."""
    return type(result) is int and result > 0


class Ticker:
    """Runs each job every ``seconds``; one run of a job at a time, missed runs coalesced."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._scheduler = AsyncIOScheduler()
        self._jobs: list[tuple[str, Job]] = []
        # Finished runs of each job (failed ones too): what tests and health checks wait on.
        self.runs: Counter[str] = Counter()
        self._running: set[str] = set()
        self._in_flight: set[asyncio.Future[object]] = set()

    def add(self, name: str, job: Job, *, seconds: float | None = None) -> None:
        """Register ``job`` to run every ``seconds`` (the tick by default)."""
        self._jobs.append((name, job))

        async def run() -> None:
            if name in self._running:  # a long run (a catalog refresh of a big org) goes on
                log.debug("scheduled job %s still running; this tick skips it", name)
                return
            self._running.add(name)
            # Shielded, and kept: stop() waits for it, so the runtime does not close the
            # database or Salesforce under a run in progress.
            run_of = asyncio.ensure_future(_isolated(name, job))
            self._in_flight.add(run_of)
            try:
                result = await asyncio.shield(run_of)
            except asyncio.CancelledError:
                # The process is stopping: stop() waits for the run itself, nothing failed.
                return
            finally:
                self._running.discard(name)
                run_of.add_done_callback(self._in_flight.discard)
            self.runs[name] += 1
            if did_work(result):
                log.info(
                    "scheduled job %s: %d done", name, result, extra={"job": name, "count": result}
                )

        self._scheduler.add_job(
            run,
            "interval",
            seconds=seconds or self._seconds,
            id=name,
            name=name,
            # One run at a time is kept above; APScheduler's own limit of 1 would warn on
            # every tick that finds the previous run still going, a routine event.
            max_instances=2,
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

    async def stop(self, grace: float = 30.0) -> None:
        """Stop ticking and wait (up to ``grace`` seconds) for the runs in progress."""
        self.shutdown()
        running = [run for run in self._in_flight if not run.done()]
        if running:
            await asyncio.wait(running, timeout=grace)

    async def run_all_once(self) -> list[str]:
        """Run every job now, in order (tests and the demo use this instead of waiting).

        Each runs on its own: one that fails is logged with its name and the others still
        run, as on a scheduled tick. Returns the names of the jobs that failed.
        """
        failed = []
        for name, job in self._jobs:
            if await _isolated(name, job) is _FAILED:
                failed.append(name)
        return failed


_FAILED = object()


async def _isolated(name: str, job: Job) -> object:
    """Run ``job``; a failure is logged with its name and returns ``_FAILED``."""
    try:
        return await job()
    except Exception:
        log.exception("scheduled job %s failed; it runs again on the next tick", name)
        return _FAILED
