"""What every message about a request shows: who, what, how long, why, and how it ended."""

from __future__ import annotations

from enum import StrEnum

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from handlers.durations import duration_label
from handlers.flows.labels import ShownAccess
from handlers.policy import Application
from handlers.views.text import (
    CONTEXT_TEXT_MAX,
    FIELD_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    quote,
    safe,
    slack_date,
)
from storage.models import AccessRequest, State

_NAME_MAX = 300


class Outcome(StrEnum):
    """How a grant request's decision ended."""

    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


_APPROVED_STATES = frozenset(
    {State.APPROVED, State.PROVISIONING, State.ACTIVE, State.NEEDS_ADMIN, State.REVOKED}
)


def outcome_of(req: AccessRequest) -> Outcome | None:
    """The decision ``req`` shows, or None while it still waits for one."""
    if req.state is State.DENIED:
        return Outcome.DENIED
    if req.state is State.EXPIRED:
        return Outcome.EXPIRED
    if req.state is State.CANCELLED:
        return Outcome.CANCELLED
    if req.state in _APPROVED_STATES and req.decided_by:
        return Outcome.APPROVED
    return None


def who_line(req: AccessRequest, app: Application) -> str:
    """``<@A> asks for access to *App*`` (and for whom, when on behalf of someone)."""
    title = safe(app.title, _NAME_MAX)
    if req.subject_id and req.subject_id != req.requester_id:
        return (
            f"{mention(req.requester_id)} asks for *{title}* access "
            f"on behalf of {mention(req.subject_id)}."
        )
    return f"{mention(req.requester_id)} asks for *{title}* access."


def _field(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(f"*{label}*\n{value}", FIELD_TEXT_MAX))


def _name(value: str | None) -> str:
    return safe(value, _NAME_MAX) if value else "_none_"


def permission_sets_text(names: tuple[str, ...], limit: int = FIELD_TEXT_MAX - 40) -> str:
    """``A, B and 3 more`` within ``limit`` characters."""
    if not names:
        return "_none_"
    shown: list[str] = []
    for i, name in enumerate(names):
        rest = len(names) - i - 1
        candidate = ", ".join([*shown, safe(name, _NAME_MAX)])
        tail = f" and {rest} more" if rest else ""
        if len(candidate) + len(tail) > limit and shown:
            return ", ".join(shown) + f" and {len(names) - i} more"
        shown.append(safe(name, _NAME_MAX))
    return ", ".join(shown)


def fact_blocks(
    req: AccessRequest, *, with_reason: bool = True, shown: ShownAccess | None = None
) -> list[Block]:
    """License, profile, role, duration and permission sets; then the requester's reason.

    ``shown`` is the access in the reader's words (labels); without it the stored names show.
    """
    what = shown or ShownAccess.names_of(req)
    fields = [
        _field("User License", _name(what.license)),
        _field("Profile", _name(what.profile)),
        _field("Role", _name(what.role)),
        _field("Duration", duration_label(req.duration)),
        _field("Permission sets", permission_sets_text(what.permission_sets)),
    ]
    if req.sf_username:
        fields.append(_field("Salesforce username", code(req.sf_username)))
    blocks: list[Block] = [SectionBlock(fields=fields)]
    if with_reason and req.reason.strip():
        blocks.append(
            SectionBlock(
                text=clip("*Reason*\n" + quote(req.reason, SECTION_TEXT_MAX - 9), SECTION_TEXT_MAX)
            )
        )
    return blocks


def id_context(req: AccessRequest) -> ContextBlock:
    """``Request <id> · submitted <date>``."""
    text = f"Request {code(req.id, 100)} · submitted {slack_date(req.created_at)}"
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, CONTEXT_TEXT_MAX))])


def outcome_text(req: AccessRequest, outcome: Outcome) -> str:
    """One mrkdwn paragraph: what happened, who, when and why."""
    when = f" on {slack_date(req.decided_at)}" if req.decided_at else ""
    by = f" by {mention(req.decided_by)}" if req.decided_by else ""
    if outcome is Outcome.APPROVED:
        head = f":white_check_mark: *Approved*{by}{when}."
    elif outcome is Outcome.DENIED:
        head = f":no_entry: *Denied*{by}{when}."
    elif outcome is Outcome.EXPIRED:
        head = ":hourglass: *Expired*: nobody decided in time."
    else:
        head = f":heavy_multiplication_x: *Cancelled*{by}{when}."
    note = (req.decision_note or "").strip()
    if not note or outcome is Outcome.EXPIRED:
        return head
    return clip(f"{head}\n{quote(note, SECTION_TEXT_MAX - len(head) - 1)}", SECTION_TEXT_MAX)
