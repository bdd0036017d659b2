"""The "Transfer to…" modal (successor, what to move, the counts) and the DM's transfer lines."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    InputBlock,
    Option,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.views import View

from handlers.flows.transfer import TransferChoice
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.views.message import SlackMessage, message
from handlers.views.metadata import ModalRef
from handlers.views.state import selected_values
from handlers.views.text import SECTION_TEXT_MAX, clip, code, mention, safe
from salesforce.holdings import held_object
from salesforce.transfer import APPROVALS, DELEGATORS, REPORTS
from storage.models import AccessRequest
from storage.transfers import Transfer, TransferState

SHOWN_REFUSALS = 10
_OTHER_LABELS = {
    APPROVALS: ("pending approval", "pending approvals"),
    REPORTS: ("direct report", "direct reports"),
    DELEGATORS: ("delegator", "delegators"),
}


def label_of(what: str, count: int) -> str:
    """ "300 Accounts", "1 pending approval", "12 `Project__c` records"."""
    if what in _OTHER_LABELS:
        one, many = _OTHER_LABELS[what]
        return f"{count:,} {one if count == 1 else many}"
    held = held_object(what)
    if held is None or held.api_name.endswith("__c"):
        return f"{count:,} {code(what, 100)} {'record' if count == 1 else 'records'}"
    return f"{count:,} {held.one if count == 1 else held.many}"


def build_transfer_modal(
    revocation: AccessRequest,
    choices: Sequence[TransferChoice],
    *,
    thread: tuple[str, str] | None = None,
) -> View:
    """Pick a successor and what to hand over; the counts are what Salesforce last reported."""
    preview = ", ".join(label_of(c.what, c.count) for c in choices)
    text = (
        f"Hand {mention(revocation.subject_id)}'s work in Salesforce "
        f"({code(revocation.sf_username or '', 120)}) to someone else, then deactivate the user."
        f"\n*They hold:* {preview}."
    )
    options = [Option(value=c.what, text=label_of(c.what, c.count)) for c in choices]
    return View(
        type="modal",
        callback_id=CallbackId.TRANSFER,
        title="Transfer to…",
        submit="Transfer",
        close="Cancel",
        private_metadata=ModalRef(
            request_id=revocation.id,
            channel=thread[0] if thread else None,
            message_ts=thread[1] if thread else None,
        ).dump(),
        blocks=[
            SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
            InputBlock(
                block_id=BlockId.TRANSFER_SUCCESSOR,
                label="Successor",
                hint="They need an active Salesforce user.",
                element=UserSelectElement(action_id=ActionId.TRANSFER_SUCCESSOR),
            ),
            InputBlock(
                block_id=BlockId.TRANSFER_OBJECTS,
                label="What to move",
                element=CheckboxesElement(
                    action_id=ActionId.TRANSFER_OBJECTS, options=options, initial_options=options
                ),
            ),
        ],
    )


def parse_transfer(state_values: object) -> tuple[str | None, tuple[str, ...]]:
    """The chosen successor's Slack id and the ticked objects."""
    successor = None
    if isinstance(state_values, dict):
        block = state_values.get(BlockId.TRANSFER_SUCCESSOR)
        element = block.get(ActionId.TRANSFER_SUCCESSOR) if isinstance(block, dict) else None
        picked = element.get("selected_user") if isinstance(element, dict) else None
        successor = picked if isinstance(picked, str) and picked else None
    objects = selected_values(state_values, BlockId.TRANSFER_OBJECTS, ActionId.TRANSFER_OBJECTS)
    return successor, objects


def build_transfer_summary(
    revocation: AccessRequest, title: str, transfer: Transfer
) -> SlackMessage:
    """The admins' summary of a transfer the policy ran by itself before the deactivation."""
    user = code(revocation.sf_username or transfer.username, 120)
    intro = (
        f"*{safe(title, 200)}:* {mention(revocation.subject_id)}'s work in Salesforce ({user}) "
        "was handed over as the policy says (`offboarding.transfer_to`), then the user was "
        "deactivated."
    )
    blocks: list[Block] = [
        SectionBlock(text=clip(intro, SECTION_TEXT_MAX)),
        SectionBlock(text=transfer_text(transfer)),
    ]
    blocks += _retry_actions(transfer)
    return message(f"{title}: work handed over for {mention(revocation.subject_id)}.", blocks)


def _retry_actions(transfer: Transfer) -> list[Block]:
    """ "Retry failed rows" when Salesforce refused some (admins only, checked on the click)."""
    if transfer.state is not TransferState.FAILED:
        return []
    retry = ButtonElement(
        text="Retry failed rows",
        action_id=ActionId.RETRY_TRANSFER,
        value=transfer.id,
        style="primary",
    )
    return [ActionsBlock(elements=[retry])]


def build_transfer_reply(transfer: Transfer, *, deactivated: bool = False) -> SlackMessage:
    """Progress and outcome under the message a transfer was started from (not an escalation),
    with "Retry failed rows" when Salesforce refused some; ``deactivated``: the policy's
    transfer, after which the user was deactivated."""
    blocks: list[Block] = [SectionBlock(text=transfer_text(transfer))]
    if deactivated and transfer.decided_by == "policy":
        blocks.append(SectionBlock(text=":lock: Then the Salesforce user was deactivated."))
    blocks += _retry_actions(transfer)
    return message(f"Transfer {transfer.id}: {transfer.state.value}.", blocks)


def transfer_text(transfer: Transfer) -> str:
    """How far the hand-over got, for the DM: running, done, or the rows Salesforce refused."""
    to = mention(transfer.to_slack_id) if transfer.to_slack_id else code(transfer.to_user_id, 40)
    moved = [
        label_of(what, transfer.step(what).moved)
        for what in transfer.objects
        if transfer.step(what).moved
    ]
    moved_text = ", ".join(moved) if moved else "nothing yet"
    by = mention(transfer.decided_by) if transfer.decided_by != "policy" else "the policy"
    if transfer.state is TransferState.RUNNING:
        waiting = [w for w in transfer.objects if not transfer.step(w).done]
        now = f" Moving {code(waiting[0], 60)} now." if waiting else ""
        lines = [f":hourglass_flowing_sand: *Handing over to {to}.* Moved: {moved_text}.{now}"]
    elif transfer.state is TransferState.DONE:
        lines = [f":white_check_mark: *Handed over to {to}* by {by}: {moved_text}."]
    else:
        lines = [
            f":warning: *Handed over to {to}* by {by}: {moved_text}. "
            f"Salesforce refused {transfer.failed:,} "
            f"{'row' if transfer.failed == 1 else 'rows'}:"
        ]
        refused = transfer.refused()
        for what, row in refused[:SHOWN_REFUSALS]:
            lines.append(
                f"• {code(what, 60)} {code(row.record_id, 20)}: {safe(row.message, 300)} "
                f"({code(row.code, 60)})"
            )
        if len(refused) > SHOWN_REFUSALS:
            lines.append(f"…and {len(refused) - SHOWN_REFUSALS:,} more.")
        lines.append("Fix them in Salesforce, then retry the failed rows.")
    return clip("\n".join(lines), SECTION_TEXT_MAX)
