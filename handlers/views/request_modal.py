"""The request modal: loading placeholder, the form, and reading it back."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.views import View

from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import RequestDraft
from handlers.flows.people import Ineligibility
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import SLACK_USER_ID
from handlers.views.metadata import ModalRef
from handlers.views.options import resolve_value
from handlers.views.request_form import note, request_blocks
from handlers.views.request_options import parse_duration
from handlers.views.state import selected_value, selected_values, text_value
from handlers.views.text import ERROR_TEXT_MAX, SECTION_TEXT_MAX, clip, mention, mentions, safe

__all__ = [
    "UNSET_DURATION",
    "RequestDraft",
    "build_cannot_request_for",
    "build_loading_modal",
    "build_nothing_to_request",
    "build_request_modal",
    "build_unavailable_modal",
    "field_errors_to_blocks",
    "parse_request_state",
    "request_blocks",
]

TITLE = "Salesforce access"
# No policy offers a zero duration (each is at least a minute): the flow's check rejects it.
UNSET_DURATION = timedelta(0)

FIELD_BLOCKS: Mapping[str, BlockId] = {
    "application": BlockId.APPLICATION,
    "license": BlockId.LICENSE,
    "profile": BlockId.PROFILE,
    "role": BlockId.ROLE,
    "permission_sets": BlockId.PERMISSION_SETS,
    "duration": BlockId.DURATION,
    "reason": BlockId.REASON,
}


def build_loading_modal() -> View:
    """A placeholder opened right after ``ack()`` while the catalog loads (trigger_id lives 3 s)."""
    return View(
        type="modal",
        callback_id=CallbackId.LOADING,
        title=TITLE,
        close="Cancel",
        blocks=[SectionBlock(text=":hourglass_flowing_sand: Loading what you can request…")],
    )


def _notice(text: str) -> View:
    """A modal that only says ``text`` (in place of the form), with Close."""
    return View(
        type="modal",
        callback_id=CallbackId.UNAVAILABLE,
        title=TITLE,
        close="Close",
        blocks=[SectionBlock(text=clip(text, SECTION_TEXT_MAX))],
    )


def build_unavailable_modal(reason: str) -> View:
    """Replaces the loading modal when the options cannot be loaded; ``reason`` in plain words."""
    text = f":warning: {safe(reason, SECTION_TEXT_MAX - 40)}\nPlease try again in a few minutes."
    return _notice(text)


def _why_not(reason: Ineligibility, whose: str) -> str:
    if reason is Ineligibility.NO_EMAIL:
        return (
            f"Slack doesn't share an email address for {whose} account (guest accounts can lack "
            "one, and so does every account when the app may not read emails), and Salesforce "
            "needs one to create a user."
        )
    if reason is Ineligibility.DEACTIVATED:
        return f"{whose.capitalize() if whose == 'your' else whose} Slack account is deactivated."
    return "The account is a bot, not a person."


def build_cannot_request_for(
    subject_id: str,
    reason: Ineligibility,
    *,
    admins: Sequence[str] = (),
    own: bool = False,
) -> View:
    """Replaces the form when the person asked for cannot hold a Salesforce user: why, whom to ask.

    ``own`` says the person looking is the one who can't (the text then says "you").
    """
    head = "You can't" if own else f"{mention(subject_id)} can't"
    why = _why_not(reason, "your" if own else f"{mention(subject_id)}'s")
    admins_text = f" ({mentions(admins, conjunction='or')})" if admins else ""
    text = (
        f":warning: {head} get Salesforce access: {why}\n"
        f"Ask the admins of Salesforce access{admins_text}."
    )
    return _notice(text)


def build_nothing_to_request(
    titles: Sequence[str], *, admins: Sequence[str] = (), on_behalf_of: str | None = None
) -> View:
    """Replaces the form when the policy lists the person for nothing they could ask for."""
    names = [safe(t, 100) for t in titles] or ["Salesforce"]
    what = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    who = "you" if on_behalf_of is None else f"you and {mention(on_behalf_of)}"
    admins_text = f" ({mentions(admins, conjunction='or')})" if admins else ""
    text = (
        f":no_entry: There is nothing in {what} that {who} may request: the access policy "
        f"limits who may ask for it.\nAsk its admins{admins_text} if you need access."
    )
    return _notice(text)


def build_request_modal(
    choices: RequestChoices,
    *,
    applications: Sequence[tuple[str, str]] = (),
    selected: RequestDraft | None = None,
    on_behalf_of: str | None = None,
) -> View:
    """The request form for ``choices.application``; ``selected`` pre-fills it.

    Without ``selected`` the Duration starts at the policy's first duration; with it, at the
    draft's duration when offered. ``applications`` are (name, title) pairs; the Application
    select shows only when there is more than one. ``on_behalf_of`` must be a Slack user id.
    """
    if on_behalf_of is not None and not SLACK_USER_ID.match(on_behalf_of):
        raise ValueError(f"on_behalf_of must be a Slack user id, not {on_behalf_of[:40]!r}")
    blocks: list[Block] = []
    if on_behalf_of:
        blocks.append(note(f"You are asking on behalf of {mention(on_behalf_of)}."))
    blocks.extend(request_blocks(choices, selected, applications=applications))
    ref = ModalRef(application=choices.application, subject_id=on_behalf_of or None)
    return View(
        type="modal",
        callback_id=CallbackId.REQUEST,
        title=TITLE,
        submit="Submit request",
        close="Cancel",
        private_metadata=ref.dump(),
        blocks=blocks,
    )


def parse_request_state(
    state_values: object, *, choices: RequestChoices | None = None
) -> RequestDraft:
    """What the form holds, from ``view.state.values``; never raises.

    With ``choices`` hashed option keys are mapped back to names and anything the choices do
    not offer (a profile of another license, a removed role) is dropped. Without them, plain
    names are kept as sent and hashed keys are dropped. A duration that is not offered is
    kept for the flow's check to refuse; an unset one reads as ``UNSET_DURATION`` (zero),
    never as None, which would mean permanent.
    """
    application = selected_value(state_values, BlockId.APPLICATION, ActionId.REQUEST_APPLICATION)
    if application is None and choices is not None:
        application = choices.application
    lic_names = [lic.name for lic in choices.licenses] if choices else None
    lic = resolve_value(
        selected_value(state_values, BlockId.LICENSE, ActionId.REQUEST_LICENSE), lic_names
    )
    profile_names = [p.name for p in choices.profiles_of(lic)] if choices else None
    profile = resolve_value(
        selected_value(state_values, BlockId.PROFILE, ActionId.REQUEST_PROFILE), profile_names
    )
    role_names = [r.name for r in choices.roles] if choices else None
    role = resolve_value(
        selected_value(state_values, BlockId.ROLE, ActionId.REQUEST_ROLE), role_names
    )
    set_names = [p.name for p in choices.permission_sets] if choices else None
    picked = selected_values(
        state_values, BlockId.PERMISSION_SETS, ActionId.REQUEST_PERMISSION_SETS
    )
    sets = tuple(
        dict.fromkeys(name for v in picked if (name := resolve_value(v, set_names)) is not None)
    )
    chosen, duration = parse_duration(
        selected_value(state_values, BlockId.DURATION, ActionId.REQUEST_DURATION)
    )
    if not chosen:
        # None would read as "permanent": an unset duration must fail the flow's check instead.
        duration = UNSET_DURATION
    reason = text_value(state_values, BlockId.REASON, ActionId.REQUEST_REASON)
    return RequestDraft(
        application=application,
        license=lic,
        profile=profile,
        role=role,
        permission_sets=sets,
        duration=duration,
        reason=reason or None,
    )


def field_errors_to_blocks(
    errors: Mapping[str, str], *, shown: Collection[str] | None = None
) -> dict[str, str]:
    """Field name -> message becomes block_id -> message for ``response_action="errors"``.

    Unknown field names are shown under the Reason, which every request form has; so is a
    field whose block the form does not show (``shown``: the block ids of the submitted view).
    """
    result: dict[str, str] = {}
    for field, text in errors.items():
        block = FIELD_BLOCKS.get(field, BlockId.REASON)
        if shown is not None and block not in shown:
            block = BlockId.REASON
        joined = f"{result[block]} {text}" if block in result else text
        result[block] = clip(joined, ERROR_TEXT_MAX)
    return result
