"""Transfers run in the background: started from the admins' DM or by the converger (the
policy's ``offboarding.transfer_to``), resumed after a restart, and retried for the rows
Salesforce refused; the DM shows progress, then the outcome. A transfer that moved everything
sends the blocked deactivation back to the converger; the policy's sends its waiting user."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from handlers.flows.escalate import Resumed, retry
from handlers.flows.transfer import run_transfer
from salesforce.errors import SalesforceError
from storage.models import AccessRequest, State
from storage.transfers import Transfer, TransferState

if TYPE_CHECKING:
    from handlers.deps import Deps

log = logging.getLogger(__name__)
WAITING = (State.REQUESTED, State.DEPROVISIONING)  # a revocation the converger left waiting


async def start_transfer(
    deps: Deps,
    revocation: AccessRequest,
    *,
    successor_id: str,
    successor_slack_id: str | None,
    objects: Sequence[str],
    decided_by: str,
    thread: tuple[str, str] | None = None,
) -> Transfer:
    """Record the transfer (leased to this process), show it in the DM, run it in the
    background."""
    transfer = await deps.transfers.create(
        username=revocation.sf_username or "",
        from_user_id=revocation.sf_user_id or "",
        to_user_id=successor_id,
        to_slack_id=successor_slack_id,
        objects=objects,
        decided_by=decided_by,
        worker=deps.config.worker_id,
        lease=deps.config.lease,
        revocation_id=revocation.id,
        thread=thread,
    )
    await deps.notifier.transfer_progress(transfer)
    deps.worker.spawn(run_claimed(deps, transfer))
    return transfer


async def retry_failed_rows(deps: Deps, transfer: Transfer, *, actor: str) -> Transfer | None:
    """Run the objects whose rows were refused again (what moved meanwhile is not sent)."""
    reopened = await deps.transfers.reopen(transfer.id, actor=actor)
    if reopened is None:
        return None
    claimed = await deps.transfers.claim(
        reopened.id, worker=deps.config.worker_id, lease=deps.config.lease
    )
    if not claimed:
        return None
    await deps.notifier.transfer_progress(claimed[0])
    deps.worker.spawn(run_claimed(deps, claimed[0]))
    return claimed[0]


async def run_transfers_due(deps: Deps) -> int:
    """Resume the transfers a stopped process left running (their lease ran out, or ours)."""
    claimed = await deps.transfers.claim(
        None, worker=deps.config.worker_id, lease=deps.config.lease
    )
    for transfer in claimed:
        log.info("transfer %s: resuming", transfer.id)
        await run_claimed(deps, transfer)
    return len(claimed)


async def run_claimed(deps: Deps, transfer: Transfer) -> Transfer | None:
    """Move what is left, tell the admins, and retry the deactivation when all moved."""
    running = deps.worker.transfers_running
    if transfer.id in running:  # a tick while a click's run is still going
        return None
    running.add(transfer.id)
    try:
        done = await run_transfer(
            deps.gateway,
            deps.transfers,
            transfer,
            progress=deps.notifier.transfer_progress,
            keep_going=lambda: not deps.worker.stopping,
            worker=deps.config.worker_id,
            lease=deps.config.lease,
        )
    except SalesforceError:  # logged by the flow; the lease runs out and a tick resumes it
        return None
    finally:
        running.discard(transfer.id)
    if done.state is TransferState.RUNNING:
        return None
    await deps.notifier.transfer_progress(done)
    revocation = await deps.repo.get(done.revocation_id) if done.revocation_id else None
    if revocation and revocation.state in WAITING and revocation.sf_username:
        # The policy's transfer: the converger deactivates the user it left waiting.
        await deps.repo.managed.mark(revocation.sf_username, subject_id=revocation.subject_id)
        deps.worker.converge_soon(revocation.sf_username)
        return done
    if done.state is TransferState.DONE and revocation and revocation.state is State.BLOCKED:
        resumed = await retry(
            deps.repo,
            deps.policy(),
            request_id=revocation.id,
            actor=done.decided_by,
            button="transfer_done",
        )
        if isinstance(resumed, Resumed):
            deps.worker.kick(revocation.id)
    return done
