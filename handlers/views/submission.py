"""What the request form becomes once submitted: a placeholder, then the outcome."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.views import View

from handlers.ids import ActionId, CallbackId
from handlers.views.metadata import ModalRef
from handlers.views.text import SECTION_TEXT_MAX, clip, safe
from storage.models import AccessRequest, State

TITLE = "Salesforce access"

FIELD_LABELS: Mapping[str, str] = {
    "application": "Application",
    "license": "User License",
    "profile": "Profile",
    "role": "Role",
    "permission_sets": "Permission Sets",
    "duration": "Duration",
    "reason": "Reason",
}


def build_submitting_modal() -> View:
    """Shown the moment the form is submitted, while the checks run and the request is stored."""
    return View(
        type="modal",
        callback_id=CallbackId.SUBMITTING,
        title=TITLE,
        close="Close",
        blocks=[SectionBlock(text=":hourglass_flowing_sand: Submitting your request…")],
    )


def build_submitted_modal(request: AccessRequest, *, auto_approved: bool = False) -> View:
    """The request is stored: what happens next."""
    if auto_approved:
        nxt = "It was approved at once; the access is being set up."
    elif request.state is State.NEEDS_ADMIN:
        nxt = "An admin has to complete it before it can be approved."
    else:
        nxt = "It is waiting for approval; you will get a message when it is decided."
    text = f":white_check_mark: Your request {request.id} was submitted.\n{nxt}"
    return View(
        type="modal",
        callback_id=CallbackId.SUBMITTED,
        title=TITLE,
        close="Close",
        blocks=[SectionBlock(text=clip(text, SECTION_TEXT_MAX))],
    )


def build_refused_modal(errors: Mapping[str, str], ref: ModalRef) -> View:
    """The checks refused the request: each refused field and why; nothing was stored.

    The Start again button refills the same modal with a fresh form (``ref`` is kept so a
    request on someone's behalf stays on their behalf).
    """
    lines = [
        f"• *{FIELD_LABELS.get(field, safe(field, 40))}*: {safe(text, 600)}"
        for field, text in errors.items()
    ]
    text = ":no_entry: Your request was not submitted; nothing was stored.\n" + "\n".join(lines)
    return View(
        type="modal",
        callback_id=CallbackId.REFUSED,
        title=TITLE,
        close="Close",
        private_metadata=ref.dump(),
        blocks=[
            SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Start again", action_id=ActionId.REQUEST_START_AGAIN, style="primary"
                    )
                ]
            ),
        ],
    )
