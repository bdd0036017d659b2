"""The modal an owner fills in to deny a request: the reason the requester will read."""

from __future__ import annotations

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.metadata import ModalRef
from handlers.views.state import text_value
from handlers.views.text import SECTION_TEXT_MAX, clip, mention, safe
from storage.models import AccessRequest

DENY_REASON_MAX = 3000


def build_deny_modal(req: AccessRequest, app: Application) -> View:
    """Ask for the reason; ``private_metadata`` holds the request id."""
    intro = (
        f"Deny {mention(req.subject_id)}'s request for *{safe(app.title, 200)}* access? "
        "They will read your reason."
    )
    return View(
        type="modal",
        callback_id=CallbackId.DENY_REASON,
        title="Deny request",
        submit="Deny",
        close="Back",
        private_metadata=ModalRef(request_id=req.id, application=app.name).dump(),
        blocks=[
            SectionBlock(text=clip(intro, SECTION_TEXT_MAX)),
            InputBlock(
                block_id=BlockId.DENY_REASON,
                label="Reason",
                element=PlainTextInputElement(
                    action_id=ActionId.DENY_REASON,
                    multiline=True,
                    max_length=DENY_REASON_MAX,
                    placeholder="Why this access is not granted, and what to do instead",
                ),
            ),
        ],
    )


def parse_deny_reason(state_values: object) -> str:
    """The typed reason, trimmed and at most 3000 characters ("" when missing)."""
    return text_value(state_values, BlockId.DENY_REASON, ActionId.DENY_REASON).strip()[
        :DENY_REASON_MAX
    ]


def deny_reason_errors(reason: str) -> dict[str, str]:
    """block_id -> message for ``response_action="errors"``; empty when the reason is fine."""
    if not reason.strip():
        # Slack accepts spaces in a required input; a reason made of nothing is no reason.
        return {BlockId.DENY_REASON: "Say why the request is denied."}
    return {}
