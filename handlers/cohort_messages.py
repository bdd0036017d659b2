"""Owners' cohort messages: one list per owner, posted once and updated in place.

A burst of requests would otherwise be a burst of DMs to each owner, at Slack's one message a
second per conversation. A cohort is posted once; later arrivals and decisions update it. The
updates are coalesced: while one is on its way (Slack's limits may hold it for seconds), any
number of changes make one more update, rendered from the database when its turn comes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from handlers.delivery import SlackDelivery
from handlers.policy import Application, Policy
from handlers.views.cohort import build_cohort
from storage.cohorts import Cohort, Cohorts
from storage.models import AccessRequest, MessageRef
from storage.requests import RequestRepository

log = logging.getLogger(__name__)
COHORT = "cohort"
NOT_POSTED = ""  # the ts of a list that waits in the outbox: never updated, takes no requests


class CohortMessages:
    """Asks owners in cohorts (for applications with a ``cohort_window``)."""

    def __init__(
        self,
        cohorts: Cohorts,
        delivery: SlackDelivery,
        repo: RequestRepository,
        policy: Callable[[], Policy],
    ) -> None:
        self._cohorts = cohorts
        self._delivery = delivery
        self._repo = repo
        self._policy = policy
        self._busy: set[str] = set()
        self._dirty: set[str] = set()

    async def ask(self, request: AccessRequest, app: Application, target: str) -> None:
        """List ``request`` in ``target``'s open cohort (posting a new one when none is)."""
        window = app.cohort_window or timedelta(0)
        cohort, _ = await self._cohorts.join(
            app.name, target, self._repo.clock() - window, request.id
        )
        await self._sync(cohort.id)

    async def changed(self, request: AccessRequest) -> None:
        """A listed request was decided or moved on: its cohorts show it."""
        for cohort_id in await self._cohorts.of_request(request.id):
            await self._sync(cohort_id)

    async def places(self, request: AccessRequest) -> list[tuple[str, str]]:
        """(channel, ts) of each posted list showing ``request`` (for replies in its thread)."""
        found = []
        for cohort_id in await self._cohorts.of_request(request.id):
            cohort = await self._cohorts.get(cohort_id)
            if cohort is not None and cohort.channel and cohort.ts:
                found.append((cohort.channel, cohort.ts))
        return found

    async def members(self, cohort_id: str) -> list[str]:
        """The requests a cohort lists, in arrival order (decided or not)."""
        return await self._cohorts.members(cohort_id)

    async def _sync(self, cohort_id: str) -> None:
        """Bring the cohort's message up to date; coalesced with any sync already running."""
        if cohort_id in self._busy:
            self._dirty.add(cohort_id)
            return
        self._busy.add(cohort_id)
        try:
            again = True
            while again:
                self._dirty.discard(cohort_id)
                cohort = await self._cohorts.get(cohort_id)
                if cohort is None or not await self._send(cohort):
                    return
                again = cohort_id in self._dirty
        finally:
            self._busy.discard(cohort_id)

    async def _send(self, cohort: Cohort) -> bool:
        """Post or update the cohort's message; False when Slack did not take it now."""
        policy = self._policy()
        app = policy.application(cohort.application) or policy.default_application
        if cohort.ts == NOT_POSTED:
            return False
        ids = await self._cohorts.members(cohort.id)
        members = [await self._repo.get(i) for i in ids]
        shown = build_cohort(cohort.id, app, [r for r in members if r is not None])
        if cohort.ts is None or cohort.channel is None:
            posted = await self._delivery.post(cohort.recipient, shown)
            if posted is None:
                await self._not_posted(cohort, app, listed=set(ids))
                return False
            await self._cohorts.posted(cohort.id, *posted)
            return True
        ref = MessageRef(
            request_id=members[0].id if members and members[0] else cohort.id,
            purpose=COHORT,
            channel=cohort.channel,
            ts=cohort.ts,
            recipient=cohort.recipient,
        )
        return await self._delivery.update(ref, shown)

    async def _not_posted(self, cohort: Cohort, app: Application, *, listed: set[str]) -> None:
        """Slack did not take the list now: it waits in the outbox as it was rendered (its
        buttons work when it arrives). It takes no more requests; those that joined while it
        was on its way go to a new list."""
        log.warning("cohort %s to %s waits in the outbox", cohort.id, cohort.recipient)
        await self._cohorts.posted(cohort.id, cohort.recipient, NOT_POSTED)
        for request_id in await self._cohorts.members(cohort.id):
            request = await self._repo.get(request_id)
            if request_id not in listed and request is not None:
                await self.ask(request, app, cohort.recipient)
