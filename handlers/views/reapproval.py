"""An approved request an admin changed beyond the approval: what changed, for owners and people."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from handlers.flows.approval_scope import FieldChange, ScopeChange
from handlers.policy import Application
from handlers.views.facts import id_context, who_line
from handlers.views.message import SlackMessage, message
from handlers.views.text import (
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    mention,
    mentions,
    plain,
    safe,
)
from storage.models import AccessRequest


def _name(value: str | None) -> str:
    return safe(value, 200) if value else "_none_"


def _line(change: FieldChange) -> str:
    return f"• {safe(change.label, 50)}: {_name(change.before)} → *{_name(change.after)}*"


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(safe(n, 200) for n in names)


def change_lines(change: ScopeChange) -> list[str]:
    """One line per difference from what the owner approved."""
    lines = [_line(c) for c in (*change.widened, *change.narrowed)]
    if change.added:
        lines.append(f"• Permission sets added: *{_names(change.added)}*")
    if change.removed:
        lines.append(f"• Permission sets removed: {_names(change.removed)}")
    return lines


def build_change_block(change: ScopeChange, *, by: str, approved_by: str | None) -> SectionBlock:
    """The block on the new approval message: who changed what after whose approval."""
    after = f" after {mention(approved_by)} approved it" if approved_by else " after approval"
    head = (
        f":warning: *Changed by {mention(by)}{after}.* The earlier approval no longer counts: "
        "nothing is set up in Salesforce until an owner approves this version."
    )
    return SectionBlock(text=clip("\n".join([head, *change_lines(change)]), SECTION_TEXT_MAX))


def build_approval_withdrawn(req: AccessRequest, app: Application, *, by: str) -> SlackMessage:
    """The earlier approval message, once an admin's change took the request back to owners."""
    status = (
        f":arrows_counterclockwise: *Changed by {mention(by)} after approval.* This approval "
        "no longer counts; the owners are asked again in a new message."
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Salesforce access request: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=who_line(req, app)),
        SectionBlock(text=clip(status, SECTION_TEXT_MAX)),
        id_context(req),
    ]
    return message(f"{safe(app.title, 200)} access request changed after approval.", blocks)


def build_sent_back(
    req: AccessRequest, app: Application, change: ScopeChange, *, by: str
) -> SlackMessage:
    """Tell the requester (and subject) the change goes to the owners before anything is set up."""
    text = "\n".join(
        [
            f":arrows_counterclockwise: {mention(by)} changed the request for "
            f"*{safe(app.title, 200)}* access so it can be set up. It now gives other access "
            "than was approved, so "
            f"{mentions(app.owners)} approve it again first:",
            *change_lines(change),
        ]
    )
    return message(
        f"Your {safe(app.title, 200)} request was changed and goes back to the owners.",
        [SectionBlock(text=clip(text, SECTION_TEXT_MAX)), id_context(req)],
    )
