"""One log line per meaningful event of a request: submitted, each approval counted, decided,
provisioned, revoked, escalated. Everything else a request goes through is logged at DEBUG.

Each line carries the request id, the application and the actor as fields (``extra=``), so
the JSON log format has them as keys.
"""

from __future__ import annotations

import logging

from storage.models import AccessRequest, Kind, RequestChange, State

log = logging.getLogger(__name__)

# Moves worth a line whatever the action that made them, by the kind of request.
_GRANT_STATES = {
    State.ACTIVE: "access provisioned",
    State.NEEDS_ADMIN: "escalated to the admins",
    State.REVOKED: "access revoked",
    State.EXPIRED: "request expired: nobody decided in time",
    State.CANCELLED: "request cancelled",
}
_REVOKE_STATES = {State.BLOCKED: "deactivation blocked; escalated to the admins"}
# Actions worth a line in their own right.
_ACTIONS = {
    "submitted": "request submitted",
    "approved": "request approved",
    "denied": "request denied",
    "stage_approved": "approval stage done; the next stage is asked",
    "revocation_requested": "revocation requested",
    "escalated_undecided": "escalated to the admins: nobody decided",
}


def fields(request: AccessRequest, actor: str | None = None) -> dict[str, str]:
    """The request's log fields, for ``extra=``."""
    found = {"request_id": request.id, "application": request.application}
    if actor:
        found["actor"] = actor
    return found


def describe(change: RequestChange) -> str | None:
    """The line an event deserves at INFO, or None when it is routine."""
    request = change.request
    states = _GRANT_STATES if request.kind is Kind.GRANT else _REVOKE_STATES
    moved_to = states.get(request.state) if change.moved else None
    if moved_to is not None and request.state is State.NEEDS_ADMIN and request.needs_admin_reason:
        moved_to = f"{moved_to}: {request.needs_admin_reason}"
    said = _ACTIONS.get(change.action)
    if said is not None and moved_to is not None:
        return f"{said}; {moved_to}"  # an incomplete request goes to the admins at once
    return said or moved_to


def log_request_change(change: RequestChange) -> None:
    """Write the event's line (INFO when meaningful, DEBUG otherwise)."""
    request = change.request
    extra = fields(request, change.actor)
    said = describe(change)
    if said is None:
        log.debug(
            "%s %s: %s -> %s",
            request.id,
            change.action,
            change.from_state,
            request.state,
            extra=extra,
        )
        return
    log.info("%s %s: %s (by %s)", request.id, request.application, said, change.actor, extra=extra)


def log_approval_counted(
    request: AccessRequest, *, approver: str, stage: str, given: int, required: int
) -> None:
    """The line of one approval that counts but does not decide yet (1 of 2, say)."""
    extra = {**fields(request, approver), "stage": stage, "approvals": given, "required": required}
    log.info(
        "%s %s: approval counted at stage %s, %d of %d (by %s)",
        request.id,
        request.application,
        stage,
        given,
        required,
        approver,
        extra=extra,
    )
