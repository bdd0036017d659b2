"""An offboarding summary rebuilt from the database, to update it in place.

The summary goes to the admins once per departure (where it landed is recorded for each of its
requests); what happens afterwards (a transfer finished, a run a restart interrupted and the
scheduler finished) changes that same message. Each line then says what the database holds:
the stored request, its audit trail and its transfer.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.flows.offboard import OffboardedGrant, Offboarding, RevocationOutcome
from handlers.flows.outcomes import (
    HandingOver,
    NeedsAdmin,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from salesforce.holdings import holdings_from_counts
from salesforce.models import Blocker, DeactivationBlocked
from storage.models import AccessRequest, AuditEntry, Kind, State
from storage.requests import RequestRepository
from storage.transfers import Transfers, TransferState

_CLOSED = {
    "deactivated": (True, False),  # action: (deactivated, restored)
    "user_restored": (False, True),
    "access_reduced": (False, False),
    "revoked_without_deactivation": (False, False),
}


def _last(entries: Sequence[AuditEntry], *actions: str) -> AuditEntry | None:
    return next((e for e in reversed(entries) if e.action in actions), None)


async def recall(
    repo: RequestRepository, transfers: Transfers | None, revocation: AccessRequest
) -> RevocationOutcome:
    """What an offboarding revocation came to so far, as the summary shows it."""
    entries = await repo.audit.for_request(revocation.id)
    transfer = await transfers.for_revocation(revocation.id) if transfers else None
    user_id = revocation.sf_user_id or ""
    if revocation.state is State.DONE and (closed := _last(entries, *_CLOSED)) is not None:
        counts = closed.detail.get("holdings")
        deactivated, restored = _CLOSED[closed.action]
        return RevokedAccess(
            revocation=revocation,
            grant=None,
            already_inactive=bool(closed.detail.get("already_inactive")),
            deactivated=deactivated,
            restored=restored,
            holdings=holdings_from_counts(user_id, counts) if isinstance(counts, dict) else None,
            transfer=transfer,
        )
    blocked = _last(entries, "deactivation_blocked")
    if revocation.state is State.BLOCKED and blocked is not None:
        counts = blocked.detail.get("holdings")
        reason = str(blocked.detail.get("blocker") or "")
        return RevocationBlocked(
            revocation=revocation,
            grant=None,
            blocked=DeactivationBlocked(
                user_id=user_id,
                blocker=Blocker(reason) if reason in set(Blocker) else Blocker.UNKNOWN,
                explanation="",
                fix="",
                raw_message=str(blocked.detail.get("salesforce") or ""),
                frozen=bool(blocked.detail.get("frozen")),
            ),
            holdings=holdings_from_counts(user_id, counts) if isinstance(counts, dict) else None,
        )
    if transfer is not None and transfer.state is TransferState.RUNNING:
        return HandingOver(revocation=revocation, transfer=transfer, started=False)
    if revocation.state is State.NEEDS_ADMIN:
        human = revocation.last_error or "An admin has to step in."
        return NeedsAdmin(
            request=revocation,
            problem=revocation.needs_admin_reason or "other",
            human=human,
            fix="",
        )
    if revocation.attempts and revocation.next_attempt_at is not None:
        return WillRetry(
            request=revocation,
            attempt=revocation.attempts,
            at=revocation.next_attempt_at,
            human=revocation.last_error or "",
        )
    return Skipped(request_id=revocation.id, why=revocation.state.value)


async def rebuilt(
    repo: RequestRepository,
    transfers: Transfers | None,
    report: Offboarding,
    request_ids: Sequence[str],
) -> Offboarding:
    """The departure's summary with every request it listed: this report's outcomes where
    they say more than "skipped", what the database holds for the others."""
    fresh = {item.revocation.id: item for item in report.revoked}
    revoked: list[OffboardedGrant] = []
    cancelled: list[AccessRequest] = []
    known = dict.fromkeys((*request_ids, *fresh, *(r.id for r in report.cancelled)))
    for request_id in known:
        item = fresh.get(request_id)
        if item is not None and not isinstance(item.outcome, Skipped):
            revoked.append(item)
            continue
        request = await repo.get(request_id)
        if request is None:
            continue
        if request.kind is Kind.GRANT:
            cancelled.append(request)
            continue
        outcome = await recall(repo, transfers, request)
        revoked.append(OffboardedGrant(revocation=request, outcome=outcome))
    return Offboarding(
        subject_id=report.subject_id,
        revoked=tuple(revoked),
        cancelled=tuple(cancelled),
        swept=report.swept,
    )
