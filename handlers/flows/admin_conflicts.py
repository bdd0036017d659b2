"""Nobody acts as admin on their own request, and who can help them instead.

An admin who asked for access (for themself or for someone else), or whose access it is, could
otherwise change what it grants or push it through after a failure: another admin has to.
Revocations are exempt: taking access away is never a conflict of interest.
"""

from __future__ import annotations

from handlers.policy import Application, Policy
from storage.models import AccessRequest, Kind


def own_request(request: AccessRequest, actor: str) -> bool:
    """Whether ``actor`` asked for this grant or would hold its access."""
    return request.kind is Kind.GRANT and actor in (request.requester_id, request.subject_id)


def who_can_help(policy: Policy, app: Application, request: AccessRequest) -> tuple[str, ...]:
    """The application's other admins; when it has none, the other applications' admins."""
    involved = {request.requester_id, request.subject_id}
    others = tuple(a for a in app.admins if a not in involved)
    if others:
        return others
    elsewhere = (
        admin
        for other in policy.applications
        if other.name != app.name
        for admin in other.admins
        if admin not in involved
    )
    return tuple(dict.fromkeys(elsewhere))
