"""Handing a leaver's work over by itself, as ``offboarding.transfer_to`` says, before the
converger deactivates them: to their Salesforce Manager or to a named Slack member.

The transfer runs as a leased background step of its own (``launch``), like the ones admins
start: the converger starts it (freezing the user), moves on to other users, and converges
this one again when it is done; a transfer a stopped process left running is resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar

from handlers.flows.outcomes import HandingOver
from handlers.flows.people import Person
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.transfer import choices, run_transfer, successor_problem
from handlers.policy import MANAGER, Application
from salesforce.errors import SalesforceError
from salesforce.holdings import Holdings
from storage.models import AccessRequest, ManagedUser
from storage.requests import RequestRepository
from storage.transfers import Transfer, Transfers, TransferState

log = logging.getLogger(__name__)
POLICY = "policy"  # who decided an unattended transfer, in the audit log
T = TypeVar("T")
Launch = Callable[[Transfer], None]  # runs a leased transfer in the background


async def _quiet(_transfer: Transfer) -> None:
    """Without a background runner the transfer reports once, in the admins' summary."""


class HandOver:
    """Starts (or resumes) the policy's transfer of one leaving user's work."""

    def __init__(
        self,
        repo: RequestRepository,
        gateway: SalesforceGateway,
        transfers: Transfers,
        people: Callable[[str], Awaitable[Person]],
        cfg: ProvisioningConfig,
        *,
        worker: str,
        lease: timedelta,
        launch: Launch | None = None,
    ) -> None:
        self.repo, self.gateway, self.transfers = repo, gateway, transfers
        self.people, self.cfg, self.worker, self.lease = people, cfg, worker, lease
        self.launch = launch

    async def recorded(self, revocation_id: str) -> tuple[bool, Transfer | None]:
        """(still running, the transfer) for this revocation; a running one whose lease ran
        out (its process stopped) is leased here and carried on."""
        existing = await self.transfers.for_revocation(revocation_id)
        if existing is None or existing.state is not TransferState.RUNNING:
            return False, existing
        claimed = await self.transfers.claim(existing.id, worker=self.worker, lease=self.lease)
        if claimed:
            return await self._go(claimed[0])
        return True, existing

    async def start(
        self,
        *,
        username: str,
        user_id: str,
        revocation_id: str,
        holdings: Holdings,
        target: str,
    ) -> tuple[bool, Transfer | None]:
        """Freeze the user and start moving their work to the policy's successor: (still
        running, the transfer); no transfer when nothing can move or nobody takes it."""
        try:
            transfer = await self._create(username, user_id, revocation_id, holdings, target)
        except SalesforceError as error:  # the deactivation goes ahead; the records can follow
            log.warning(
                "%s: handing work over failed: %s %s", username, error.human, error.raw_message
            )
            return False, None
        if transfer is None:
            return False, None
        try:
            await self.gateway.freeze(user_id)  # no logins while the work moves
        except SalesforceError as error:  # the converger tries again when the transfer ends
            log.warning("%s: could not freeze: %s", username, error.human)
        return await self._go(transfer)

    async def _go(self, transfer: Transfer) -> tuple[bool, Transfer | None]:
        if self.launch is not None:
            self.launch(transfer)
            return True, transfer
        try:  # no background runner (a one-off command): move it all now
            done = await run_transfer(
                self.gateway,
                self.transfers,
                transfer,
                progress=_quiet,
                worker=self.worker,
                lease=self.lease,
            )
        except SalesforceError:  # logged by the flow; the lease runs out and it resumes
            return True, transfer
        return done.state is TransferState.RUNNING, done

    async def _create(
        self, username: str, user_id: str, revocation_id: str, holdings: Holdings, target: str
    ) -> Transfer | None:
        objects = tuple(c.what for c in choices(holdings))
        if not objects:
            return None
        successor, slack_id, problem = await self._successor(target, user_id)
        if successor is None:
            log.warning("%s: no transfer: %s", username, problem)
            await self.repo.audit.append(
                request_id=revocation_id,
                actor=POLICY,
                action="transfer_skipped",
                detail={"to": target, "why": problem},
            )
            return None
        return await self.transfers.create(
            username=username,
            from_user_id=user_id,
            to_user_id=successor,
            to_slack_id=slack_id,
            objects=objects,
            decided_by=POLICY,
            worker=self.worker,
            lease=self.lease,
            revocation_id=revocation_id,
        )

    async def _successor(
        self, target: str, user_id: str
    ) -> tuple[str | None, str | None, str | None]:
        """The policy's successor: (Salesforce Id, Slack id, why there is none)."""
        if target == MANAGER:
            manager = await self.gateway.manager_of(user_id)
            if manager is None:
                return None, None, "they have no Manager in Salesforce"
            if not manager.is_active:
                return None, None, "their Manager's Salesforce user is inactive"
            return manager.id, None, None
        person = await self.people(target)
        username = f"{person.email.strip().lower()}{self.cfg.username_suffix}"
        found, problem = await successor_problem(
            self.gateway, username if person.email else None, leaver_id=user_id
        )
        return found, target, problem


@dataclass(frozen=True)
class Leaver:
    """What handing one leaver's work over needs to know."""

    username: str
    user_id: str
    revocation_id: str
    target: str  # offboarding.transfer_to


def leaver(
    app: Application | None, user: ManagedUser, to_close: Sequence[AccessRequest]
) -> Leaver | None:
    """Whom the policy hands the user's work to (``offboarding.transfer_to``), if anyone."""
    target = app.offboarding.transfer_to if app and to_close else None
    if not target:
        return None
    return Leaver(user.username, user.sf_user_id or "", to_close[0].id, target)


@dataclass
class Waiting(Generic[T]):
    """A leaver whose deactivation waits for their transfer (``started``: by this round)."""

    plan: T
    transfer: Transfer
    started: bool
    holdings: Holdings | None = None

    @property
    def audit(self) -> dict[str, object] | None:
        """The user's audit row when the transfer started (none while it runs)."""
        if not self.started:
            return None
        return {
            "action": "handing_over",
            "user_id": self.transfer.from_user_id,
            "transfer": self.transfer.id,
        }

    def outcomes(self, to_close: Sequence[AccessRequest]) -> list[HandingOver]:
        """What each waiting revocation tells (the admins' summary, when just started)."""
        return [
            HandingOver(
                revocation=r, transfer=self.transfer, holdings=self.holdings, started=self.started
            )
            for r in to_close
        ]


@dataclass
class Sorted(Generic[T]):
    """Leavers to deactivate now (with the transfer that finished first, if any), leavers
    waiting for a transfer, and what was counted on the way (by Salesforce user Id)."""

    go: list[tuple[T, Transfer | None]] = field(default_factory=list)
    waiting: list[Waiting[T]] = field(default_factory=list)
    held: dict[str, Holdings] = field(default_factory=dict)


async def hand_over_first(
    hand_over: HandOver | None,
    plans: Sequence[T],
    leaver: Callable[[T], Leaver | None],
    count: Callable[[list[T]], Awaitable[dict[str, Holdings]]],
) -> Sorted[T]:
    """Which users the converger deactivates now and which wait, frozen, for the transfer of
    their work (started here, or still running from an earlier round)."""
    out: Sorted[T] = Sorted()
    if hand_over is None:
        out.go = [(plan, None) for plan in plans]
        return out
    fresh: list[tuple[T, Leaver]] = []
    for plan in plans:
        who = leaver(plan)
        if who is None:
            out.go.append((plan, None))
            continue
        running, transfer = await hand_over.recorded(who.revocation_id)
        if running and transfer is not None:
            out.waiting.append(Waiting(plan, transfer, started=False))
        elif transfer is None:
            fresh.append((plan, who))
        else:
            out.go.append((plan, transfer))
    out.held = await count([plan for plan, _ in fresh]) if fresh else {}
    for plan, who in fresh:
        holdings = out.held.get(who.user_id)
        running, transfer = False, None
        if holdings is not None:
            running, transfer = await hand_over.start(
                username=who.username,
                user_id=who.user_id,
                revocation_id=who.revocation_id,
                holdings=holdings,
                target=who.target,
            )
        if running and transfer is not None:
            out.waiting.append(Waiting(plan, transfer, started=True, holdings=holdings))
        else:
            out.go.append((plan, transfer))
    return out
