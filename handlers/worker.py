"""Runs the Salesforce side of requests in the background and tells people what happened."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from handlers.flows.batch import revoke_together
from handlers.flows.converge import Converger, Outcome
from handlers.flows.offboard import Departure, pair_outcomes
from handlers.flows.outcomes import (
    Decided,
    HandingOver,
    NeedsAdmin,
    Provisioned,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.flows.provision import ProvisionStart, start_provisioning
from handlers.flows.revoke import EXTENSION_CANCELLED, is_offboarding
from handlers.offboarding_batch import BatchWindow, Departures, RevocationBatcher
from handlers.request_log import fields
from handlers.transfer_runs import run_claimed, run_transfers_due
from storage.models import CARRIED_STATES, AccessRequest, Kind, ManagedUser, State
from storage.transfers import Transfer

if TYPE_CHECKING:
    from handlers.deps import Deps

log = logging.getLogger(__name__)
_CLOSED = (State.CANCELLED, State.DENIED, State.EXPIRED)


class Worker:
    """Provisioning and deprovisioning, started at once by a click or later by the scheduler."""

    def __init__(self, concurrency: int = 8, window: BatchWindow | None = None) -> None:
        self._deps: Deps | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # A step leases its request when it starts; waiting here first keeps a long queue
        # from holding leases that could expire before the Salesforce call is even made.
        self._slots = asyncio.Semaphore(concurrency)
        self.batcher = RevocationBatcher(self.deprovision_together, self.spawn, window)
        self.departures = Departures()
        self.transfers_running: set[str] = set()  # transfer ids this process is moving
        self.stopping = False

    def bind(self, deps: Deps) -> None:
        """Attach the collaborators (the worker is itself one of them)."""
        self._deps = deps

    @property
    def deps(self) -> Deps:
        """The bound collaborators."""
        if self._deps is None:
            raise RuntimeError("Worker.bind() was not called")
        return self._deps

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background; failures are logged, never lost silently."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def track_current(self) -> None:
        """Count the running task as background work, so ``drain`` waits for it too.

        A Bolt listener goes on after its ack in a task of its own (DMs after a submission,
        message updates after a click); shutdown and tests must wait for that as well.
        """
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background step failed", exc_info=task.exception())

    def kick(self, request_id: str) -> None:
        """Start the next Salesforce step of ``request_id`` now, without waiting for a tick."""
        self.spawn(self.process(request_id))

    @property
    def provision_start(self) -> ProvisionStart:
        """What an approval needs to start provisioning in its own transaction."""
        config = self.deps.config
        return ProvisionStart(worker=config.worker_id, cfg=config.provisioning)

    def approved(self, decided: Decided) -> None:
        """Provision a grant just approved: converge its user now, without a tick.

        When the approval's transaction started provisioning and leased the user, the
        converger goes straight to Salesforce (no transaction of its own before the call).
        """
        started = decided.provisioning
        if started is None or started.sf_username is None:
            self.kick(decided.request.id)
            return
        self.spawn(self._provision_started(started, decided.leased))

    async def _provision_started(self, started: AccessRequest, leased: ManagedUser | None) -> None:
        username = started.sf_username or ""
        async with self._slots:
            outcomes = await self.converger.converge(
                [username], leased=[leased] if leased is not None else ()
            )
        for outcome in outcomes:
            await self.tell(outcome)

    def launch_transfer(self, transfer: Transfer) -> None:
        """Run a leased transfer (the policy's, started by the converger) in the background."""
        self.spawn(run_claimed(self.deps, transfer))

    def converge_soon(self, username: str) -> None:
        """Converge ``username`` now (a transfer its deactivation waited for is done)."""
        self.spawn(self._converge_now(username))

    def request_changed(self, request: AccessRequest) -> None:
        """A grant that named a user was cancelled: converge that user now, not at the tick.

        (A create whose answer was lost may have made the user; the converger looks.)
        """
        if request.kind is Kind.GRANT and request.sf_username and request.state in _CLOSED:
            self.spawn(self._converge_now(request.sf_username))
        if request.kind is Kind.GRANT and request.grant_id and request.state is State.CANCELLED:
            self.spawn(self._tell_extension_cancelled(request))

    async def _tell_extension_cancelled(self, extension: AccessRequest) -> None:
        """Tell an extension's requester it ended with its grant (whichever path ended it)."""
        trail = await self.deps.repo.audit.for_request(extension.id)
        if trail and trail[-1].action == EXTENSION_CANCELLED:
            await self.deps.notifier.extension_cancelled(extension)

    async def _converge_now(self, username: str) -> None:
        async with self._slots:
            outcomes = await self.converger.converge([username])
        for outcome in outcomes:
            await self.tell(outcome)

    def stop(self) -> None:
        """Start no more batches (shutdown); what they held stays leased in the database."""
        self.stopping = True
        self.batcher.stop()

    async def drain(self) -> None:
        """Wait for every background step started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def converger(self) -> Converger:
        """The one converger of this process."""
        return self.deps.converger

    async def process(self, request_id: str) -> list[Outcome]:
        """Run whatever Salesforce step ``request_id`` is waiting for."""
        request = await self.deps.repo.get(request_id)
        if request is None:
            return []
        if request.kind is Kind.GRANT:
            return await self.provision(request)
        return await self.deprovision(request)

    async def provision(self, request: AccessRequest) -> list[Outcome]:
        """Name the grant's user and converge it, then send the messages of every outcome."""
        deps = self.deps
        started = await start_provisioning(
            deps.repo, request, worker=deps.config.worker_id, cfg=deps.config.provisioning
        )
        if isinstance(started, Skipped) or not started.sf_username:
            await self.tell(started if isinstance(started, Skipped) else _busy(started))
            return []
        async with self._slots:
            outcomes = await self.converger.converge([started.sf_username])
        for outcome in outcomes:
            await self.tell(outcome)
        return outcomes

    async def deprovision(self, revocation: AccessRequest) -> list[Outcome]:
        """Converge the revocation's user, then send the messages of every outcome."""
        return await self.deprovision_together([revocation])

    async def converge_due(self) -> int:
        """Converge users left dirty (crash, cancellation, a retry's time); tells outcomes."""
        async with self._slots:
            outcomes = await self.converger.run_due()
        for outcome in outcomes:
            await self.tell(outcome)
        return len(outcomes)

    async def departed(self, departure: Departure, *, subject_name: str = "") -> None:
        """A member left Slack (recorded already): tell the cancellations, queue the rest.

        The admins' summary goes once every revocation of the departure has an outcome.
        """
        notifier = self.deps.notifier
        for grant in departure.cancelled:
            await notifier.decided(grant)
        report = self.departures.expect(departure, name=subject_name)
        if report is not None:
            await notifier.offboarded(report, subject_name=subject_name)
        self.batcher.add(departure.waiting)

    async def deprovision_together(self, revocations: list[AccessRequest]) -> list[Outcome]:
        """Converge the users of these revocations in one round, then tell each outcome."""
        deps = self.deps
        async with self._slots:
            outcomes = await revoke_together(self.converger, revocations)
        for outcome in outcomes:
            await self.tell(outcome)
        results = pair_outcomes(revocations, outcomes)
        for report, name in self.departures.settle(results):
            await deps.notifier.offboarded(report, subject_name=name)
        return outcomes

    async def tell(self, outcome: Outcome) -> None:
        """Send the messages that go with a provisioning or revocation outcome."""
        notifier = self.deps.notifier
        if isinstance(outcome, Provisioned):
            await notifier.provisioned(outcome)
        elif isinstance(outcome, NeedsAdmin):
            await notifier.needs_admin(outcome)
        elif isinstance(outcome, RevokedAccess):
            # Someone who left Slack would never read it.
            await notifier.revoked(outcome, tell_subject=not is_offboarding(outcome.revocation))
        elif isinstance(outcome, RevocationBlocked):
            await notifier.revocation_blocked(outcome)
        elif isinstance(outcome, HandingOver):
            log.info("%s: waiting for transfer %s", outcome.revocation.id, outcome.transfer.id)
            await notifier.handing_over(outcome)
        elif isinstance(outcome, WillRetry):
            log.info(
                "%s: attempt %d failed (%s); retrying at %s",
                outcome.request.id,
                outcome.attempt,
                outcome.human,
                outcome.at,
                extra=fields(outcome.request, "bot"),
            )
            await notifier.retrying(outcome)
        else:
            log.debug("%s skipped: %s", outcome.request_id, outcome.why)

    async def run_due(self, limit: int = 50) -> int:
        """Claim and run the grants and revocations whose time has come; returns how many."""
        deps = self.deps
        claimed = await deps.repo.claim_due(
            CARRIED_STATES,
            worker=deps.config.worker_id,
            lease=deps.config.lease,
            limit=limit,
        )
        grants = [r for r in claimed if r.kind is Kind.GRANT]
        # Grants side by side, as many at once as there are slots: a backlog drains at full
        # width (provisioning is idempotent, the state moves by compare-and-set).
        results = await asyncio.gather(*map(self._resume, grants), return_exceptions=True)
        for request, result in zip(grants, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "%s: scheduled step failed", request.id, exc_info=result, extra=fields(request)
                )
        # Revocations together, one deactivation call per wave (waves keep two revocations
        # of one user apart: side by side each would see the other's grant still active).
        revocations = [r for r in claimed if r.kind is not Kind.GRANT]
        if revocations:
            await self.deprovision_together(revocations)
        # Transfers a stopped process left running pick up from their recorded job.
        resumed = await run_transfers_due(deps)
        # Users left dirty with no request to carry them (a cancellation, a crash).
        return len(claimed) + resumed + await self.converge_due()

    async def _resume(self, grant: AccessRequest) -> None:
        if grant.state is State.PROVISIONING:
            await self.deps.repo.audit.append(
                request_id=grant.id, actor="bot", action="provisioning_resumed"
            )
        await self.provision(grant)


def _busy(request: AccessRequest) -> Skipped:
    return Skipped(request_id=request.id, why="no Salesforce username to provision")
