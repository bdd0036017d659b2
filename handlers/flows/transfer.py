"""Handing a leaving user's work to a successor, then deactivating them through the converger.

A transfer moves, object by object, what still points at the user in Salesforce (owned
records, approval work items, direct reports, delegators): Salesforce is asked again each time
what is left, so a record that moved is never sent twice, and a Bulk API job in flight is
looked at again by its recorded Id after a restart. When nothing was refused, the blocked
revocation goes back to the converger, which deactivates the user (frozen until then).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.flows.ports import SalesforceGateway
from salesforce.errors import SalesforceError
from salesforce.holdings import DEFAULT_OBJECTS, Holdings
from salesforce.models import Blocker
from salesforce.transfer import APPROVALS, BULK_THRESHOLD, DELEGATORS, REPORTS
from storage.transfers import RefusedRow, Transfer, Transfers

log = logging.getLogger(__name__)

# Blockers that handing work over can clear; the others only change in Setup.
TRANSFER_CLEARS = frozenset({Blocker.APPROVER, Blocker.HIERARCHY_FIELD, Blocker.UNKNOWN})
LEASE = timedelta(minutes=2)  # the default lease; renewed at each look at a job
POLL_SECONDS = 0.5  # between looks at a Bulk API job; it never waits past the lease
Progress = Callable[[Transfer], Awaitable[None]]


class TransferChoice(BaseModel):
    """Something the admin may tick in the transfer modal, with its count."""

    model_config = ConfigDict(frozen=True)

    what: str  # an object's API name, or APPROVALS, REPORTS, DELEGATORS
    count: int


# How the audit's holdings counts name what is not an object.
_COUNTED = {"ProcessInstanceWorkitem": APPROVALS, "ManagerOf": REPORTS}
_COUNTED["DelegatedApproverOf"] = DELEGATORS
_ORDER = {name: (0, str(n)) for n, name in enumerate(DEFAULT_OBJECTS)}
_ORDER |= {APPROVALS: (2, "1"), REPORTS: (2, "2"), DELEGATORS: (2, "3")}
_NOT_MOVED = frozenset({"Queue", "Group"})  # memberships end with the user; nothing to move


def choices_from_counts(counts: dict[str, int]) -> list[TransferChoice]:
    """What a transfer can move, from the counts recorded when the deactivation was blocked."""
    found = []
    for name, count in counts.items():
        if name in _NOT_MOVED or count <= 0:
            continue
        what = _COUNTED.get(name, name)
        found.append(TransferChoice(what=what, count=count))
    return sorted(found, key=lambda c: _ORDER.get(c.what, (1, c.what)))


def choices(holdings: Holdings) -> list[TransferChoice]:
    """What the user holds that a transfer can move: owned records, then approvals, reports
    and delegators (queue and group memberships end with the user)."""
    found = [TransferChoice(what=c.api_name, count=c.count) for c in holdings.owned if c.count]
    others = (
        (APPROVALS, holdings.approvals),
        (REPORTS, holdings.reports),
        (DELEGATORS, holdings.delegators),
    )
    return found + [TransferChoice(what=what, count=n) for what, n in others if n]


async def _move_one(
    gateway: SalesforceGateway,
    transfers: Transfers,
    transfer: Transfer,
    what: str,
    *,
    progress: Progress,
    keep_going: Callable[[], bool],
    renew: Callable[[], Awaitable[object]],
) -> Transfer | None:
    step = transfer.step(what)
    job_id = step.job_id
    if job_id is None:
        ids = await gateway.held_ids(what, transfer.from_user_id)
        if len(ids) < BULK_THRESHOLD:
            result = await gateway.move_records(what, ids, transfer.to_user_id)
            refused = [RefusedRow(**f.model_dump()) for f in result.failures]
            return await transfers.object_done(transfer, what, moved=result.moved, refused=refused)
        job_id = await gateway.start_bulk_move(what, ids, transfer.to_user_id)
        transfer = await transfers.job_started(transfer, what, job_id)
        await progress(transfer)
    while True:
        job = await gateway.bulk_job(what, job_id)
        if job.finished:
            break
        if not keep_going():  # shutting down: the next process looks at the same job
            return None
        await renew()  # a long job keeps its lease: no other process takes it over
        await asyncio.sleep(POLL_SECONDS)
    failures = await gateway.bulk_failures(what, job_id) if job.failed else ()
    refused = [RefusedRow(**f.model_dump()) for f in failures]
    moved = max(job.processed - len(refused), 0)
    return await transfers.object_done(transfer, what, moved=moved, refused=refused)


async def run_transfer(
    gateway: SalesforceGateway,
    transfers: Transfers,
    transfer: Transfer,
    *,
    progress: Progress,
    keep_going: Callable[[], bool] = lambda: True,
    worker: str | None = None,
    lease: timedelta = LEASE,
) -> Transfer:
    """Move every object not done yet, telling ``progress`` after each; then finish (unless
    ``keep_going`` turned false: the transfer stays running, its job recorded). While a job
    runs, ``worker`` (default: the lease holder) renews the lease."""
    holder = worker or transfer.claimed_by or ""
    transfer_id = transfer.id

    async def renew() -> None:
        await transfers.claim(transfer_id, worker=holder, lease=lease)

    for what in transfer.objects:
        if transfer.step(what).done:
            continue
        try:
            moved = await _move_one(
                gateway,
                transfers,
                transfer,
                what,
                progress=progress,
                keep_going=keep_going,
                renew=renew,
            )
        except SalesforceError as error:  # the lease runs out and the next tick resumes it
            log.warning(
                "transfer %s: %s could not move: %s %s",
                transfer.id,
                what,
                error.human,
                error.raw_message,
            )
            raise
        if moved is None:
            return await transfers.get(transfer.id) or transfer
        transfer = moved
        await progress(transfer)
    return await transfers.finish(transfer)


async def successor_problem(
    gateway: SalesforceGateway, username: str | None, *, leaver_id: str
) -> tuple[str | None, str | None]:
    """The successor's active Salesforce user Id, or a sentence saying why there is none."""
    if not username:
        return None, "They have no email address in Slack, so no Salesforce user can be found."
    user = await gateway.find_user(username)
    if user is None:
        return None, f"{username} has no Salesforce user. Pick someone who has an active one."
    if not user.is_active:
        return None, f"{username}'s Salesforce user is inactive. Pick someone with an active one."
    if user.id[:15] == leaver_id[:15]:
        return None, "That is the person who is leaving. Pick someone else."
    return user.id, None


def wanted(objects: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    """The ticked objects, in the order the holdings list them, unknown ones dropped."""
    return tuple(o for o in allowed if o in set(objects))
