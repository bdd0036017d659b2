"""What ``/salesforce status`` and ``/salesforce pending`` answer, as ephemeral messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from handlers.flows.labels import Labels
from handlers.policy import Policy
from handlers.views.block_budget import fit_counts, fitted
from handlers.views.help import COMMAND
from handlers.views.message import MESSAGE_BLOCKS_MAX, SlackMessage, message
from handlers.views.request_rows import (
    escalation_row,
    is_active_grant,
    newest_first,
    own_row,
    waiting_row,
)
from storage.models import TERMINAL_STATES, AccessRequest

_OLDER = "older ones are not shown"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _fill(sections: Sequence[tuple[str, list[list[Block]], str]], *, empty: str) -> list[Block]:
    """Titled lists in one message: each title, then the rows that fit 50 blocks in total."""
    shown = [(title, rows, hint) for title, rows, hint in sections if rows]
    if not shown:
        return [SectionBlock(text=empty)]
    titles = len(shown) + len(shown) - 1  # a title each, a divider between them
    counts = fit_counts([rows for _, rows, _ in shown], MESSAGE_BLOCKS_MAX - titles)
    blocks: list[Block] = []
    for i, ((title, rows, hint), count) in enumerate(zip(shown, counts, strict=True)):
        if i:
            blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=f"*{title}*"))
        blocks.extend(fitted(rows, count, hint))
    return blocks


def build_status(
    mine: Sequence[AccessRequest],
    *,
    policy: Policy,
    now: datetime,
    command: str = COMMAND,
    labels: Labels | None = None,
) -> SlackMessage:
    """The reader's live access (with Extend and Revoke) and their requests, newest first."""
    ordered = newest_first(mine)
    grants = [r for r in ordered if is_active_grant(r)]
    others = [r for r in ordered if not is_active_grant(r)]
    blocks = _fill(
        [
            (
                "Your Salesforce access",
                [own_row(r, policy, now=now, labels=labels) for r in grants],
                _OLDER,
            ),
            ("Your requests", [own_row(r, policy, now=now, labels=labels) for r in others], _OLDER),
        ],
        empty=f"You have no Salesforce access or requests yet. Ask with `{command} request`.",
    )
    open_count = sum(r.state not in TERMINAL_STATES for r in others)
    text = (
        f"Your Salesforce access: {len(grants)} active, "
        f"{_plural(open_count, 'open request', 'open requests')}."
    )
    return message(text, blocks)


def build_pending(
    waiting: Sequence[AccessRequest],
    *,
    policy: Policy,
    now: datetime,
    escalations: Sequence[AccessRequest] = (),
    labels: Labels | None = None,
) -> SlackMessage:
    """Requests waiting for the reader's decision (Approve, Deny) and, for admins, their help."""
    decide = [waiting_row(r, policy, now=now, labels=labels) for r in newest_first(waiting)]
    fix = [escalation_row(r, policy) for r in newest_first(escalations)]
    blocks = _fill(
        [
            ("Waiting for your decision", decide, _OLDER),
            ("Needs an admin", fix, "the messages sent to the admins have the details"),
        ],
        empty="Nothing waits for you. :tada:",
    )
    text = f"{_plural(len(decide), 'request waits', 'requests wait')} for your decision" + (
        f"; {_plural(len(fix), 'needs', 'need')} an admin." if fix else "."
    )
    return message(text, blocks)
