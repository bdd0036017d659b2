"""Messages of the scheduled lifecycle: reminders, the admins' nudge, extensions, the digest."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from handlers.durations import duration_label
from handlers.flows.labels import ShownAccess
from handlers.flows.lifecycle import Drift, DriftKind, DriftReport
from handlers.policy import Application
from handlers.views.facts import fact_blocks, id_context, who_line
from handlers.views.message import MESSAGE_BLOCKS_MAX, SlackMessage, message
from handlers.views.text import (
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    mentions,
    plain,
    safe,
    slack_date,
)
from storage.audit import ChainHead
from storage.models import AccessRequest

DIGEST_LINES_PER_KIND = 25

_DRIFT_TITLES = {
    DriftKind.ACTIVE_AGAIN: "Active again after the bot revoked them",
    DriftKind.DEACTIVATED_BY_HAND: "Deactivated by hand while their grant is active",
    DriftKind.NOT_GRANTED: "Active, but nobody granted them access through the bot "
    "(never switched off automatically: deactivate them in Setup if they should go)",
}
_FIXED = {
    DriftKind.ACTIVE_AGAIN: "deactivated again",
    DriftKind.DEACTIVATED_BY_HAND: "grant being closed",
    DriftKind.NOT_GRANTED: "deactivated",
}


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10 if number % 100 not in (11, 12, 13) else 0)
    return f"{number}{suffix or 'th'}"


def build_reminder(
    req: AccessRequest, app: Application, *, number: int, in_list: bool = False
) -> SlackMessage:
    """A reply under the approval message: it still waits, for how long, for whom.

    ``in_list``: under an owner's list of requests, so it names the request it is about.
    """
    which = f"{who_line(req, app)} (request {code(req.id, 40)})" if in_list else "this request"
    text = (
        f":bell: {_ordinal(number)} reminder: {which} has waited for a decision since "
        f"{slack_date(req.created_at)}. {mentions(app.owners)}, please approve or deny it."
    )
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


def build_undecided_escalation(
    req: AccessRequest, app: Application, *, reminders: int, shown: ShownAccess | None = None
) -> SlackMessage:
    """To the admins: reminders did not help; the owners need a nudge (or another owner)."""
    asked = f"after {reminders} reminder{'s' if reminders != 1 else ''}" if reminders else ""
    text = (
        f":rotating_light: Nobody decided this request since {slack_date(req.created_at)}"
        f"{', ' + asked if asked else ''}. Please nudge {mentions(app.owners)}, or add an owner "
        "to the policy who can decide it."
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Waiting for a decision: {app.title}", HEADER_TEXT_MAX)),
        SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
        SectionBlock(text=who_line(req, app)),
        *fact_blocks(req, shown=shown),
        id_context(req),
    ]
    return message(f"Nobody decided {req.id} ({app.title}) yet; please nudge the owners.", blocks)


def build_extension_asked(req: AccessRequest, app: Application, *, created: bool) -> SlackMessage:
    """The answer to Extend: who decides the extension, and for how long it would run."""
    how_long = duration_label(req.duration).lower()
    lead = "Asked" if created else "Already asked"
    text = (
        f":calendar: {lead} {mentions(app.owners)} to extend *{safe(app.title, 200)}* access "
        f"for {how_long} more (request {code(req.id, 100)}). You'll hear back here."
    )
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])


def build_extension_cancelled(req: AccessRequest, app: Application) -> SlackMessage:
    """An extension that ended with the access it would extend, and why."""
    whose = "your" if req.subject_id == req.requester_id else f"{mention(req.subject_id)}'s"
    why = (req.decision_note or "The access it would extend has ended.").strip()
    text = (
        f":heavy_multiplication_x: The request to extend {whose} *{safe(app.title, 200)}* access "
        f"({code(req.id, 100)}) was cancelled. {safe(why, 1000)} Nothing was extended; ask for "
        "new access if you still need it."
    )
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX)), id_context(req)])


def _drift_line(drift: Drift) -> str:
    who = f" ({mention(drift.subject_id)})" if drift.subject_id else ""
    grant = f", grant {code(drift.grant_id, 40)}" if drift.grant_id else ""
    fixed = f" — {_FIXED[drift.kind]}" if drift.fixed else ""
    name = code(drift.username, 120) if drift.username else code(drift.user_id, 40)
    return f"• {name}{who}{grant}{fixed}"


def _kind_block(kind: DriftKind, drifts: tuple[Drift, ...]) -> SectionBlock:
    lines = [_drift_line(d) for d in drifts[:DIGEST_LINES_PER_KIND]]
    if len(drifts) > DIGEST_LINES_PER_KIND:
        lines.append(f"…and {len(drifts) - DIGEST_LINES_PER_KIND} more")
    return SectionBlock(text=clip(f"*{_DRIFT_TITLES[kind]}*\n" + "\n".join(lines), 3000))


def build_drift_digest(
    reports: list[DriftReport], apps: dict[str, Application], head: ChainHead | None = None
) -> SlackMessage | None:
    """One DM to an admin: per application, each kind of drift and what was done; None if none.

    ``head`` (the audit log's) is published with it, outside the database the log lives in.
    """
    found = [r for r in reports if r.drifts]
    if not found:
        return None
    blocks: list[Block] = [HeaderBlock(text=plain("Salesforce reconciliation", HEADER_TEXT_MAX))]
    total = 0
    for report in found:
        app = apps.get(report.application)
        title = safe(app.title if app else report.application, 200)
        fixed = sum(1 for d in report.drifts if d.fixed)
        auto = (
            " The policy corrects users the bot revoked and grants of deactivated users."
            if app and app.auto_revoke_drift
            else ""
        )
        summary = (
            f"*{title}*: {len(report.drifts)} of {report.checked_users} active users differ "
            f"from the grants the bot knows; {fixed} corrected.{auto}"
        )
        blocks.append(SectionBlock(text=clip(summary, SECTION_TEXT_MAX)))
        for kind in DriftKind:
            of_kind = report.of_kind(kind)
            if of_kind and len(blocks) < MESSAGE_BLOCKS_MAX - 1:
                blocks.append(_kind_block(kind, of_kind))
        total += len(report.drifts)
    text = f"Reconciliation found {total} user{'s' if total != 1 else ''} to look at."
    if head is None:
        return message(text, blocks[:MESSAGE_BLOCKS_MAX])
    return message(text, [*blocks[: MESSAGE_BLOCKS_MAX - 1], audit_head_block(head)])


def audit_head_block(head: ChainHead) -> ContextBlock:
    """The audit log's head, to keep: ``audit verify --head`` proves nothing before it changed."""
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text=f"Audit log head: {code(str(head))} ({head.rows} rows). Keep it: "
                f"{code(f'accessbot audit verify --head {head}')} proves that no row up to it "
                "was changed or removed."
            )
        ]
    )
