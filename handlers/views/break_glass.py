"""Break-glass messages: the offer to the requester, its modal, the review, the escalation."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from handlers.approval_rules import BreakGlass
from handlers.durations import duration_label
from handlers.flows.labels import ShownAccess
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.facts import fact_blocks, id_context, who_line
from handlers.views.message import SlackMessage, message
from handlers.views.metadata import ModalRef
from handlers.views.state import text_value
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

REASON_MAX = 2000


def build_break_glass_offer(req: AccessRequest, app: Application, rule: BreakGlass) -> SlackMessage:
    """To a member of the break-glass group: approve your own high-risk request, if urgent."""
    text = (
        f":rotating_light: Your request for *{safe(app.title, 200)}* is high risk. If this is an "
        f"emergency you may approve it yourself (break-glass) for up to "
        f"{duration_label(rule.max_duration)}. The owners, the admins and security are told at "
        "once, and an owner reviews it afterwards."
    )
    button = ButtonElement(
        text="Break glass",
        action_id=ActionId.BREAK_GLASS,
        value=req.id,
        style="danger",
    )
    blocks: list[Block] = [
        SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
        ActionsBlock(block_id=BlockId.BREAK_GLASS_ACTIONS, elements=[button]),
        id_context(req),
    ]
    return message(text, blocks)


def build_break_glass_offer_closed(req: AccessRequest, app: Application) -> SlackMessage:
    """The offer once the request no longer waits: no button left."""
    text = (
        f"Your request for *{safe(app.title, 200)}* is {req.state.value.replace('_', ' ')}: "
        "break-glass is no longer offered for it."
    )
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX)), id_context(req)])


def build_break_glass_modal(req: AccessRequest, app: Application, rule: BreakGlass) -> View:
    """The written reason; ``private_metadata`` holds the request id."""
    intro = (
        f"Approve your own *{safe(app.title, 200)}* access now, for "
        f"{duration_label(req.duration).lower()} (at most {duration_label(rule.max_duration)}). "
        "Everyone responsible reads your reason."
    )
    return View(
        type="modal",
        callback_id=CallbackId.BREAK_GLASS,
        title="Break glass",
        submit="Approve now",
        close="Back",
        private_metadata=ModalRef(request_id=req.id, application=app.name).dump(),
        blocks=[
            SectionBlock(text=clip(intro, SECTION_TEXT_MAX)),
            InputBlock(
                block_id=BlockId.BREAK_GLASS_REASON,
                label="What is the emergency?",
                element=PlainTextInputElement(
                    action_id=ActionId.BREAK_GLASS_REASON,
                    multiline=True,
                    max_length=REASON_MAX,
                    placeholder="The incident, and why it cannot wait for the owners",
                ),
            ),
        ],
    )


def parse_break_glass_reason(state_values: object) -> str:
    """The typed reason, trimmed."""
    return text_value(
        state_values, BlockId.BREAK_GLASS_REASON, ActionId.BREAK_GLASS_REASON
    ).strip()[:REASON_MAX]


def _review_buttons(req: AccessRequest) -> ActionsBlock:
    revoke_confirm = ConfirmObject(
        title="Revoke this access now?",
        text=f"{mention(req.subject_id)} loses it in Salesforce at once.",
        confirm="Revoke now",
        deny="Back",
        style="danger",
    )
    return ActionsBlock(
        block_id=BlockId.BREAK_GLASS_REVIEW_ACTIONS,
        elements=[
            ButtonElement(
                text="Confirm",
                action_id=ActionId.BREAK_GLASS_CONFIRM,
                value=req.id,
                style="primary",
            ),
            ButtonElement(
                text="Revoke now",
                action_id=ActionId.BREAK_GLASS_REVOKE,
                value=req.id,
                style="danger",
                confirm=revoke_confirm,
            ),
        ],
    )


def build_break_glass_notice(
    req: AccessRequest,
    app: Application,
    *,
    shown: ShownAccess | None = None,
    review: bool,
    overdue: bool = False,
    outcome: str | None = None,
) -> SlackMessage:
    """Break-glass access was taken: the facts, the reason, and (``review``) Confirm or Revoke.

    ``overdue``: nobody reviewed it in time (to the admins); ``outcome``: the review's result.
    """
    who = mention(req.subject_id)
    due = f" by {slack_date(req.review_due_at)}" if req.review_due_at else ""
    if outcome:
        status = outcome
    elif overdue:
        status = (
            f":warning: Nobody reviewed this break-glass access in time. As an admin, confirm it "
            f"or revoke it now. Owners: {mentions(app.owners)}."
        )
    elif review:
        status = f"An owner reviews it{due}: *Confirm* it was needed, or *Revoke now*."
    else:
        status = "For your information: the owners review it."
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Break-glass access: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(
            text=clip(
                f":rotating_light: {who} approved their own request under break-glass. "
                + who_line(req, app),
                SECTION_TEXT_MAX,
            )
        ),
        *fact_blocks(req, shown=shown, with_reason=True),
        SectionBlock(
            text=clip(f"*Emergency*\n{safe(req.decision_note or '', 2000)}", SECTION_TEXT_MAX)
        ),
        SectionBlock(block_id=BlockId.OUTCOME, text=clip(status, SECTION_TEXT_MAX)),
        *([_review_buttons(req)] if (review or overdue) and not outcome else []),
        id_context(req),
    ]
    lead = "Nobody reviewed" if overdue else "Break-glass"
    text = f"{lead}: {req.subject_name or req.subject_id} approved their own {app.title} access."
    return message(clip(text, 3000), blocks)


def build_review_refused(text: str) -> SlackMessage:
    """An ephemeral answer to a break-glass click that changed nothing."""
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])
