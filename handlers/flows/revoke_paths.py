"""Which grant a revoke command or button names, and opening its revocation for that actor."""

from __future__ import annotations

from handlers.flows.outcomes import RefusalReason, Refused
from handlers.flows.revoke import CANCELLABLE, REVOCABLE, may_revoke, request_revocation
from handlers.policy import Policy
from storage.models import AccessRequest, Kind
from storage.requests import RequestRepository

# Being provisioned counts: the create may land at any moment, and its revocation must win.
ENDABLE = (*REVOCABLE, *CANCELLABLE)


async def find_revocable(
    repo: RequestRepository, policy: Policy, *, subject_id: str, actor: str
) -> AccessRequest | Refused:
    """The grant of ``subject_id`` that ``actor`` may end: newest active, else a pending one."""
    grants = await repo.find(states=ENDABLE, kind=Kind.GRANT, subject_id=subject_id)
    if not grants:
        return Refused(reason=RefusalReason.NOT_FOUND)
    allowed = [grant for grant in grants if may_revoke(policy, grant, actor) is not None]
    if not allowed:
        return Refused(reason=RefusalReason.NOT_ALLOWED, request=grants[0])
    holding = [grant for grant in allowed if grant.state in REVOCABLE]
    return (holding or allowed)[0]


async def revoke_grant(
    repo: RequestRepository, policy: Policy, *, grant_id: str, actor: str, reason: str
) -> AccessRequest | Refused:
    """Open the revocation of ``grant_id`` (or cancel it before provisioning) if ``actor`` may.

    Returns the revocation (new, or the one already open) or the cancelled grant.
    """
    grant = await repo.get(grant_id) if grant_id else None
    if grant is None or grant.kind is not Kind.GRANT:
        return Refused(reason=RefusalReason.NOT_FOUND)
    source = may_revoke(policy, grant, actor)
    if source is None:
        # Anyone who sees a button can click it; refused attempts are worth a trace.
        await repo.audit.append(
            request_id=grant.id,
            actor=actor,
            action="revocation_refused",
            detail={"why": RefusalReason.NOT_ALLOWED.value},
        )
        return Refused(reason=RefusalReason.NOT_ALLOWED, request=grant)
    return await request_revocation(repo, grant, actor=actor, source=source, reason=reason)
