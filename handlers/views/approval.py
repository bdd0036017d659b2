"""The approval message to an application's owners, its outcome, and refused clicks."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    SectionBlock,
)

from handlers.flows.labels import ShownAccess
from handlers.flows.outcomes import RefusalReason
from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.facts import (
    Outcome,
    fact_blocks,
    id_context,
    outcome_of,
    outcome_text,
    who_line,
)
from handlers.views.message import SlackMessage, message
from handlers.views.text import (
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    mention,
    mentions,
    plain,
    safe,
    slack_date,
)
from storage.models import AccessRequest

_OUTCOME_VERB = {
    Outcome.APPROVED: "approved",
    Outcome.DENIED: "denied",
    Outcome.EXPIRED: "expired",
    Outcome.CANCELLED: "cancelled",
}


def _header(app: Application) -> HeaderBlock:
    return HeaderBlock(text=plain(f"Salesforce access request: {app.title}", HEADER_TEXT_MAX))


def _asker(req: AccessRequest, requester_name: str, subject_name: str) -> str:
    who = safe(requester_name, 100) if requester_name else mention(req.requester_id)
    if req.subject_id and req.subject_id != req.requester_id:
        whom = safe(subject_name, 100) if subject_name else mention(req.subject_id)
        return f"{who} (for {whom})"
    return who


def _decision_buttons(req: AccessRequest, app: Application) -> ActionsBlock:
    deny_confirm = ConfirmObject(
        title="Deny this request?",
        text=clip(
            f"{mention(req.subject_id)} will be told it was denied. "
            f"You can give a reason next. ({safe(app.title, 80)})",
            300,
        ),
        confirm="Deny",
        deny="Back",
        style="danger",
    )
    return ActionsBlock(
        block_id=BlockId.APPROVAL_ACTIONS,
        elements=[
            ButtonElement(
                text="Approve", action_id=ActionId.APPROVE, value=req.id, style="primary"
            ),
            ButtonElement(
                text="Deny",
                action_id=ActionId.DENY,
                value=req.id,
                style="danger",
                confirm=deny_confirm,
            ),
        ],
    )


def build_approval_request(
    req: AccessRequest,
    app: Application,
    *,
    requester_name: str = "",
    subject_name: str = "",
    shown: ShownAccess | None = None,
    changed: Block | None = None,
    progress: str | None = None,
) -> SlackMessage:
    """Ask the owners to decide: the request's facts, Approve and Deny (with a confirm).

    ``changed``: what an admin changed after an earlier approval, shown above the buttons;
    ``progress``: the approvals so far, when the request needs several.
    """
    progress_block = (
        [SectionBlock(block_id=BlockId.APPROVAL_PROGRESS, text=clip(progress, SECTION_TEXT_MAX))]
        if progress
        else []
    )
    blocks: list[Block] = [
        _header(app),
        SectionBlock(text=who_line(req, app)),
        *fact_blocks(req, shown=shown),
        *([changed] if changed else []),
        *progress_block,
        _decision_buttons(req, app),
        id_context(req),
    ]
    asker = _asker(req, requester_name, subject_name)
    text = f"{asker} asks for {safe(app.title, 200)} access in Salesforce. Approve or deny?"
    if progress:
        text = f"{text} ({progress.splitlines()[-1]})"
    return message(clip(text, 3000), blocks)


def build_auto_approved_fyi(
    req: AccessRequest, app: Application, *, shown: ShownAccess | None = None, rule: str
) -> SlackMessage:
    """For the owners: a low-risk request the policy approved itself; nothing to decide."""
    note = (
        f":information_source: Approved automatically under the policy rule `{rule}` "
        "(low-risk access). Nothing to do; revoke it from the Home tab if it should not be."
    )
    blocks: list[Block] = [
        _header(app),
        SectionBlock(text=who_line(req, app)),
        *fact_blocks(req, shown=shown),
        SectionBlock(block_id=BlockId.OUTCOME, text=clip(note, SECTION_TEXT_MAX)),
        id_context(req),
    ]
    asker = _asker(req, "", req.subject_name)
    return message(
        f"FYI: {safe(app.title, 200)} access for {asker} was approved automatically.", blocks
    )


def build_approval_outcome(
    req: AccessRequest,
    app: Application,
    *,
    outcome: Outcome | None = None,
    requester_name: str = "",
    subject_name: str = "",
    shown: ShownAccess | None = None,
) -> SlackMessage:
    """The approval message once decided: same facts, buttons gone, outcome shown."""
    ended = outcome or outcome_of(req)
    status = (
        outcome_text(req, ended) if ended else ":hourglass_flowing_sand: Waiting for a decision."
    )
    blocks: list[Block] = [
        _header(app),
        SectionBlock(text=who_line(req, app)),
        *fact_blocks(req, shown=shown),
        SectionBlock(block_id=BlockId.OUTCOME, text=clip(status, SECTION_TEXT_MAX)),
        id_context(req),
    ]
    asker = _asker(req, requester_name, subject_name)
    verb = _OUTCOME_VERB[ended] if ended else "waiting for a decision"
    return message(f"{safe(app.title, 200)} access for {asker}: {verb}.", blocks)


def build_cannot_decide(
    reason: RefusalReason,
    *,
    request: AccessRequest | None = None,
    app: Application | None = None,
    decided_by: str | None = None,
    helpers: tuple[str, ...] = (),
) -> SlackMessage:
    """An ephemeral answer to a click that changed nothing, saying why."""
    title = safe(app.title, 200) if app else "this application"
    if reason is RefusalReason.NOT_OWNER:
        owners = f" ({mentions(app.owners)})" if app else ""
        text = f"Only the owners of *{title}*{owners} can decide this request."
    elif reason is RefusalReason.OWN_REQUEST:
        text = (
            "You can't decide a request for your own access, or one you asked for on someone's "
            "behalf: another owner has to."
        )
    elif reason is RefusalReason.ALREADY_DECIDED:
        text = _already_decided(request, decided_by)
    elif reason is RefusalReason.NOT_ADMIN:
        admins = f" ({mentions(app.admins)})" if app else ""
        text = f"Only the admins of *{title}*{admins} can do this."
    elif reason is RefusalReason.NOT_APPROVER:
        who = f" ({mentions(helpers)})" if helpers else ""
        text = f"This request waits for another stage's approvers{who}; you can't decide it now."
    elif reason is RefusalReason.STAGE_DONE:
        text = "Your stage was approved a moment ago by someone else: the request moved on."
    elif reason is RefusalReason.OWN_CHANGE:
        text = "You changed this request after it was approved: another owner has to approve it."
    elif reason is RefusalReason.OWN_ESCALATION:
        text = _not_on_own_request(title, app, helpers)
    elif reason is RefusalReason.NOT_FOUND:
        text = "I can't find this request any more."
    elif reason is RefusalReason.NOTHING_TO_DO:
        text = "Nothing to do: this request has already moved on."
    elif reason is RefusalReason.GRANT_ENDED:
        who = f" {mention(request.requester_id)} is told." if request else ""
        text = (
            "This extension can't be approved: the access it would extend was revoked or has "
            f"ended, so the extension is cancelled and nothing changes in Salesforce.{who}"
        )
    else:
        text = "You are not allowed to do this."
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


def build_already_approved(progress: str) -> SlackMessage:
    """An ephemeral answer to an approver clicking Approve a second time."""
    text = f"You already approved this request; your approval counts once. {progress}"
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


def _not_on_own_request(title: str, app: Application | None, helpers: tuple[str, ...]) -> str:
    head = (
        "You can't act as admin on a request for your own access, or one you asked for: "
        "another admin has to."
    )
    if helpers and app is not None and set(helpers) <= set(app.admins):
        return f"{head} Ask {mentions(helpers)} (admin of *{title}*)."
    if helpers:
        return (
            f"{head} *{title}* has no other admin: ask an admin of another application here "
            f"({mentions(helpers)}) to help, or add a second admin to *{title}* in the access "
            "policy."
        )
    return f"{head} *{title}* has no other admin: add a second one in the access policy."


def _already_decided(request: AccessRequest | None, decided_by: str | None) -> str:
    ended = outcome_of(request) if request else None
    verb = _OUTCOME_VERB[ended] if ended else "decided"
    by = decided_by or (request.decided_by if request else None)
    who = f" by {mention(by)}" if by and ended is not Outcome.EXPIRED else ""
    when = f" on {slack_date(request.decided_at)}" if request and request.decided_at else ""
    note = (request.decision_note or "").strip() if request else ""
    why = f" {safe(note, 500)}" if note and ended is Outcome.CANCELLED else ""
    return f"This request was already {verb}{who}{when}.{why}"
