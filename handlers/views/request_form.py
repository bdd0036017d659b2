"""The request form's blocks, shared by the request and complete-request modals.

Block and action ids never change between ``views.update`` calls, so Slack keeps what the
user already picked or typed when the form is refilled after a License is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
)

from handlers.durations import duration_label
from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import REASON_MAX, RequestDraft
from handlers.ids import ActionId, BlockId
from handlers.views.options import select_element
from handlers.views.request_options import (
    application_items,
    duration_items,
    duration_value,
    license_items,
    permission_set_items,
    profile_items,
    role_items,
)


def note(text: str, block_id: str | None = None) -> ContextBlock:
    """A small grey line of mrkdwn (the caller escapes any user text)."""
    return ContextBlock(block_id=block_id, elements=[MarkdownTextObject(text=text)])


def _selected(name: str | None) -> list[str]:
    return [name] if name else []


def _application(
    choices: RequestChoices, draft: RequestDraft, apps: Sequence[tuple[str, str]]
) -> Block:
    return InputBlock(
        block_id=BlockId.APPLICATION,
        label="Application",
        dispatch_action=True,
        element=select_element(
            ActionId.REQUEST_APPLICATION,
            application_items(apps),
            placeholder="Choose an application",
            selected=[draft.application or choices.application],
        ),
    )


def _license(choices: RequestChoices, license_name: str | None) -> Block:
    if not choices.licenses:
        return note(
            ":warning: No User License can be requested here right now. Please ask an admin."
        )
    return InputBlock(
        block_id=BlockId.LICENSE,
        label="User License",
        hint="The license decides which profiles you can pick.",
        dispatch_action=True,
        element=select_element(
            ActionId.REQUEST_LICENSE,
            license_items(choices),
            placeholder="Choose a User License",
            selected=_selected(license_name),
        ),
    )


def _profile(choices: RequestChoices, draft: RequestDraft, license_name: str | None) -> Block:
    if license_name is None:
        return note("Pick a *User License* first: its profiles show up here.", BlockId.PROFILE_HINT)
    profiles = profile_items(choices, license_name)
    if not profiles:
        text = "No profile of this license can be requested. Pick another license."
        return note(text, BlockId.PROFILE_HINT)
    return InputBlock(
        block_id=BlockId.PROFILE,
        label="Profile",
        element=select_element(
            ActionId.REQUEST_PROFILE,
            profiles,
            placeholder="Choose a profile",
            selected=_selected(draft.profile),
        ),
    )


def _role(choices: RequestChoices, draft: RequestDraft) -> Block:
    return InputBlock(
        block_id=BlockId.ROLE,
        label="Role",
        optional=not choices.require_role,
        element=select_element(
            ActionId.REQUEST_ROLE,
            role_items(choices),
            placeholder="Choose a role",
            selected=_selected(draft.role),
        ),
    )


def _permission_sets(choices: RequestChoices, draft: RequestDraft) -> Block:
    return InputBlock(
        block_id=BlockId.PERMISSION_SETS,
        label="Permission sets",
        optional=True,
        element=select_element(
            ActionId.REQUEST_PERMISSION_SETS,
            permission_set_items(choices),
            placeholder="Add permission sets",
            selected=draft.permission_sets,
            multi=True,
        ),
    )


def _duration(choices: RequestChoices, draft: RequestDraft | None) -> Block | None:
    durations = duration_items(choices)
    if not durations:
        return None
    # A fresh form starts at the policy's first duration; a draft keeps its own when offered.
    wanted = duration_value(draft.duration) if draft is not None else None
    initial = wanted if wanted in {item.name for item in durations} else durations[0].name
    caps = "; ".join(
        f"{tier.value.capitalize()}-risk access lasts at most {duration_label(cap)}"
        for tier, cap in choices.duration_caps
    )
    return InputBlock(
        block_id=BlockId.DURATION,
        label="Duration",
        element=select_element(
            ActionId.REQUEST_DURATION, durations, placeholder="How long", selected=[initial]
        ),
        hint=f"{caps}." if caps else None,
    )


def _reason(draft: RequestDraft) -> Block:
    return InputBlock(
        block_id=BlockId.REASON,
        label="Why do you need this access?",
        element=PlainTextInputElement(
            action_id=ActionId.REQUEST_REASON,
            multiline=True,
            max_length=REASON_MAX,
            initial_value=(draft.reason or "")[:REASON_MAX] or None,
            placeholder="What you will do with it, and for how long",
        ),
    )


def request_blocks(
    choices: RequestChoices,
    selected: RequestDraft | None = None,
    *,
    applications: Sequence[tuple[str, str]] = (),
) -> list[Block]:
    """Application (when several), License, Profile, Role, sets, Duration and Reason."""
    draft = selected or RequestDraft()
    lic = choices.license(draft.license)
    license_name = lic.name if lic else None
    blocks: list[Block | None] = [
        _application(choices, draft, applications) if len(applications) > 1 else None,
        _license(choices, license_name),
        _profile(choices, draft, license_name),
        _role(choices, draft) if choices.roles else None,
        _permission_sets(choices, draft) if choices.permission_sets else None,
        _duration(choices, selected),
        _reason(draft),
    ]
    return [block for block in blocks if block is not None]
