"""The daily sweep: members Slack shows as deactivated who still hold grants lose them.

Slack's ``user_change`` event is the usual way a departure arrives, but an event can be
missed (the bot was down longer than Slack retries, the subscription was off). The sweep
records each such departure exactly as the event would, naming itself in the audit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import timedelta

from handlers.flows.offboard import Departure, record_departure
from handlers.flows.revoke import CANCELLABLE, OPEN_REVOCATION, REVOCABLE, RevokeSource
from storage.due import DueWork
from storage.models import AccessRequest, Kind
from storage.requests import RequestRepository

# What a departed member may still hold: access, or a request that could become access.
HELD = (*REVOCABLE, *CANCELLABLE)


async def sweep_departures(
    repo: RequestRepository,
    due: DueWork,
    deactivated: Collection[str],
    *,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
) -> list[Departure]:
    """Record the departure of every deactivated member who still holds a grant.

    Members whose revocations are already under way (the event's, running now, or blocked
    and with the admins) start nothing new and are left out, so a sweep repeats no summary.
    """
    gone = set(deactivated)
    held: dict[str, list[AccessRequest]] = defaultdict(list)
    for grant in await due.grants_in(HELD):
        if grant.subject_id in gone:
            held[grant.subject_id].append(grant)
    departures: list[Departure] = []
    for subject in sorted(held):
        if not await _anything_to_end(repo, held[subject]):
            continue
        departure = await record_departure(
            repo, subject_id=subject, worker=worker, lease=lease, source=RevokeSource.SWEEP
        )
        if departure.opened_anything:
            departures.append(departure)
    return departures


async def _anything_to_end(repo: RequestRepository, grants: list[AccessRequest]) -> bool:
    """Whether a grant is pending (to cancel) or held without a revocation under way."""
    for grant in grants:
        if grant.state in CANCELLABLE:
            return True
        if not await repo.find(grant_id=grant.id, kind=Kind.REVOKE, states=OPEN_REVOCATION):
            return True
    return False
