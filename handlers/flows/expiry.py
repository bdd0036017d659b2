"""Time-bound access: warn before the end, and revoke at the end through the revocation flow."""

from __future__ import annotations

from datetime import timedelta

from handlers.flows.batch import revoke_together
from handlers.flows.converge import Converger, Outcome
from handlers.flows.lifecycle import Superseded
from handlers.flows.outcomes import Refused
from handlers.flows.revoke import RevokeSource, request_revocation
from handlers.policy import Policy
from storage.due import DueWork
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository

EXPIRY_REASON = "The access period ended."
# An extension is a grant whose ``grant_id`` names the grant it extends.
EXTENSION_UNDER_WAY = (State.PENDING_APPROVAL, State.APPROVED, State.PROVISIONING, State.ACTIVE)


async def extension_of(
    repo: RequestRepository, grant: AccessRequest, states: tuple[State, ...]
) -> AccessRequest | None:
    """The newest extension of ``grant`` in one of ``states``."""
    found = await repo.find(grant_id=grant.id, kind=Kind.GRANT, states=states, limit=1)
    return found[0] if found else None


async def warn_expiring(
    repo: RequestRepository,
    due: DueWork,
    policy: Policy,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 50,
) -> list[AccessRequest]:
    """Grants whose "ends soon" notice is due now (each marked once; extended ones skipped)."""
    claimed = await due.claim_expiring(
        within=policy.timings.expiry_warning_before, worker=worker, lease=lease, limit=limit
    )
    to_tell: list[AccessRequest] = []
    for grant in claimed:
        extension = await extension_of(repo, grant, EXTENSION_UNDER_WAY)
        detail = {"expires_at": grant.expires_at.isoformat() if grant.expires_at else None}
        if extension is not None:
            detail["extension"] = extension.id
        marked = await due.mark_expiry_warned(grant.id, worker=worker, detail=detail)
        if marked is not None and extension is None:
            to_tell.append(marked)
    return to_tell


async def expire_grants(
    repo: RequestRepository,
    due: DueWork,
    converger: Converger,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 200,
) -> list[Superseded | Outcome]:
    """Revoke every grant whose end has passed, deactivating the users in one bulk call."""
    claimed = await due.claim_expired(worker=worker, lease=lease, limit=limit)
    outcomes: list[Superseded | Outcome] = []
    revocations: list[AccessRequest] = []
    for grant in claimed:
        superseded = await _supersede(repo, grant)
        if superseded is not None:
            outcomes.append(superseded)
            continue
        opened = await request_revocation(
            repo, grant, actor="bot", source=RevokeSource.EXPIRY, reason=EXPIRY_REASON
        )
        if not isinstance(opened, Refused):
            revocations.append(opened)
    outcomes += await revoke_together(converger, revocations)
    for grant in claimed:
        await repo.release(grant.id, worker)
    return outcomes


async def _supersede(repo: RequestRepository, grant: AccessRequest) -> Superseded | None:
    """Close a grant whose approved extension already holds the same Salesforce user."""
    extension = await extension_of(repo, grant, (State.ACTIVE,))
    if extension is None or extension.sf_user_id != grant.sf_user_id:
        return None
    closed = await repo.transition(
        grant.id,
        expected=State.ACTIVE,
        to=State.REVOKED,
        actor="bot",
        action="superseded",
        changes={"claimed_by": None, "claimed_until": None},
        detail={"extension": extension.id, "sf_user_kept": extension.sf_user_id},
    )
    return None if closed is None else Superseded(grant=closed, extension=extension)
