"""The modal that confirms a revocation and asks for an optional reason."""

from __future__ import annotations

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.metadata import ModalRef
from handlers.views.state import text_value
from handlers.views.text import SECTION_TEXT_MAX, clip, code, mention, safe
from storage.models import AccessRequest

REVOKE_REASON_MAX = 3000


def build_revoke_modal(
    app: Application, *, subject_id: str, grant: AccessRequest | None = None
) -> View:
    """Confirm removing ``subject_id``'s access; ``private_metadata`` holds the ids involved."""
    user = (
        f" (Salesforce user {code(grant.sf_username, 120)})" if grant and grant.sf_username else ""
    )
    text = (
        f"Remove {mention(subject_id)}'s *{safe(app.title, 200)}* access{user}?\n"
        "The Salesforce user is deactivated now. If Salesforce blocks that, the user is frozen "
        "so nobody can log in, and the admins are told what to clear."
    )
    ref = ModalRef(
        application=app.name, subject_id=subject_id, request_id=grant.id if grant else None
    )
    return View(
        type="modal",
        callback_id=CallbackId.REVOKE,
        title="Revoke access",
        submit="Revoke",
        close="Cancel",
        private_metadata=ref.dump(),
        blocks=[
            SectionBlock(text=clip(text, SECTION_TEXT_MAX)),
            InputBlock(
                block_id=BlockId.REVOKE_REASON,
                label="Reason",
                optional=True,
                hint="The person whose access ends reads it.",
                element=PlainTextInputElement(
                    action_id=ActionId.REVOKE_REASON,
                    multiline=True,
                    max_length=REVOKE_REASON_MAX,
                ),
            ),
        ],
    )


def parse_revoke_reason(state_values: object) -> str:
    """The typed reason, trimmed and at most 3000 characters ("" when none)."""
    reason = text_value(state_values, BlockId.REVOKE_REASON, ActionId.REVOKE_REASON)
    return reason.strip()[:REVOKE_REASON_MAX]
