"""Handing a leaver's work over by itself, as ``offboarding.transfer_to`` says, before the
converger deactivates them: to their Salesforce Manager or to a named Slack member."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from handlers.flows.people import Person
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.transfer import choices, run_transfer, successor_problem
from handlers.policy import MANAGER
from salesforce.errors import SalesforceError
from salesforce.holdings import Holdings
from storage.requests import RequestRepository
from storage.transfers import Transfer, Transfers, TransferState

log = logging.getLogger(__name__)
POLICY = "policy"  # who decided an unattended transfer, in the audit log


async def _quiet(_transfer: Transfer) -> None:
    """Unattended transfers report once, in the admins' summary."""


class HandOver:
    """Runs (or resumes) the policy's transfer of one leaving user's work."""

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
    ) -> None:
        self.repo, self.gateway, self.transfers = repo, gateway, transfers
        self.people, self.cfg, self.worker, self.lease = people, cfg, worker, lease

    async def run(
        self,
        *,
        username: str,
        user_id: str,
        revocation_id: str,
        holdings: Holdings,
        target: str,
    ) -> Transfer | None:
        """Move the user's work to the policy's successor; a transfer a crash interrupted
        carries on from its recorded job; a finished one is returned as it is."""
        existing = await self.transfers.for_revocation(revocation_id)
        if existing is not None and existing.state is not TransferState.RUNNING:
            return existing
        try:
            transfer = existing or await self._start(
                username, user_id, revocation_id, holdings, target
            )
            if transfer is None:
                return None
            return await run_transfer(
                self.gateway,
                self.transfers,
                transfer,
                progress=_quiet,
                worker=self.worker,
                lease=self.lease,
            )
        except SalesforceError as error:  # the deactivation goes ahead; the records can follow
            log.warning(
                "%s: handing work over failed: %s %s", username, error.human, error.raw_message
            )
            return None

    async def _start(
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
