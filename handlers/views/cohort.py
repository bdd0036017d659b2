"""One owner's list of the requests that reached them within a short window (a cohort)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

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
from slack_sdk.models.views import View

from handlers.flows.labels import ShownAccess
from handlers.flows.outcomes import RefusalReason, Refused
from handlers.ids import ActionId
from handlers.policy import Application
from handlers.views.facts import Outcome, fact_blocks, id_context, outcome_of, who_line
from handlers.views.message import MESSAGE_BLOCKS_MAX, SlackMessage, message
from handlers.views.text import (
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    plain,
    safe,
)
from storage.models import AccessRequest, State

# Slack takes at most 50 blocks in a message: a header, the tally, Approve all and the "more"
# line leave room for 23 requests of two blocks each.
FIXED_BLOCKS = 4
BLOCKS_PER_LINE = 2
LINES_MAX = (MESSAGE_BLOCKS_MAX - FIXED_BLOCKS) // BLOCKS_PER_LINE

_DONE_WORDS = {
    Outcome.APPROVED: "approved",
    Outcome.DENIED: "denied",
    Outcome.EXPIRED: "expired",
    Outcome.CANCELLED: "cancelled",
}


def _done_word(req: AccessRequest) -> str:
    outcome = outcome_of(req)
    return _DONE_WORDS[outcome] if outcome is not None else "moved on"


def _line(req: AccessRequest, app: Application) -> list[Block]:
    what = (
        " · ".join(safe(part, 60) for part in (req.license, req.profile, req.role) if part)
        or "details missing"
    )
    text = f"{who_line(req, app)}\n{what} · {code(req.id, 40)}"
    buttons = ActionsBlock(
        block_id=f"cohort_line:{req.id}",
        elements=[
            ButtonElement(
                text="Approve", action_id=ActionId.APPROVE, value=req.id, style="primary"
            ),
            ButtonElement(
                text="Deny",
                action_id=ActionId.DENY,
                value=req.id,
                style="danger",
                confirm=ConfirmObject(
                    title="Deny this request?",
                    text=clip(f"{mention(req.subject_id)} will be told it was denied.", 300),
                    confirm="Deny",
                    deny="Back",
                    style="danger",
                ),
            ),
            ButtonElement(text="Details", action_id=ActionId.COHORT_DETAILS, value=req.id),
        ],
    )
    return [SectionBlock(text=clip(text, SECTION_TEXT_MAX)), buttons]


def build_cohort(
    cohort_id: str, app: Application, requests: Sequence[AccessRequest]
) -> SlackMessage:
    """The list: a line with Approve / Deny / Details per waiting request, Approve all, and a
    tally of those already decided; past Slack's block limit, the rest wait their turn."""
    waiting = [r for r in requests if r.state is State.PENDING_APPROVAL]
    done = Counter(_done_word(r) for r in requests if r.state is not State.PENDING_APPROVAL)
    tally = ", ".join(f"{n} {word}" for word, n in sorted(done.items()))
    title = safe(app.title, 200)
    summary = f"*{len(waiting)}* waiting for your decision" + (f" · {tally}" if tally else "")
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Salesforce access requests: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=clip(summary, SECTION_TEXT_MAX)),
    ]
    if waiting:
        blocks.append(
            ActionsBlock(
                block_id="cohort_all",
                elements=[
                    ButtonElement(
                        text=f"Approve all {len(waiting)}"[:75],
                        action_id=ActionId.APPROVE_ALL,
                        value=cohort_id,
                        style="primary",
                        confirm=ConfirmObject(
                            title="Approve them all?",
                            text=clip(
                                f"Every request still waiting in this list ({len(waiting)}) "
                                f"gets {title} access.",
                                300,
                            ),
                            confirm="Approve all",
                            deny="Back",
                        ),
                    )
                ],
            )
        )
    for req in waiting[:LINES_MAX]:
        blocks += _line(req, app)
    if len(waiting) > LINES_MAX:
        more = len(waiting) - LINES_MAX
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {more} more waiting: they show here as these are decided, "
                        "and *Approve all* includes them."
                    )
                ]
            )
        )
    text = f"{len(requests)} requests for {title} access" + (
        f", {len(waiting)} waiting for your decision." if waiting else ", all decided."
    )
    return message(text, blocks)


def build_cohort_details(req: AccessRequest, app: Application, shown: ShownAccess) -> View:
    """Everything the single approval message would show, in a modal."""
    blocks: list[Block] = [
        SectionBlock(text=who_line(req, app)),
        *fact_blocks(req, shown=shown),
        id_context(req),
    ]
    return View(type="modal", title=plain("Access request", 24), close="Close", blocks=blocks)


def build_not_all_approved(refused: Sequence[Refused]) -> SlackMessage:
    """An ephemeral answer to Approve all: which requests it left alone, and why."""
    why = {
        RefusalReason.OWN_REQUEST: "your own (another owner decides)",
        RefusalReason.ALREADY_DECIDED: "decided by someone else first",
        RefusalReason.OWN_CHANGE: "changed by you after an approval (another owner approves)",
        RefusalReason.GRANT_ENDED: "extensions of access that has ended (cancelled)",
    }
    lines = [
        f"• {code(r.request.id, 40) if r.request else '?'}: "
        f"{why.get(r.reason, r.reason.value.replace('_', ' '))}"
        for r in refused[:20]
    ]
    more = f"\n…and {len(refused) - 20} more." if len(refused) > 20 else ""
    text = f"Approved the rest; {len(refused)} left as they were:\n" + "\n".join(lines) + more
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])
