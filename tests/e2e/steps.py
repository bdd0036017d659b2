"""What people do in the end-to-end tests, one step at a time, through signed HTTP only."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import Stage
from handlers.ids import ActionId, CallbackId
from storage.models import AccessRequest

JsonDict = dict[str, Any]


async def open_request_form(stage: Stage, user_id: str, text: str = "") -> str:
    """Run the slash command and wait for the filled-in request modal; returns its view id."""
    reply = await stage.workspace.slash(user_id, text)
    assert reply.status == 200, reply.body

    def form() -> JsonDict | None:
        view = stage.slack.open_view(user_id)
        if view and view.get("callback_id") == CallbackId.REQUEST:
            return view
        return None

    view = await stage.slack.wait_for(form)
    return str(view["id"])


async def fill_request(
    stage: Stage,
    user_id: str,
    view_id: str,
    *,
    license: str = "Salesforce",
    profile: str = "Sales User",
    role: str | None = "SalesRep",
    permission_sets: tuple[str, ...] = ("Sales_Ops",),
    duration: str | None = None,
    reason: str = "I close the quarter with the sales team",
) -> None:
    """Pick a license (the profile list refills), then choose the rest and type the reason."""
    before = stage.slack.view(view_id)
    assert before is not None
    await stage.workspace.pick(user_id, view_id, ActionId.REQUEST_LICENSE, license)
    await stage.slack.wait_for(lambda: _hash_changed(stage, view_id, before["hash"]))
    await stage.workspace.choose(user_id, view_id, ActionId.REQUEST_PROFILE, profile)
    if role:
        await stage.workspace.choose(user_id, view_id, ActionId.REQUEST_ROLE, role)
    if permission_sets:
        await stage.workspace.choose(
            user_id, view_id, ActionId.REQUEST_PERMISSION_SETS, list(permission_sets)
        )
    if duration is not None:
        await stage.workspace.choose(user_id, view_id, ActionId.REQUEST_DURATION, duration)
    await stage.workspace.type(user_id, view_id, ActionId.REQUEST_REASON, reason)


def _hash_changed(stage: Stage, view_id: str, old_hash: str) -> bool:
    view = stage.slack.view(view_id)
    return bool(view and view.get("hash") != old_hash)


async def submit_request(stage: Stage, user_id: str, **choices: Any) -> AccessRequest:
    """The whole request modal, submitted; returns the stored request."""
    view_id = await open_request_form(stage, user_id)
    await fill_request(stage, user_id, view_id, **choices)
    reply = await stage.workspace.submit(user_id, view_id)
    assert_submitting(reply.status, reply.json_or_none())
    outcome = await submission_outcome(stage, view_id)
    assert outcome["callback_id"] == CallbackId.SUBMITTED, outcome["blocks"]
    # The confirmation is shown once the request is stored; the person then closes it.
    requests = await stage.runtime.deps.repo.find(subject_id=user_id)
    assert requests, "the submission stored nothing"
    assert f"Your request {requests[0].id} was submitted" in str(outcome["blocks"])
    await stage.workspace.close(user_id, view_id)
    return requests[0]


SUBMITTING_TEXT = "Submitting your request…"
OUTCOMES = (CallbackId.SUBMITTED, CallbackId.REFUSED, CallbackId.UNAVAILABLE)


def assert_submitting(status: int, answer: Any) -> None:
    """The submission was acknowledged by turning the form into the "Submitting…" view."""
    assert status == 200, answer
    assert isinstance(answer, dict) and answer.get("response_action") == "update", answer
    assert answer["view"]["callback_id"] == CallbackId.SUBMITTING
    assert SUBMITTING_TEXT in str(answer["view"]["blocks"])


async def submission_outcome(
    stage: Stage, view_id: str, outcomes: tuple[str, ...] = OUTCOMES, timeout: float = 5.0
) -> JsonDict:
    """The submitted modal once it shows the outcome (confirmation, refusal or why not)."""

    def shown() -> JsonDict | None:
        view = stage.slack.view(view_id)
        return view if view and view.get("callback_id") in outcomes else None

    return await stage.slack.wait_for(shown, timeout=timeout)


async def confirmed(stage: Stage, view_id: str, timeout: float = 5.0) -> JsonDict:
    """The submitted modal once it confirms the request: by then the request is stored."""
    return await submission_outcome(stage, view_id, (CallbackId.SUBMITTED,), timeout)


def refusal_lines(view: JsonDict) -> list[str]:
    """The refused modal's reasons, one per refused field ("*Profile*: why"), and its way back."""
    assert view["callback_id"] == CallbackId.REFUSED, view
    (notice, actions) = view["blocks"]
    (button,) = actions["elements"]
    assert button["action_id"] == ActionId.REQUEST_START_AGAIN
    head, *lines = str(notice["text"]["text"]).split("\n")
    assert "nothing was stored" in head
    return [line.removeprefix("• ") for line in lines]


async def approval_message(stage: Stage, owner_id: str, request_id: str) -> PostedMessage:
    """The approval message about ``request_id`` in the owner's DM, once it has arrived."""

    def find() -> PostedMessage | None:
        for message in stage.slack.dms(owner_id):
            if not message.is_reply and request_id in str(message.blocks) and _has_buttons(message):
                return message
        return None

    return await stage.slack.wait_for(find)


def _has_buttons(message: PostedMessage) -> bool:
    return any(block.get("type") == "actions" for block in message.blocks)


def current(stage: Stage, message: PostedMessage) -> PostedMessage:
    """The message as it looks now (after chat.update)."""
    for candidate in stage.slack.messages(message.channel):
        if candidate.ts == message.ts:
            return candidate
    raise AssertionError(f"message {message.ts} is gone")


def dm_texts(stage: Stage, user_id: str) -> list[str]:
    """The fallback text of every DM the bot sent ``user_id``, oldest first."""
    return [m.text for m in stage.slack.dms(user_id) if not m.is_reply]
