"""One short entry per request for lists (Home tab, status, pending), with its buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    PlainTextObject,
    SectionBlock,
)

from handlers.durations import duration_label
from handlers.flows.labels import Labels, ShownAccess
from handlers.ids import ActionId
from handlers.policy import Policy
from handlers.views.facts import permission_sets_text
from handlers.views.problems import TITLES, EscalationKind
from handlers.views.text import (
    CONFIRM_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    plain,
    quote,
    safe,
    slack_date,
)
from storage.models import AccessRequest, Kind, State

_NAME_MAX = 120
_REASON_MAX = 300

STATE_LABELS: dict[State, str] = {
    State.SUBMITTED: ":inbox_tray: Submitted",
    State.PENDING_APPROVAL: ":hourglass_flowing_sand: Waiting for approval",
    State.APPROVED: ":white_check_mark: Approved, setting up",
    State.PROVISIONING: ":gear: Setting up",
    State.ACTIVE: ":large_green_circle: Active",
    State.NEEDS_ADMIN: ":construction: With an admin",
    State.DENIED: ":no_entry: Denied",
    State.CANCELLED: ":heavy_multiplication_x: Cancelled",
    State.EXPIRED: ":hourglass: Expired: nobody decided in time",
    State.REVOKED: ":lock: Ended",
    State.REQUESTED: ":inbox_tray: Removal requested",
    State.DEPROVISIONING: ":gear: Removing",
    State.BLOCKED: ":construction: Removal blocked (user frozen)",
    State.DONE: ":lock: Removed",
}


def newest_first(requests: Sequence[AccessRequest]) -> list[AccessRequest]:
    """``requests`` by submission date, most recent first."""
    return sorted(requests, key=lambda r: _aware(r.created_at), reverse=True)


def is_active_grant(req: AccessRequest) -> bool:
    """A grant whose access is live, so it can be extended or revoked."""
    return req.kind is Kind.GRANT and req.state is State.ACTIVE


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def waited(since: datetime, now: datetime) -> str:
    """``waiting 3 days`` (or hours, or minutes) from ``since`` to ``now``."""
    seconds = max(int((_aware(now) - _aware(since)).total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"waiting {n} {unit}{'' if n == 1 else 's'}"
    return "just in"


def app_title(policy: Policy, name: str) -> str:
    """What people call the application (its name when the policy no longer lists it)."""
    app = policy.application(name)
    return app.title if app else name


def _whose(req: AccessRequest) -> str:
    if req.subject_id and req.subject_id != req.requester_id:
        return f" for {mention(req.subject_id)} (asked by {mention(req.requester_id)})"
    return ""


def what_text(req: AccessRequest, shown: ShownAccess | None = None) -> str:
    """``Profile · License · Role · 2 permission sets · 30 days`` (labels when ``shown``)."""
    what = shown or ShownAccess.names_of(req)
    parts = [safe(v, _NAME_MAX) for v in (what.profile, what.license, what.role) if v]
    if what.permission_sets:
        parts.append("+ " + permission_sets_text(what.permission_sets, 400))
    if req.kind is Kind.GRANT:
        parts.append(duration_label(req.duration))
    return " · ".join(parts)


def _ends_text(req: AccessRequest, *, now: datetime, warn_before: timedelta) -> str:
    if req.expires_at is None:
        return "no end date"
    ends = _aware(req.expires_at)
    if ends <= now:
        return f"ended on {slack_date(ends)}"
    soon = ":alarm_clock: " if ends - now <= warn_before else ""
    return f"{soon}ends on {slack_date(ends)}"


def request_text(
    req: AccessRequest,
    *,
    title: str,
    now: datetime,
    warn_before: timedelta,
    shown: ShownAccess | None = None,
) -> str:
    """Application, state, what was asked for, and the dates that matter, as mrkdwn."""
    head = f"*{safe(title, 200)}*{_whose(req)} · {STATE_LABELS.get(req.state, req.state.value)}"
    lines = [head]
    what = what_text(req, shown)
    if req.kind is Kind.REVOKE:
        what = "Removal of the access" + (f" ({what})" if what else "")
    if what:
        lines.append(what)
    facts: list[str] = []
    if req.sf_username:
        facts.append(f"user {code(req.sf_username, 120)}")
    if is_active_grant(req):
        facts.append(_ends_text(req, now=_aware(now), warn_before=warn_before))
    facts.append(f"submitted {slack_date(req.created_at)}")
    lines.append(" · ".join(facts))
    return clip("\n".join(lines), SECTION_TEXT_MAX)


def grant_actions(req: AccessRequest, *, title: str) -> ActionsBlock:
    """Extend (when the access has an end) and Revoke, which asks to confirm first."""
    confirm = ConfirmObject(
        title="Remove the access now?",
        text=PlainTextObject(
            text=plain(
                f"The Salesforce user for {title} is deactivated right away. "
                "Nobody can log in with it afterwards.",
                CONFIRM_TEXT_MAX,
            )
        ),
        confirm="Revoke now",
        deny="Keep it",
        style="danger",
    )
    buttons: list[ButtonElement] = []
    if req.expires_at is not None:
        buttons.append(ButtonElement(text="Extend", action_id=ActionId.EXTEND, value=req.id))
    buttons.append(
        ButtonElement(
            text="Revoke",
            action_id=ActionId.REVOKE_NOW,
            value=req.id,
            style="danger",
            confirm=confirm,
        )
    )
    return ActionsBlock(elements=buttons)


def decision_actions(req: AccessRequest, *, title: str) -> ActionsBlock:
    """Approve, and Deny behind a confirm, handled by the approval message's listeners."""
    confirm = ConfirmObject(
        title="Deny this request?",
        text=PlainTextObject(
            text=plain(
                f"The person who asked for {title} access is told it was denied. "
                "You can give a reason next.",
                CONFIRM_TEXT_MAX,
            )
        ),
        confirm="Deny",
        deny="Back",
        style="danger",
    )
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Approve", action_id=ActionId.APPROVE, value=req.id, style="primary"
            ),
            ButtonElement(
                text="Deny", action_id=ActionId.DENY, value=req.id, style="danger", confirm=confirm
            ),
        ]
    )


def own_row(
    req: AccessRequest, policy: Policy, *, now: datetime, labels: Labels | None = None
) -> list[Block]:
    """A request or grant of the reader's: a line, plus Extend/Revoke while the access is live."""
    title = app_title(policy, req.application)
    warn = policy.timings.expiry_warning_before
    shown = labels.shown(req) if labels else None
    blocks: list[Block] = [
        SectionBlock(text=request_text(req, title=title, now=now, warn_before=warn, shown=shown))
    ]
    if is_active_grant(req):
        blocks.append(grant_actions(req, title=title))
    return blocks


def waiting_row(
    req: AccessRequest, policy: Policy, *, now: datetime, labels: Labels | None = None
) -> list[Block]:
    """A request waiting for the reader's decision: who, what, why, then Approve and Deny."""
    title = app_title(policy, req.application)
    whom = (
        f" for {mention(req.subject_id)}"
        if req.subject_id and req.subject_id != req.requester_id
        else ""
    )
    lines = [f"{mention(req.requester_id)} asks for *{safe(title, 200)}* access{whom}."]
    what = what_text(req, labels.shown(req) if labels else None)
    if what:
        lines.append(what)
    if req.reason.strip():
        lines.append(quote(" ".join(req.reason.split()), _REASON_MAX))
    lines.append(f"submitted {slack_date(req.created_at)} · {waited(req.created_at, now)}")
    return [
        SectionBlock(text=clip("\n".join(lines), SECTION_TEXT_MAX)),
        decision_actions(req, title=title),
    ]


def escalation_row(req: AccessRequest, policy: Policy) -> list[Block]:
    """A request an admin has to step in on: whose, what is wrong, since when."""
    title = app_title(policy, req.application)
    if req.state is State.BLOCKED:
        kind = EscalationKind.BLOCKED_DEACTIVATION
    else:
        kind = EscalationKind.parse(req.needs_admin_reason)
    asked = f" (asked by {mention(req.requester_id)})" if req.requester_id != req.subject_id else ""
    since = slack_date(req.updated_at)
    text = (
        f":construction: {mention(req.subject_id)}'s *{safe(title, 200)}* access{asked}\n"
        f"*{TITLES[kind]}* · since {since} · request {code(req.id, 100)}"
    )
    return [SectionBlock(text=clip(text, SECTION_TEXT_MAX))]
