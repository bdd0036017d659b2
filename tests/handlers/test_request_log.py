"""Which request changes are events worth an INFO line, and what the line says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.request_log import describe
from storage.models import AccessRequest, Kind, RequestChange, State

NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def change(
    action: str,
    before: State | None,
    after: State,
    *,
    kind: Kind = Kind.GRANT,
    reason: str | None = None,
) -> RequestChange:
    request = AccessRequest(
        id="R-1",
        kind=kind,
        application="sales",
        state=after,
        requester_id="U0JANE",
        subject_id="U0JANE",
        needs_admin_reason=reason,
        created_at=NOW,
        updated_at=NOW,
    )
    return RequestChange(request=request, actor="bot", action=action, from_state=before)


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (change("submitted", None, State.PENDING_APPROVAL), "request submitted"),
        (
            change("submitted", None, State.NEEDS_ADMIN, reason="incomplete: missing Role"),
            "request submitted; escalated to the admins: incomplete: missing Role",
        ),
        (change("approved", State.PENDING_APPROVAL, State.APPROVED), "request approved"),
        (change("denied", State.PENDING_APPROVAL, State.DENIED), "request denied"),
        (change("provisioned", State.PROVISIONING, State.ACTIVE), "access provisioned"),
        (
            change("provisioning_failed", State.PROVISIONING, State.NEEDS_ADMIN, reason="no_seat"),
            "escalated to the admins: no_seat",
        ),
        (change("revoked", State.ACTIVE, State.REVOKED), "access revoked"),
        (
            change("escalated_undecided", State.PENDING_APPROVAL, State.PENDING_APPROVAL),
            "escalated to the admins: nobody decided",
        ),
        (
            change("stage_approved", State.PENDING_APPROVAL, State.PENDING_APPROVAL),
            "approval stage done; the next stage is asked",
        ),
        (
            change("revocation_requested", None, State.REQUESTED, kind=Kind.REVOKE),
            "revocation requested",
        ),
        (
            change("deactivation_blocked", State.DEPROVISIONING, State.BLOCKED, kind=Kind.REVOKE),
            "deactivation blocked; escalated to the admins",
        ),
    ],
)
def test_events_get_one_line(event: RequestChange, line: str) -> None:
    assert describe(event) == line


@pytest.mark.parametrize(
    "routine",
    [
        change("reminded", State.PENDING_APPROVAL, State.PENDING_APPROVAL),
        change("provisioning_started", State.APPROVED, State.PROVISIONING),
        change("provisioning_resumed", State.PROVISIONING, State.PROVISIONING),
        change("deactivated", State.DEPROVISIONING, State.DONE, kind=Kind.REVOKE),
        change("expiry_warning_sent", State.ACTIVE, State.ACTIVE),
        change("provisioned", State.ACTIVE, State.ACTIVE),  # converged again, no news
    ],
)
def test_routine_steps_are_not_events(routine: RequestChange) -> None:
    assert describe(routine) is None
