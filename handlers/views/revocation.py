"""Answers about removing access: refusals, "removing now", re-checks, the offboarding summary."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from handlers.flows.hand_over import POLICY
from handlers.flows.offboard import OffboardedGrant, Offboarding
from handlers.flows.outcomes import (
    HandingOver,
    NeedsAdmin,
    RefusalReason,
    RevocationBlocked,
    RevokedAccess,
    WillRetry,
)
from handlers.flows.transfer import choices
from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.holdings import holdings_line
from handlers.views.message import SlackMessage, message
from handlers.views.text import (
    CONTEXT_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    mentions,
    safe,
    salesforce_lines,
    slack_date,
)
from storage.models import AccessRequest, Kind, State

# Summary lines past this many are counted, not listed, so the DM stays within 50 blocks.
SUMMARY_LINES_MAX = 40


def _say(text: str) -> SlackMessage:
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


def _whose(subject_id: str, actor_id: str) -> str:
    return "your" if subject_id == actor_id else f"{mention(subject_id)}'s"


def build_cannot_revoke(
    reason: RefusalReason,
    *,
    subject_id: str,
    actor_id: str,
    app: Application | None = None,
) -> SlackMessage:
    """Why a revoke command or button changed nothing."""
    yourself = subject_id == actor_id
    if reason is RefusalReason.NOT_FOUND:
        who = "You hold" if yourself else f"{mention(subject_id)} holds"
        text = f"{who} no Salesforce access managed here, so there is nothing to remove."
    elif reason is RefusalReason.NOT_ALLOWED:
        title = f"*{safe(app.title, 200)}*" if app else "this application"
        owners = f" ({mentions(app.owners)})" if app else ""
        admins = f" ({mentions(app.admins)})" if app else ""
        text = (
            f"Only {mention(subject_id)} themself, the owners{owners} or the admins{admins} "
            f"of {title} can remove this access."
        )
    elif reason is RefusalReason.NOTHING_TO_DO:
        text = "Nothing to do: this access is already removed, or no longer waiting."
    else:
        text = "You are not allowed to do this."
    return _say(text)


def build_revocation_started(
    req: AccessRequest, app: Application, *, actor_id: str
) -> SlackMessage:
    """What the person who asked sees at once: removing now, already blocked, or cancelled."""
    whose = _whose(req.subject_id, actor_id)
    title = safe(app.title, 200)
    if req.kind is Kind.GRANT:
        text = (
            f":heavy_multiplication_x: Cancelled the request for {whose} *{title}* access "
            "before it was set up."
        )
    elif req.state is State.BLOCKED:
        text = (
            f":construction: Removing {whose} *{title}* access is waiting for an admin: "
            f"Salesforce blocks it. {mentions(app.admins)} know what to change."
        )
    else:
        text = (
            f":hourglass_flowing_sand: Removing {whose} *{title}* access now. "
            "You'll get a message when it's done."
        )
    return _say(text)


def build_retrying(req: AccessRequest) -> SlackMessage:
    """An admin's retry is under way; the escalation message shows how it ends."""
    what = "deactivation" if req.kind is Kind.REVOKE else "set-up"
    return _say(
        f":repeat: Trying the {what} of request {code(req.id, 100)} again. "
        "The message above changes to show how it went."
    )


def build_still_active(revocation: AccessRequest, *, username: str) -> SlackMessage:
    """Resolved in Salesforce was pressed, but the user is still active there."""
    return _say(
        f"Salesforce still shows {code(username, 120)} as active, so request "
        f"{code(revocation.id, 100)} stays open. Clear the blocker and press "
        "*Retry deactivation*, or deactivate the user in Setup and press "
        "*Resolved in Salesforce* again."
    )


def build_salesforce_unavailable(human: str) -> SlackMessage:
    """Salesforce could not be asked; nothing changed."""
    return _say(
        f"I could not check with Salesforce: {safe(human, 500)} Nothing changed; "
        "try again in a minute."
    )


def _line(item: OffboardedGrant, title: str) -> str:
    rev = item.revocation
    user = f" (Salesforce user {code(rev.sf_username, 120)})" if rev.sf_username else ""
    head = f"*{safe(title, 200)}*{user}"
    outcome = item.outcome
    held = (
        f" {holdings_line(outcome.holdings)}"
        if isinstance(outcome, RevokedAccess | RevocationBlocked | HandingOver) and outcome.holdings
        else ""
    )
    if isinstance(outcome, RevokedAccess):
        transfer = outcome.transfer
        if transfer is not None and transfer.decided_by == POLICY and outcome.deactivated:
            to = mention(transfer.to_slack_id) if transfer.to_slack_id else "their Manager"
            return (
                f":lock: {head}: deactivated once their work went to {to}, as the policy says "
                f"(`offboarding.transfer_to`).{held}"
            )
        if outcome.already_inactive:
            return f":lock: {head}: access closed; the user was already inactive.{held}"
        return f":lock: {head}: deactivated.{held}"
    if isinstance(outcome, RevocationBlocked):
        frozen = "frozen" if outcome.blocked.frozen else "*not* frozen"
        return (
            f":warning: {head}: Salesforce blocked the deactivation; the user is {frozen}. "
            f"What to change is in a separate message.{held}"
        )
    if isinstance(outcome, HandingOver):
        transfer = outcome.transfer
        to = mention(transfer.to_slack_id) if transfer.to_slack_id else "their Manager"
        return (
            f":hourglass_flowing_sand: {head}: frozen while their work goes to {to}, as the "
            "policy says (`offboarding.transfer_to`); deactivated when it is done. "
            f"Progress in the thread.{held}"
        )
    if isinstance(outcome, WillRetry):
        return (
            f":repeat: {head}: Salesforce did not answer; trying again on {slack_date(outcome.at)}."
        )
    if isinstance(outcome, NeedsAdmin):
        return f":construction: {head}: {safe(salesforce_lines(outcome.human), 300)}"
    return f":hourglass_flowing_sand: {head}: already being removed ({safe(outcome.why, 100)})."


def _transfer_buttons(
    report: Offboarding, title_of: Callable[[AccessRequest], str]
) -> list[ButtonElement]:
    """ "Transfer to…" for each deactivated user who holds something a transfer can move."""
    buttons: list[ButtonElement] = []
    users: set[str] = set()
    for item in report.revoked:
        outcome, rev = item.outcome, item.revocation
        if not isinstance(outcome, RevokedAccess) or not outcome.deactivated:
            continue
        if outcome.holdings is None or not choices(outcome.holdings):
            continue
        if outcome.transfer is not None or (rev.sf_user_id or "") in users:
            continue
        users.add(rev.sf_user_id or "")
        label = "Transfer to…" if len(report.revoked) == 1 else f"Transfer to… ({title_of(rev)})"
        buttons.append(ButtonElement(text=label[:75], action_id=ActionId.TRANSFER_TO, value=rev.id))
    return buttons[:5]


def build_offboarding_summary(
    report: Offboarding, *, title_of: Callable[[AccessRequest], str], subject_name: str = ""
) -> SlackMessage:
    """What leaving Slack did to the person's Salesforce access, for the admins."""
    who = mention(report.subject_id)
    named = f" ({safe(subject_name, 100)})" if subject_name else ""
    lines = [_line(item, title_of(item.revocation)) for item in report.revoked]
    lines += [
        f":heavy_multiplication_x: *{safe(title_of(req), 200)}*: pending request "
        f"{code(req.id, 100)} cancelled."
        for req in report.cancelled
    ]
    intro = f":wave: {who}{named} was deactivated in Slack, so their Salesforce access ends."
    blocks: list[Block] = [SectionBlock(text=clip(intro, SECTION_TEXT_MAX))]
    blocks += [
        SectionBlock(text=clip(line, SECTION_TEXT_MAX)) for line in lines[:SUMMARY_LINES_MAX]
    ]
    if len(lines) > SUMMARY_LINES_MAX:
        more = f"and {len(lines) - SUMMARY_LINES_MAX} more; see the audit log."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    transfers = _transfer_buttons(report, title_of)
    if transfers:
        blocks.append(ActionsBlock(block_id=BlockId.SUMMARY_ACTIONS, elements=transfers))
    note = "Done without approval: a deactivated member keeps no access."
    if report.swept:
        note += " Found by the daily check of deactivated members: Slack's event never came."
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(note, CONTEXT_TEXT_MAX))]))
    text = f"{who} left Slack: {len(report.revoked)} access removal(s), "
    text += f"{len(report.cancelled)} pending request(s) cancelled."
    return message(text, blocks)
