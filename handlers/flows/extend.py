"""Extending time-bound access: a new request to the owners for the same access, once more.

The extension is a grant of its own whose ``grant_id`` names the grant it extends. Once it is
approved and provisioned, the old grant closes at its end without touching the user. An
extension of a grant that ended first (revoked, expired) is cancelled: it never revives it.
"""

from __future__ import annotations

from handlers.flows.expiry import EXTENSION_UNDER_WAY, extension_of
from handlers.flows.outcomes import RefusalReason, Refused, Submitted
from handlers.flows.revoke import EXTENSION_CANCELLED, OPEN_REVOCATION
from handlers.policy import Policy
from storage.models import AccessRequest, Kind, NewRequest, State
from storage.requests import RequestRepository

ENDED_NOTE = "The access it would extend has ended."


async def request_extension(
    repo: RequestRepository, policy: Policy, *, grant_id: str, actor: str
) -> Submitted | Refused:
    """Ask the owners to extend ``grant_id``; a second click returns the request already open."""
    grant = await repo.get(grant_id)
    if grant is None or grant.kind is not Kind.GRANT:
        return Refused(reason=RefusalReason.NOT_FOUND)
    app = policy.application(grant.application)
    if app is None or actor not in (grant.subject_id, grant.requester_id):
        return Refused(reason=RefusalReason.NOT_ALLOWED, request=grant)
    if grant.state is not State.ACTIVE or grant.expires_at is None or await _revoking(repo, grant):
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=grant)
    under_way = await extension_of(repo, grant, EXTENSION_UNDER_WAY)
    if under_way is not None:
        return Submitted(request=under_way, created=False)
    earlier = await repo.find(grant_id=grant.id, kind=Kind.GRANT)
    extension, created = await repo.create(
        NewRequest.following(
            grant,
            state=State.PENDING_APPROVAL,
            requester_id=actor,
            duration=grant.duration,
            reason=f"Extension of {grant.id}. {grant.reason}".strip(),
        ),
        actor=actor,
        action="extension_requested",
        # Two clicks at once compute the same key, so only one extension is stored.
        idempotency_key=f"extend:{grant.id}:{len(earlier)}",
        detail={"extends": grant.id, "ends": grant.expires_at.isoformat()},
    )
    if created and grant.username_override:
        # The extension must land on the same Salesforce user as the grant it extends.
        extension = (
            await repo.transition(
                extension.id,
                expected=State.PENDING_APPROVAL,
                to=State.PENDING_APPROVAL,
                actor="bot",
                action="username_carried_over",
                changes={"username_override": grant.username_override},
            )
            or extension
        )
    if created and await extends_ended_grant(repo, extension):
        # The grant's revocation committed between the check above and this extension: it
        # could not cancel what did not exist yet, so the extension ends here.
        await cancel_stale_extension(repo, extension, actor=actor)
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=await repo.get(grant.id))
    return Submitted(request=extension, created=created)


async def _revoking(repo: RequestRepository, grant: AccessRequest) -> bool:
    """Whether a revocation of ``grant`` is open (the grant is still active until it is done)."""
    return bool(
        await repo.find(grant_id=grant.id, kind=Kind.REVOKE, states=OPEN_REVOCATION, limit=1)
    )


async def extends_ended_grant(repo: RequestRepository, request: AccessRequest) -> bool:
    """Whether ``request`` is an extension of a grant no longer active (or being revoked)."""
    if request.kind is not Kind.GRANT or request.grant_id is None:
        return False
    grant = await repo.get(request.grant_id)
    if grant is None or grant.state is not State.ACTIVE:
        return True
    return await _revoking(repo, grant)


async def cancel_stale_extension(
    repo: RequestRepository, extension: AccessRequest, *, actor: str
) -> AccessRequest | None:
    """Cancel an undecided extension whose grant ended; its requester is told by the observer.

    Nothing in Salesforce depends on an undecided extension, so the user is not touched.
    """
    return await repo.transition(
        extension.id,
        expected=State.PENDING_APPROVAL,
        to=State.CANCELLED,
        actor=actor,
        action=EXTENSION_CANCELLED,
        changes={"decision_note": ENDED_NOTE},
        detail={"grant": extension.grant_id, "found_when": "deciding"},
        touch=False,
    )
