"""Modals an admin opens from an escalation: complete the request, pick another username."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import RequestDraft
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.views.metadata import ModalRef
from handlers.views.request_form import request_blocks
from handlers.views.state import text_value
from handlers.views.text import SECTION_TEXT_MAX, clip, code, mention
from storage.models import AccessRequest

USERNAME_MAX = 80
# Salesforce usernames look like email addresses (the domain need not exist): jane@acme.com.uat
USERNAME_SHAPE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def draft_from_request(req: AccessRequest) -> RequestDraft:
    """What a stored request already says, to pre-fill the form."""
    return RequestDraft(
        application=req.application,
        license=req.license,
        profile=req.profile,
        role=req.role,
        permission_sets=req.permission_sets,
        duration=req.duration,
        reason=req.reason or None,
    )


def build_complete_request_modal(
    choices: RequestChoices, req: AccessRequest, *, selected: RequestDraft | None = None
) -> View:
    """The request form pre-filled from ``req`` (or ``selected`` while it is being edited)."""
    intro = (
        f"Completing {mention(req.subject_id)}'s request {code(req.id, 100)}. "
        "Fill in what is missing; setting up the user starts again when you save."
    )
    if req.decided_by:
        intro += (
            " A change that gives more or other access than the owners approved goes back to "
            "them first."
        )
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=intro)])]
    blocks.extend(request_blocks(choices, selected or draft_from_request(req)))
    ref = ModalRef(request_id=req.id, application=req.application, subject_id=req.subject_id)
    return View(
        type="modal",
        callback_id=CallbackId.COMPLETE_REQUEST,
        title="Complete request",
        submit="Save and retry",
        close="Cancel",
        private_metadata=ref.dump(),
        blocks=blocks,
    )


def build_alternative_username_modal(req: AccessRequest, *, suggested: str) -> View:
    """Ask for another Salesforce username, pre-filled with ``suggested``."""
    taken = req.username_override or req.sf_username
    intro = f"{code(taken, 120)} is already taken. " if taken else ""
    intro += (
        "Salesforce usernames are unique across every org in the world, sandboxes included. "
        f"Pick another one for {mention(req.subject_id)}."
    )
    return View(
        type="modal",
        callback_id=CallbackId.ALTERNATIVE_USERNAME,
        title="Another username",
        submit="Save and retry",
        close="Cancel",
        private_metadata=ModalRef(request_id=req.id, application=req.application).dump(),
        blocks=[
            SectionBlock(text=clip(intro, SECTION_TEXT_MAX)),
            InputBlock(
                block_id=BlockId.ALTERNATIVE_USERNAME,
                label="Salesforce username",
                hint="Shaped like an email address, for example jane@acme.com.crm",
                element=PlainTextInputElement(
                    action_id=ActionId.ALTERNATIVE_USERNAME,
                    initial_value=suggested.strip()[:USERNAME_MAX] or None,
                    max_length=USERNAME_MAX,
                ),
            ),
        ],
    )


def parse_alternative_username(state_values: object) -> str:
    """The typed username, trimmed ("" when missing)."""
    value = text_value(state_values, BlockId.ALTERNATIVE_USERNAME, ActionId.ALTERNATIVE_USERNAME)
    return value.strip()


def username_errors(username: str) -> dict[str, str]:
    """block_id -> message for ``response_action="errors"``; empty when the username is usable."""
    if not username:
        problem = "Enter a username."
    elif len(username) > USERNAME_MAX:
        problem = f"Keep it to {USERNAME_MAX} characters."
    elif not USERNAME_SHAPE.match(username):
        problem = "Use the shape of an email address, for example jane@acme.com.crm."
    else:
        return {}
    return {BlockId.ALTERNATIVE_USERNAME: problem}
