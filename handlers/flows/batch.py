"""Many revocations at once, one Salesforce call: the single-revocation flow, batched.

Each revocation runs the ordinary ``run_revocation`` flow against a member of a
``DeactivationBatch``. A member's ``deactivate`` waits until every revocation of the batch has
either asked to deactivate or finished without needing to; then one ``deactivate_many`` answers
them all. The flow, its error handling and its audit rows stay exactly those of one revocation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from handlers.flows.outcomes import (
    RevokeOutcome,
)
from handlers.flows.ports import SalesforceGateway
from handlers.flows.revoke import run_revocation
from handlers.policy import Policy
from salesforce.errors import RecordNotFound
from salesforce.models import (
    ApiBudget,
    Catalog,
    DeactivationOutcome,
    ProvisionResult,
    SalesforceUser,
    UserSpec,
)
from storage.models import AccessRequest
from storage.requests import RequestRepository

log = logging.getLogger(__name__)


class DeactivationBatch:
    """Collects the deactivations of ``members`` concurrent revocations into one call."""

    def __init__(self, gateway: SalesforceGateway, members: int) -> None:
        self.gateway = gateway
        self._undecided = members
        self._pending: dict[str, list[asyncio.Future[DeactivationOutcome]]] = {}
        self.calls = 0

    def member(self) -> BatchMember:
        """The gateway one revocation of the batch talks to."""
        return BatchMember(self)

    async def enqueue(self, user_id: str) -> DeactivationOutcome:
        """Wait for the batch's call and return this user's outcome."""
        future: asyncio.Future[DeactivationOutcome] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(user_id, []).append(future)
        await self.settled()
        return await future

    async def settled(self) -> None:
        """One member needs nothing more; the last one to settle makes the call."""
        self._undecided -= 1
        if self._undecided <= 0 and self._pending:
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        ids = list(pending)
        self.calls += 1
        try:
            if len(ids) == 1:
                outcomes = {ids[0]: await self.gateway.deactivate(ids[0])}
            else:
                outcomes = await self.gateway.deactivate_many(ids)
        except Exception as error:  # every waiting revocation gets the same failure
            for futures in pending.values():
                for future in futures:
                    future.set_exception(error)
            return
        for user_id, futures in pending.items():
            outcome = outcomes.get(user_id)
            for future in futures:
                if outcome is None:
                    future.set_exception(RecordNotFound(f"no outcome for {user_id}"))
                else:
                    future.set_result(outcome)


class BatchMember:
    """A ``SalesforceGateway`` whose ``deactivate`` joins the batch; the rest passes through."""

    def __init__(self, batch: DeactivationBatch) -> None:
        self._batch = batch
        self._gateway = batch.gateway
        self._settled = False

    async def deactivate(self, user_id: str) -> DeactivationOutcome:
        """Deactivate with the rest of the batch."""
        self._settled = True
        return await self._batch.enqueue(user_id)

    async def done(self) -> None:
        """The revocation finished; if it never asked to deactivate, stop waiting for it."""
        if not self._settled:
            self._settled = True
            await self._batch.settled()

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        """Passed through."""
        return await self._gateway.deactivate_many(user_ids)

    async def fetch_catalog(self) -> Catalog:
        """Passed through."""
        return await self._gateway.fetch_catalog()

    async def find_user(
        self, username: str, federation_id: str | None = None
    ) -> SalesforceUser | None:
        """Passed through."""
        return await self._gateway.find_user(username, federation_id)

    async def provision(self, spec: UserSpec) -> ProvisionResult:
        """Passed through."""
        return await self._gateway.provision(spec)

    async def freeze(self, user_id: str) -> bool:
        """Passed through."""
        return await self._gateway.freeze(user_id)

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        """Passed through."""
        return await self._gateway.get_user(user_id)

    async def active_users(self, profile_ids: Sequence[str]) -> list[SalesforceUser]:
        """Passed through."""
        return await self._gateway.active_users(profile_ids)

    def budget(self) -> ApiBudget | None:
        """Passed through."""
        return self._gateway.budget()


async def revoke_together(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    revocations: Sequence[AccessRequest],
    *,
    worker: str,
    lease: timedelta,
) -> list[RevokeOutcome]:
    """Run ``run_revocation`` for each revocation, deactivating their users in one call.

    Two revocations of the same Salesforce user never run side by side: each would see the
    other's grant still active and keep the user. The second one runs after the first.
    """
    waves: list[list[AccessRequest]] = []
    for revocation in revocations:
        user = revocation.sf_user_id
        wave = next(
            (w for w in waves if user is None or all(r.sf_user_id != user for r in w)), None
        )
        if wave is None:
            waves.append([revocation])
        else:
            wave.append(revocation)
    outcomes: list[RevokeOutcome] = []
    for wave in waves:
        outcomes += await _run_wave(repo, gateway, policy, wave, worker=worker, lease=lease)
    return outcomes


async def _run_wave(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    wave: Sequence[AccessRequest],
    *,
    worker: str,
    lease: timedelta,
) -> list[RevokeOutcome]:
    batch = DeactivationBatch(gateway, len(wave))

    async def one(revocation: AccessRequest) -> RevokeOutcome:
        member = batch.member()
        try:
            return await run_revocation(
                repo, member, policy, revocation, worker=worker, lease=lease
            )
        finally:
            await member.done()

    results = await asyncio.gather(*(one(r) for r in wave), return_exceptions=True)
    outcomes: list[RevokeOutcome] = []
    for revocation, result in zip(wave, results, strict=True):
        if isinstance(result, BaseException):
            log.error("revocation %s failed", revocation.id, exc_info=result)
        else:
            outcomes.append(result)
    return outcomes
