"""The DM to an application's admins when a person has to step in, and its closed state."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from handlers.flows.labels import ShownAccess
from handlers.flows.transfer import TRANSFER_CLEARS, choices
from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.facts import fact_blocks, id_context
from handlers.views.holdings import holdings_line, setup_lines
from handlers.views.message import SlackMessage, message
from handlers.views.problems import TITLES, Escalation, EscalationKind, Resolution
from handlers.views.text import (
    CONTEXT_TEXT_MAX,
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    code_block,
    mention,
    plain,
    safe,
    salesforce_lines,
    slack_date,
)
from handlers.views.transfer import transfer_text
from storage.models import AccessRequest
from storage.transfers import TransferState

_INSTANCE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?$")
_SF_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")

_RETRY_KINDS = frozenset(
    {
        EscalationKind.NO_FREE_SEAT,
        EscalationKind.PROFILE_LICENSE_MISMATCH,
        EscalationKind.INSUFFICIENT_ACCESS,
        EscalationKind.VALIDATION_RULE,
        EscalationKind.SESSION_EXPIRED,
        EscalationKind.REPEATED_FAILURE,
        EscalationKind.OTHER,
    }
)
# Problems an admin may solve by changing what was requested (another license or profile).
_EDIT_KINDS = frozenset({EscalationKind.NO_FREE_SEAT, EscalationKind.PROFILE_LICENSE_MISMATCH})


def setup_user_url(instance_url: str | None, user_id: str | None) -> str | None:
    """The user's page in Salesforce Setup, or None when either part does not look right."""
    if not instance_url or not user_id:
        return None
    base = instance_url.rstrip("/")
    if not _INSTANCE_URL.match(base) or not _SF_ID.match(user_id):
        return None
    return f"{base}/lightning/setup/ManageUsers/page?address=%2F{user_id}%3Fnoredirect%3D1"


def _button(
    text: str,
    action_id: ActionId,
    req: AccessRequest,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(text=text, action_id=action_id, value=req.id, style=style, confirm=confirm)


_ADOPT_CONFIRM = ConfirmObject(
    title="Adopt this Salesforce user?",
    text=(
        "The bot applies this request to the user as it is now, and when the access ends "
        "puts it back as it was (active or not, frozen or not, profile, role, sets)."
    ),
    confirm="Adopt and apply",
    deny="Cancel",
)


def _buttons(req: AccessRequest, issue: Escalation) -> list[ButtonElement]:
    kind = issue.kind
    if kind is EscalationKind.INCOMPLETE:
        return [_button("Complete request", ActionId.COMPLETE_REQUEST, req, "primary")]
    if kind is EscalationKind.USERNAME_TAKEN:
        return [
            _button("Use another username", ActionId.USE_OTHER_USERNAME, req, "primary"),
            _button("Retry", ActionId.RETRY, req),
        ]
    if kind is EscalationKind.EXISTING_USER:
        return [
            _button("Adopt and apply", ActionId.ADOPT_USER, req, "primary", _ADOPT_CONFIRM),
            _button("Use another username", ActionId.USE_OTHER_USERNAME, req),
        ]
    if kind is EscalationKind.BLOCKED_DEACTIVATION:
        return _blocked_buttons(req, issue)
    buttons = [_button("Retry", ActionId.RETRY, req, "primary")] if kind in _RETRY_KINDS else []
    if kind in _EDIT_KINDS:
        buttons.append(_button("Change request", ActionId.COMPLETE_REQUEST, req))
    return buttons


def _blocked_buttons(req: AccessRequest, issue: Escalation) -> list[ButtonElement]:
    transfer = issue.transfer
    if transfer is not None and transfer.state is TransferState.RUNNING:
        return []  # the outcome replaces the progress, buttons included
    buttons = [
        _button("Retry deactivation", ActionId.RETRY_DEACTIVATION, req, "primary"),
        _button("Resolved in Salesforce", ActionId.RESOLVED_IN_SALESFORCE, req),
    ]
    if transfer is not None and transfer.state is TransferState.FAILED:
        retry = ButtonElement(
            text="Retry failed rows",
            action_id=ActionId.RETRY_TRANSFER,
            value=transfer.id,
            style="primary",
        )
        return [retry, *buttons]
    if transfer is None and offers_transfer(issue):
        return [_button("Transfer to…", ActionId.TRANSFER_TO, req, "primary"), *buttons[1:]]
    return buttons


def offers_transfer(issue: Escalation) -> bool:
    """A blocker that moving work clears (approvals, reports, unknown), and work to move; one
    only Setup can clear is explained and offers no transfer."""
    if issue.blocker not in TRANSFER_CLEARS or issue.holdings is None:
        return False
    return bool(choices(issue.holdings))


def _problem_text(issue: Escalation) -> str:
    lines = [f"*{TITLES[issue.kind]}*"]
    if issue.missing:
        lines.append("Missing: " + ", ".join(safe(m, 100) for m in issue.missing[:10]))
    if issue.summary:
        lines.append(safe(salesforce_lines(issue.summary), 1000))
    if issue.fix:
        lines.append(f"*What to change:* {safe(issue.fix, 1000)}")
    if issue.suggested_username:
        lines.append(f"*Suggested username:* {code(issue.suggested_username, 120)}")
    return clip("\n".join(lines), SECTION_TEXT_MAX)


def _blocked_text(req: AccessRequest, issue: Escalation) -> str:
    name = issue.sf_username or req.sf_username or issue.sf_user_id or "their Salesforce user"
    url = setup_user_url(issue.instance_url, issue.sf_user_id)
    user = f"<{url}|{safe(name, 200)}>" if url else code(name, 200)
    lines = [
        f"*{TITLES[issue.kind]}*",
        f"Salesforce kept {mention(req.subject_id)}'s user {user} active. "
        "It is frozen, so nobody can log in with it, until the blocker is cleared.",
    ]
    if issue.summary:
        lines.append(f"*Why:* {safe(salesforce_lines(issue.summary), 1000)}")
    if issue.fix:
        lines.append(f"*What to change:* {safe(issue.fix, 1000)}")
    if issue.setup:
        lines.append("*Only Setup can change it:*\n" + setup_lines(issue.setup))
    if issue.holdings is not None and issue.transfer is None:
        lines.append(f"*What they hold:* {holdings_line(issue.holdings)}")
    if issue.transfer is not None:
        lines.append(transfer_text(issue.transfer))
    return clip("\n".join(lines), SECTION_TEXT_MAX)


def _resolution_text(resolution: Resolution) -> str:
    icon = ":white_check_mark:" if resolution.success else ":heavy_multiplication_x:"
    by = f" by {mention(resolution.by)}" if resolution.by else ""
    when = f" on {slack_date(resolution.at)}" if resolution.at else ""
    return clip(f"{icon} *Closed*{by}{when}: {safe(resolution.text, 2000)}", SECTION_TEXT_MAX)


def build_escalation(
    req: AccessRequest,
    app: Application,
    issue: Escalation,
    *,
    resolution: Resolution | None = None,
    shown: ShownAccess | None = None,
) -> SlackMessage:
    """Tell the admins what is stuck, why, and what to change; ``resolution`` closes it.

    ``shown`` names the access as admins read it: labels with the API names they act on.
    """
    blocked = issue.kind is EscalationKind.BLOCKED_DEACTIVATION
    what = "Deactivation blocked" if blocked else "Needs an admin"
    state = "Resolved" if resolution else what
    blocks: list[Block] = [HeaderBlock(text=plain(f"{state}: {app.title}", HEADER_TEXT_MAX))]
    asked = f" (asked by {mention(req.requester_id)})" if req.requester_id != req.subject_id else ""
    if blocked:
        blocks.append(SectionBlock(text=_blocked_text(req, issue)))
    else:
        blocks.append(
            SectionBlock(
                text=f"{mention(req.subject_id)}'s *{safe(app.title, 200)}* access{asked}."
            )
        )
        blocks.extend(fact_blocks(req, with_reason=False, shown=shown))
        blocks.append(SectionBlock(text=_problem_text(issue)))
    if issue.raw_message.strip():
        raw = "Salesforce said:\n" + code_block(
            salesforce_lines(issue.raw_message), CONTEXT_TEXT_MAX - 20
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=raw)]))
    if issue.attempts > 1:
        tries = f"Tried {issue.attempts} times."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tries)]))
    if resolution:
        blocks.append(SectionBlock(block_id=BlockId.OUTCOME, text=_resolution_text(resolution)))
    else:
        buttons = _buttons(req, issue)
        if buttons:
            blocks.append(ActionsBlock(block_id=BlockId.ESCALATION_ACTIONS, elements=buttons))
    blocks.append(id_context(req))
    subject = mention(req.subject_id)
    if resolution:
        text = f"Resolved: {safe(app.title, 200)} access for {subject}."
    else:
        text = f"{what}: {safe(app.title, 200)} access for {subject}. {TITLES[issue.kind]}."
    return message(text, blocks)
