"""The jobs the scheduler ticks: each asks the database what is due, runs it, and tells people.

No job keeps state in memory: reminders, warnings and expiries are leased rows, and the
singleton jobs (catalog refresh, reconciliation) take a named lease that also records when
they last ran, so several processes sharing one database do each piece of work once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from handlers.flows.departure_sweep import sweep_departures
from handlers.flows.expiry import expire_grants, warn_expiring
from handlers.flows.lifecycle import AskedAdmins, DriftReport, Superseded
from handlers.flows.offboard import Departure
from handlers.flows.reconcile import reconcile
from handlers.flows.reminders import expire_undecided, nudge_undecided
from handlers.views.lifecycle import build_drift_digest
from storage.due import DueWork
from storage.kv import JobLeases

if TYPE_CHECKING:
    from handlers.deps import Deps

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
CATALOG_REFRESH = "catalog-refresh"
RECONCILIATION = "reconciliation"
DEPARTURE_SWEEP = "departure-sweep"
# Slack retries an event for about an hour at most; a week of ids is plenty to spot repeats.
EVENT_IDS_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class JobSettings:
    """How often the singleton jobs run at most (the tick decides how often they are asked)."""

    catalog_every: timedelta = timedelta(minutes=15)
    reconcile_every: timedelta = timedelta(days=1)
    sweep_every: timedelta = timedelta(days=1)


class LifecycleJobs:
    """Reminders, expiry of undecided requests, expiry warnings and revocations, catalog
    refresh and reconciliation: one method per job, each safe to run in several processes."""

    def __init__(
        self, deps: Deps, due: DueWork, leases: JobLeases, settings: JobSettings | None = None
    ) -> None:
        self._deps = deps
        self._due = due
        self._leases = leases
        self._settings = settings or JobSettings()
        self._waiting_for_budget: set[str] = set()

    def jobs(self) -> list[tuple[str, Job]]:
        """Every job with its name, in the order a tick should run them."""
        return [
            ("expiries", self.expire_grants),
            ("expiry-warnings", self.warn_expiring),
            ("pending-expiry", self.expire_undecided),
            ("reminders", self.remind_undecided),
            ("break-glass-reviews", self.escalate_reviews),
            (DEPARTURE_SWEEP, self.sweep_departures),
            (CATALOG_REFRESH, self.refresh_catalog),
            (RECONCILIATION, self.reconcile),
        ]

    @property
    def _worker(self) -> str:
        return self._deps.config.worker_id

    async def recover(self) -> int:
        """At start-up: give back leases this worker id held when its previous process died."""
        released = await self._due.release_claims_of(self._worker)
        if released:
            log.info("released %d leases left by a previous run of %s", released, self._worker)
        return released

    def budget_low(self) -> bool:
        """Whether the org's daily API budget is below the floor (non-urgent work waits)."""
        budget = self._deps.gateway.budget()
        return budget is not None and budget.remaining < self._deps.config.api_budget_floor

    async def remind_undecided(self) -> int:
        """Remind owners of requests waiting too long; ask the admins after enough reminders."""
        deps = self._deps
        outcomes = await nudge_undecided(
            deps.repo, self._due, deps.policy(), worker=self._worker, lease=deps.config.lease
        )
        for outcome in outcomes:
            if isinstance(outcome, AskedAdmins):
                await deps.notifier.asked_admins(outcome.request, outcome.reminders)
            else:
                await deps.notifier.reminded(outcome.request, outcome.number)
        return len(outcomes)

    async def expire_undecided(self) -> int:
        """Expire requests nobody decided in time."""
        expired = await expire_undecided(self._deps.repo, self._due, self._deps.policy())
        for request in expired:
            await self._deps.notifier.expired(request)
        return len(expired)

    async def escalate_reviews(self) -> int:
        """Ask the admins about break-glass access nobody reviewed in time (once each)."""
        overdue = await self._deps.break_glass_reviews.claim_overdue()
        for request in overdue:
            await self._deps.break_glass.overdue(request)
        return len(overdue)

    async def warn_expiring(self) -> int:
        """Tell people their access ends soon (once per grant)."""
        deps = self._deps
        grants = await warn_expiring(
            deps.repo, self._due, deps.policy(), worker=self._worker, lease=deps.config.lease
        )
        for grant in grants:
            await deps.notifier.expiring_soon(grant)
        return len(grants)

    async def expire_grants(self) -> int:
        """Revoke grants whose time is up (urgent: it runs even when the API budget is low)."""
        deps = self._deps
        outcomes = await expire_grants(
            deps.repo,
            self._due,
            deps.worker.converger,
            worker=self._worker,
            lease=deps.config.lease,
        )
        for outcome in outcomes:
            if isinstance(outcome, Superseded):
                log.info("%s ended; extension %s goes on", outcome.grant.id, outcome.extension.id)
            else:
                await deps.worker.tell(outcome)
        return len(outcomes)

    async def _take_turn(self, name: str, every: timedelta) -> bool:
        # Said once when a job starts waiting and once when it goes on, not on every tick.
        if self.budget_low():
            if name not in self._waiting_for_budget:
                self._waiting_for_budget.add(name)
                log.info("%s waits: the Salesforce API budget is below the floor", name)
            return False
        if name in self._waiting_for_budget:
            self._waiting_for_budget.discard(name)
            log.info("%s goes on: the Salesforce API budget is above the floor again", name)
        return await self._leases.acquire(name, self._worker, self._deps.config.lease, every)

    async def refresh_catalog(self) -> bool:
        """Re-read the catalog from Salesforce when its turn has come (one process does it)."""
        if not await self._take_turn(CATALOG_REFRESH, self._settings.catalog_every):
            return False
        await self._deps.catalog.refresh()
        return True

    async def sweep_departures(self) -> list[Departure] | None:
        """Once a day: members Slack shows as deactivated lose what they still hold.

        Urgent like expiries, so it runs whatever the API budget. When Slack cannot list the
        members, the sweep is due again at the next tick rather than tomorrow.
        """
        deps = self._deps
        every = self._settings.sweep_every
        if not await self._leases.acquire(DEPARTURE_SWEEP, self._worker, deps.config.lease, every):
            return None
        try:
            members = await deps.people.deactivated()
        except Exception:
            await self._leases.make_due(DEPARTURE_SWEEP)
            raise
        names = {p.id: p.real_name for p in members}
        departures = await sweep_departures(
            deps.repo, self._due, names, worker=self._worker, lease=deps.config.lease
        )
        await deps.repo.audit.append(
            request_id=None,
            actor="bot",
            action="departures_swept",
            detail={
                "deactivated_members": len(members),
                "departed": [d.subject_id for d in departures],
                "revocations": sum(len(d.waiting) for d in departures),
                "cancelled": sum(len(d.cancelled) for d in departures),
            },
        )
        for departure in departures:
            await deps.worker.departed(departure, subject_name=names[departure.subject_id])
        return departures

    async def reconcile(self) -> list[DriftReport] | None:
        """Compare the org with the grants once a day and send the admins one digest each."""
        deps = self._deps
        if not await self._take_turn(RECONCILIATION, self._settings.reconcile_every):
            return None
        # Housekeeping rides on the daily turn: Slack retries an event for an hour at most.
        forgotten = await deps.events.forget_older_than(EVENT_IDS_KEPT)
        if forgotten:
            log.info("forgot %d Slack event ids older than %s", forgotten, EVENT_IDS_KEPT)
        policy = deps.policy()
        catalog = await deps.catalog.current()
        reports = await reconcile(deps.repo, self._due, deps.gateway, catalog, policy)
        for report in reports:
            if report.drifts:
                log.info(
                    "reconciliation of %s: %d differences among %d users",
                    report.application,
                    len(report.drifts),
                    report.checked_users,
                    extra={"application": report.application, "count": len(report.drifts)},
                )
        # Published outside the database (the digest, the log), the head pins every row so far.
        head = await deps.repo.audit.head()
        log.info("audit log head %s", head)
        apps = {app.name: app for app in policy.applications}
        admins = dict.fromkeys(a for r in reports if r.drifts for a in apps[r.application].admins)
        for admin in admins:
            mine = [r for r in reports if admin in apps[r.application].admins]
            digest = build_drift_digest(mine, apps, head)
            if digest is not None:
                await deps.notifier.direct(admin, digest)
        return reports
