"""Revocations of departed members, deactivated together in full sObject Collections calls.

Slack sends one ``user_change`` per departed member. Each is recorded in the database at
once (see ``handlers.flows.offboard``); the batcher only decides *when* the leased
revocations run: as soon as a full call's worth of Salesforce users waits, when departures
stop arriving for a moment, or when the oldest has waited long enough. A lone departure
is therefore handled within the quiet period, and a burst costs one call per 200 users.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.flows.offboard import Departure, OffboardedGrant, Offboarding
from handlers.flows.outcomes import HandingOver
from handlers.flows.revoke import is_offboarding
from storage.models import AccessRequest

log = logging.getLogger(__name__)

COLLECTION_SIZE = 200  # records per sObject Collections call


@dataclass(frozen=True)
class BatchWindow:
    """When a batch goes: ``size`` users waiting, ``quiet`` seconds without a new one, or
    ``max_wait`` seconds after the oldest arrived."""

    size: int = COLLECTION_SIZE
    quiet: float = 0.5
    max_wait: float = 5.0


class RevocationBatcher:
    """Holds leased revocations until their batch is due, then hands it to ``run``."""

    def __init__(
        self,
        run: Callable[[list[AccessRequest]], Awaitable[object]],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        window: BatchWindow | None = None,
    ) -> None:
        self._run = run
        self._spawn = spawn
        self.window = window or BatchWindow()
        self._queue: list[AccessRequest] = []
        self._first = 0.0
        self._last = 0.0
        self._nudged = asyncio.Event()
        self._running = False
        self._stopped = False

    @property
    def waiting(self) -> int:
        """How many revocations wait for their batch."""
        return len(self._queue)

    def add(self, revocations: Sequence[AccessRequest]) -> None:
        """Queue revocations this worker has leased; the batch goes when it is due."""
        if not revocations or self._stopped:
            return
        now = asyncio.get_running_loop().time()
        if not self._queue:
            self._first = now
        self._last = now
        self._queue.extend(revocations)
        self._nudged.set()
        if not self._running:
            self._running = True
            self._spawn(self._loop())

    def stop(self) -> None:
        """Start no more batches; the queued rows stay leased in the database.

        The next start gives this worker's leases back and the scheduler runs them, exactly
        as after a crash.
        """
        self._stopped = True
        self._queue.clear()
        self._nudged.set()

    def _users(self) -> int:
        return len({r.sf_user_id or r.id for r in self._queue})

    def _delay(self) -> float:
        if self._users() >= self.window.size:
            return 0.0
        due = min(self._last + self.window.quiet, self._first + self.window.max_wait)
        return max(0.0, due - asyncio.get_running_loop().time())

    def _take(self) -> list[AccessRequest]:
        users: set[str] = set()
        batch: list[AccessRequest] = []
        rest: list[AccessRequest] = []
        for revocation in self._queue:
            user = revocation.sf_user_id or revocation.id
            if user in users or len(users) < self.window.size:
                users.add(user)
                batch.append(revocation)
            else:
                rest.append(revocation)
        self._queue = rest
        # What stays behind has waited since the batch was cut.
        self._first = asyncio.get_running_loop().time()
        return batch

    async def _loop(self) -> None:
        try:
            while self._queue and not self._stopped:
                delay = self._delay()
                if delay > 0:
                    self._nudged.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._nudged.wait()
                    continue
                batch = self._take()
                try:
                    await self._run(batch)
                except Exception:  # the rows stay leased; the scheduler takes them after it
                    log.exception("a batch of %d revocations failed", len(batch))
        finally:
            self._running = False


@dataclass
class _Open:
    name: str
    departure: Departure
    waiting: set[str]
    done: list[OffboardedGrant] = field(default_factory=list)


class Departures:
    """Departed members whose summary waits for the outcomes of their revocations."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def expect(self, departure: Departure, *, name: str = "") -> Offboarding | None:
        """Remember a departure; its summary at once when nothing of it waits."""
        if not departure.waiting:
            return departure.report()
        waiting = {r.id for r in departure.waiting}
        self._open[departure.subject_id] = _Open(name, departure, waiting)
        return None

    def settle(self, results: Sequence[OffboardedGrant]) -> list[tuple[Offboarding, str]]:
        """Record outcomes; the summaries (with the member's name) now complete.

        An offboarding revocation nobody here waits for (its departure was recorded by a
        process that stopped before the batch, or a restart interrupted its run) is reported
        on its first run: the notifier posts its departure's summary when none went yet, and
        otherwise updates that one. Later runs are retries: their outcome updates the summary
        when the access is removed (``Notifier.revoked``).
        """
        strays: dict[str, _Open] = {}
        for item in results:
            revocation = item.revocation
            entry = self._open.get(revocation.subject_id)
            if entry is None or revocation.id not in entry.waiting:
                if not is_offboarding(revocation) or revocation.attempts:
                    continue
                if isinstance(item.outcome, HandingOver) and not item.outcome.started:
                    continue  # its summary went when the transfer started
                entry = strays.setdefault(
                    revocation.subject_id,
                    _Open(
                        revocation.subject_name or "",
                        Departure(subject_id=revocation.subject_id),
                        set(),
                    ),
                )
            entry.waiting.discard(revocation.id)
            entry.done.append(item)
        complete: list[tuple[Offboarding, str]] = []
        for subject, entry in list(self._open.items()):
            if not entry.waiting:
                del self._open[subject]
                complete.append((entry.departure.report(tuple(entry.done)), entry.name))
        complete += [(e.departure.report(tuple(e.done)), e.name) for e in strays.values()]
        return complete
