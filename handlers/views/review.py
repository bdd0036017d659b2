"""Access review messages: each reviewer's one message (a page at a time), reminders, refusals
and the summary the admins get when a campaign closes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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

from handlers.flows.review_decide import ReviewRefusal
from handlers.ids import ActionId
from handlers.policy import Application
from handlers.views.message import MESSAGE_BLOCKS_MAX, SlackMessage, message
from handlers.views.text import (
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    plain,
    safe,
    slack_date,
)
from storage.review_models import Campaign, CampaignState, Decision, Outcome, ReviewItem

# Two blocks a line (the line, its buttons or decision) and five around them: 25 of 50.
PAGE_SIZE = 10
_FIXED_BLOCKS = 5
assert _FIXED_BLOCKS + 2 * PAGE_SIZE <= MESSAGE_BLOCKS_MAX

_OUTCOME_WORDS = {
    Outcome.KEPT: "kept",
    Outcome.ADOPTED: "kept: now managed by the bot, with a grant",
    Outcome.ESCALATED: "nobody answered: kept, and handed to the admins",
    Outcome.REVOKING: "revoking in Salesforce…",
    Outcome.DEACTIVATED: "revoked: the Salesforce user is deactivated",
    Outcome.REDUCED: "revoked: removed from the Salesforce user",
    Outcome.RESTORED: "revoked: the Salesforce user is back to how it was",
    Outcome.BLOCKED: "revoke blocked in Salesforce: the admins were asked",
    Outcome.ENDED: "already ended",
}


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def page_count(total: int) -> int:
    """Pages of ``total`` lines (at least one)."""
    return max(1, -(-total // PAGE_SIZE))


def outcome_words(item: ReviewItem) -> str:
    """What became of a line, in words."""
    if item.outcome is not None:
        return _OUTCOME_WORDS[item.outcome]
    if item.decision is Decision.KEEP:
        return "kept"
    if item.decision is Decision.REVOKE:
        return "revoking in Salesforce…"
    return "not decided yet"


def _line_text(item: ReviewItem) -> str:
    who = safe(item.subject_name or item.username, 100)
    if item.subject_id:
        who = f"{who} ({mention(item.subject_id)})"
    facts = [
        f"since {slack_date(item.since, with_time=False)}" if item.since else "",
        "last login "
        + (slack_date(item.last_login, with_time=False) if item.last_login else "never"),
        f"approved by {mention(item.approved_by)}"
        if item.approved_by
        else ("no grant: nobody approved it" if item.drift else ""),
    ]
    return clip(
        f"*{who}* {code(item.username, 120)}\n{safe(item.holds, 600)}\n"
        + " · ".join(f for f in facts if f),
        SECTION_TEXT_MAX,
    )


ESCALATED_VALUE = "admins"


def review_value(campaign: Campaign, page: int | None = None, *, escalated: bool) -> str:
    """A page or Keep-the-rest button's value: the campaign, the page, whose message."""
    parts = [campaign.id, *([str(page)] if page is not None else [])]
    return "|".join(parts + ([ESCALATED_VALUE] if escalated else []))


def parse_review_value(value: str) -> tuple[str, int, bool]:
    """The campaign id, page (0 if none) and whether it is an admin's escalated message."""
    parts = value.split("|")
    escalated = parts[-1] == ESCALATED_VALUE
    if escalated:
        parts = parts[:-1]
    page = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return parts[0], page, escalated


def decidable(item: ReviewItem, campaign: Campaign, *, escalated: bool) -> bool:
    """Whether the line still shows Keep / Revoke (to its reviewer, or to the admins)."""
    if item.decision is not None:
        return False
    if escalated:
        return item.outcome is Outcome.ESCALATED
    return campaign.state is CampaignState.OPEN and item.outcome is None


def _line_blocks(item: ReviewItem, *, open_: bool) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=_line_text(item))]
    if open_:
        revoke_confirm = ConfirmObject(
            title="Revoke this access?",
            text=clip(f"{item.subject_name or item.username} loses {item.holds}.", 300),
            confirm="Revoke",
            deny="Back",
            style="danger",
        )
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Keep", action_id=ActionId.REVIEW_KEEP, value=item.id, style="primary"
                    ),
                    ButtonElement(
                        text="Revoke",
                        action_id=ActionId.REVIEW_REVOKE,
                        value=item.id,
                        style="danger",
                        confirm=revoke_confirm,
                    ),
                ]
            )
        )
    else:
        by = (
            ""
            if item.decided_by is None
            else " by the policy (unanswered)"
            if item.decided_by == "bot"
            else f" by {mention(item.decided_by)}"
        )
        when = f" on {slack_date(item.decided_at)}" if item.decided_at else ""
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=clip(f"{outcome_words(item)}{by}{when}", 2000))]
            )
        )
    return blocks


def _nav(
    campaign: Campaign, page: int, pages: int, waiting: int, *, escalated: bool
) -> ActionsBlock | None:
    elements: list[ButtonElement] = []
    if page > 0:
        elements.append(
            ButtonElement(
                text="Previous page",
                action_id=ActionId.REVIEW_PAGE,
                value=review_value(campaign, page - 1, escalated=escalated),
            )
        )
    if page < pages - 1:
        elements.append(
            ButtonElement(
                text="Next page",
                action_id=ActionId.REVIEW_PAGE,
                value=review_value(campaign, page + 1, escalated=escalated),
            )
        )
    if waiting and (escalated or campaign.state is CampaignState.OPEN):
        whose = (
            "nobody has decided yet (except your own)" if escalated else "you have not decided yet"
        )
        elements.append(
            ButtonElement(
                text="Keep the rest",
                action_id=ActionId.REVIEW_KEEP_REST,
                value=review_value(campaign, escalated=escalated),
                confirm=ConfirmObject(
                    title="Keep the rest?",
                    text=f"The {_lines(waiting)} {whose} will be kept.",
                    confirm="Keep them",
                    deny="Back",
                ),
            )
        )
    return ActionsBlock(elements=elements) if elements else None


def build_review_message(
    campaign: Campaign,
    app: Application,
    items: Sequence[ReviewItem],
    page: int,
    *,
    escalated: bool = False,
) -> SlackMessage:
    """One reviewer's lines, page ``page``, with progress and Keep / Revoke on each.

    ``escalated``: an admin's message of the lines nobody answered by the deadline.
    """
    pages = page_count(len(items))
    page = min(max(page, 0), pages - 1)
    waiting = sum(1 for i in items if decidable(i, campaign, escalated=escalated))
    decided = len(items) - waiting
    if escalated:
        return _escalated_message(campaign, app, items, page, pages, waiting)
    open_ = campaign.state is CampaignState.OPEN
    if open_:
        due = f"Due {slack_date(campaign.deadline_at)}. " if campaign.deadline_at else ""
        intro = (
            f"Please confirm who still needs this access. {due}"
            "Keep what is still needed; Revoke takes it away in Salesforce."
        )
    else:
        intro = "This review is closed; the lines show what became of each."
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Access review: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=intro),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{decided} of {len(items)} decided* · page {page + 1} of {pages} · "
                    f"review {code(campaign.id, 40)}"
                )
            ]
        ),
    ]
    for item in items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        blocks += _line_blocks(item, open_=decidable(item, campaign, escalated=False))
    nav = _nav(campaign, page, pages, waiting, escalated=False)
    if nav is not None:
        blocks.append(nav)
    text = f"Access review of {app.title}: {decided} of {len(items)} decided"
    return message(text, blocks)


def _escalated_message(
    campaign: Campaign,
    app: Application,
    items: Sequence[ReviewItem],
    page: int,
    pages: int,
    waiting: int,
) -> SlackMessage:
    decided = len(items) - waiting
    intro = (
        f"Nobody answered for these lines by the deadline of review {code(campaign.id, 40)}, "
        "so they were kept. As an admin of the application, decide each: Keep what is still "
        "needed; Revoke takes it away in Salesforce. Nobody decides their own access."
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Escalated access review: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=intro),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*{decided} of {len(items)} decided* · page {page + 1} of {pages}"
                )
            ]
        ),
    ]
    for item in items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        blocks += _line_blocks(item, open_=decidable(item, campaign, escalated=True))
    nav = _nav(campaign, page, pages, waiting, escalated=True)
    if nav is not None:
        blocks.append(nav)
    text = f"Escalated lines of the {app.title} access review: {decided} of {len(items)} decided"
    return message(text, blocks)


def build_review_reminder(campaign: Campaign, app: Application, waiting: int) -> SlackMessage:
    """A reviewer still has lines to decide before the deadline."""
    due = slack_date(campaign.deadline_at) if campaign.deadline_at else "soon"
    text = (
        f"Reminder: {_lines(waiting)} of the access review of {app.title} wait for you "
        f"(review {campaign.id}); the review closes {due}. "
        f"Lines nobody decides are handled by the policy: {campaign.unanswered}."
    )
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


_REFUSALS = {
    ReviewRefusal.NOT_FOUND: "That review line does not exist any more; nothing was changed.",
    ReviewRefusal.NOT_YOURS: "Only {reviewer}, who was asked to review this line, can decide "
    "it; nothing was changed.",
    ReviewRefusal.ADMINS_ONLY: "Nobody answered for this line in time: only the application's "
    "admins can decide it now; nothing was changed.",
    ReviewRefusal.OWN_ACCESS: "Nobody reviews their own access; nothing was changed.",
    ReviewRefusal.ALREADY_DECIDED: "This line was already decided ({outcome}); nothing was "
    "changed.",
    ReviewRefusal.CLOSED: "This review is closed; nothing was changed.",
}


def build_review_refusal(reason: ReviewRefusal, item: ReviewItem | None) -> SlackMessage:
    """Why a Keep or Revoke click changed nothing, for the clicker only."""
    text = _REFUSALS[reason].format(
        reviewer=mention(item.reviewer) if item else "the reviewer",
        outcome=outcome_words(item) if item else "",
    )
    return message(text, [SectionBlock(text=text)])


def build_review_summary(
    campaign: Campaign, app: Application, items: Sequence[ReviewItem], at: datetime
) -> SlackMessage:
    """For the admins when a campaign closes: counts, and the lines left for them."""
    counts: dict[str, int] = {}
    for item in items:
        word = outcome_words(item).split(":")[0]
        counts[word] = counts.get(word, 0) + 1
    listing = ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "no lines"
    escalated = [i for i in items if i.outcome is Outcome.ESCALATED]
    text = (
        f"The access review {campaign.id} of {app.title} closed {slack_date(at)}: "
        f"{_lines(len(items))} — {listing}."
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Access review closed: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
    ]
    if escalated:
        names = ", ".join(f"{safe(i.subject_name or i.username, 60)}" for i in escalated[:40])
        more = f" and {len(escalated) - 40} more" if len(escalated) > 40 else ""
        blocks.append(
            SectionBlock(
                text=clip(
                    f"*Nobody answered for {_lines(len(escalated))}; kept until you "
                    f"decide (in the message of escalated lines):* {names}{more}",
                    SECTION_TEXT_MAX,
                )
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Evidence: `accessbot review export --format csv` "
                    "(one row per line: reviewer, decision, when, outcome in Salesforce)."
                )
            ]
        )
    )
    return message(text, blocks)
