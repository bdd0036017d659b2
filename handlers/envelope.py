"""The outer shape of every Slack payload, checked before Bolt or a listener reads it.

Bolt's matchers and argument builders index into payloads (``body["actions"][0]``,
``user.get("id")``) and crash on a malformed one; a listener would crash the same way. These
models say which fields the bot reads and what they must look like; a payload that does not
fit is answered with a clear message and never reaches a listener.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.policy import SLACK_USER_ID
from handlers.views.request_modal import build_unavailable_modal

log = logging.getLogger(__name__)

UNREADABLE_TEXT = (
    "Sorry, I could not read that request from Slack, so nothing was changed. "
    "Please try again; if it keeps happening, tell your Salesforce admin."
)

UserId = Annotated[str, Field(pattern=SLACK_USER_ID.pattern, max_length=32)]
# Ids, hashes, trigger ids, action and callback ids: Slack caps them at 255 characters.
Short = Annotated[str, Field(max_length=255)]
# Button values, typed option searches and URLs: 2000 is Slack's cap on a button value.
Value = Annotated[str, Field(max_length=2000)]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://[^\s]+$")]
# Slack's trigger ids are dot-separated digits and letters (``12345.98765.abcd``).
TriggerId = Annotated[str, Field(max_length=255, pattern=r"^[0-9]+(\.[0-9A-Za-z]+)+$")]


class _Shape(BaseModel):
    # strict: a number where Slack sends text is a forged payload, not something to coerce.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class _Payload(_Shape):
    """Top-level fields Bolt reads from any payload to build its request context."""

    team: dict[str, Any] | str | None = None
    enterprise: dict[str, Any] | str | None = None
    authorizations: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    # Bolt takes len() of it and .get() on its first entry: a list of objects, never null.
    response_urls: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    is_ext_shared_channel: bool | None = None


class UserRef(_Shape):
    """``user`` of an interaction."""

    id: UserId


class ChannelRef(_Shape):
    """``channel`` of a message interaction."""

    id: Short


class Container(_Shape):
    """Where the clicked element sits: a message or a view."""

    type: Short
    channel_id: Short | None = None
    message_ts: Short | None = None
    view_id: Short | None = None


class SelectedOption(_Shape):
    """One picked option of a select."""

    value: Value


class Action(_Shape):
    """``actions[i]`` of a block_actions payload."""

    action_id: Short
    block_id: Short | None = None
    type: Short | None = None
    value: Value | None = None
    selected_option: SelectedOption | None = None
    selected_options: list[SelectedOption] | None = Field(default=None, max_length=100)


class ViewState(_Shape):
    """``view.state``: block_id -> action_id -> the element's state."""

    values: dict[Short, dict[Short, dict[str, Any]]]


class ViewRef(_Shape):
    """A modal or Home tab as Slack sends it back."""

    id: Short
    type: Short | None = None
    hash: Short | None = None
    callback_id: Short | None = None
    private_metadata: Annotated[str, Field(max_length=3000)] = ""
    state: ViewState | None = None
    blocks: list[dict[str, Any]] | None = Field(default=None, max_length=100)


class BlockActions(_Payload):
    """A click or pick in a message, modal or Home tab."""

    type: Literal["block_actions"]
    user: UserRef
    actions: list[Action] = Field(min_length=1, max_length=25)
    container: Container | None = None
    channel: ChannelRef | None = None
    view: ViewRef | None = None
    message: dict[str, Any] | None = None
    trigger_id: TriggerId | None = None
    response_url: Url | None = None


class ViewPayload(_Payload):
    """A modal submitted or closed."""

    channel: dict[str, Any] | str | None = None
    type: Literal["view_submission", "view_closed"]
    user: UserRef
    view: ViewRef
    trigger_id: TriggerId | None = None


class BlockSuggestion(_Payload):
    """An external select asking for options."""

    channel: dict[str, Any] | str | None = None
    type: Literal["block_suggestion"]
    user: UserRef
    action_id: Short
    block_id: Short | None = None
    value: Value = ""
    view: ViewRef | None = None


class SlashCommand(_Payload):
    """The slash command's form body."""

    command: Short
    user_id: UserId
    text: Annotated[str, Field(max_length=4000)] = ""
    channel_id: Short
    trigger_id: TriggerId
    response_url: Url


class EventUser(_Shape):
    """The member object of ``user_change``."""

    id: UserId
    deleted: bool = False


class InnerEvent(_Shape):
    """``event`` of an Events API delivery (per-type fields checked below)."""

    type: Short


class AppHomeOpened(InnerEvent):
    """``app_home_opened``."""

    user: UserId
    tab: Short | None = None


class UserChange(InnerEvent):
    """``user_change``."""

    user: EventUser


class EventCallback(_Payload):
    """An Events API delivery."""

    channel: dict[str, Any] | str | None = None
    type: Literal["event_callback"]
    event_id: Short
    event: InnerEvent


class OtherPayload(_Payload):
    """Any other payload (a shortcut, a kind no listener handles): what Bolt reads of it."""

    user: dict[str, Any] | str | None = None
    channel: dict[str, Any] | str | None = None
    event: dict[str, Any] | None = None


_EVENTS: dict[str, type[InnerEvent]] = {
    "app_home_opened": AppHomeOpened,
    "user_change": UserChange,
}
_PAYLOADS: dict[str, type[_Payload]] = {
    "block_actions": BlockActions,
    "view_submission": ViewPayload,
    "view_closed": ViewPayload,
    "block_suggestion": BlockSuggestion,
    "event_callback": EventCallback,
}


def envelope_problem(body: object) -> str | None:
    """Why ``body`` is not a payload the bot can read (field locations only), or None."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    kind = body.get("type")
    model: type[_Payload] = OtherPayload  # url_verification, a shortcut, anything unhandled
    if "command" in body:
        model = SlashCommand
    elif isinstance(kind, str):
        model = _PAYLOADS.get(kind, OtherPayload)
    try:
        model.model_validate(body)
        if model is EventCallback:
            event = body["event"]
            inner = _EVENTS.get(event["type"])
            if inner is not None:
                inner.model_validate(event)
    except ValidationError as error:
        # Locations, not values: the values may be hostile or personal.
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['type']}" for e in error.errors()[:5]
        )
    return None


def user_of(body: object) -> str | None:
    """The Slack user who sent ``body``, when one can be read safely."""
    if not isinstance(body, dict):
        return None
    user = body.get("user")
    candidate = user.get("id") if isinstance(user, dict) else body.get("user_id")
    if isinstance(candidate, str) and len(candidate) <= 32 and SLACK_USER_ID.match(candidate):
        return candidate
    return None


def answer_for(body: object, text: str) -> dict[str, Any] | None:
    """The immediate HTTP answer that shows ``text`` to the sender, where Slack shows one.

    A command's answer is an ephemeral reply; a submitted modal turns into a notice; an
    options request gets no options. Clicks and events show nothing (None).
    """
    if not isinstance(body, dict):
        return None
    if "command" in body:
        return {"response_type": "ephemeral", "text": text}
    kind = body.get("type")
    if kind == "view_submission":
        return {"response_action": "update", "view": build_unavailable_modal(text).to_dict()}
    if kind == "block_suggestion":
        return {"options": []}
    return None


def unreadable_answer(body: object) -> dict[str, Any] | None:
    """``answer_for`` a payload that could not be read."""
    return answer_for(body, UNREADABLE_TEXT)


async def tell_unreadable(client: AsyncWebClient, body: object) -> None:
    """DM the person who clicked that their click could not be read (best effort)."""
    user = user_of(body)
    if user is None or not isinstance(body, dict) or body.get("type") != "block_actions":
        return  # modals and commands show the answer itself; events have no one to tell
    try:
        await client.chat_postMessage(channel=user, text=UNREADABLE_TEXT)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user, error.response.get("error"))


class EnvelopeCheck(AsyncMiddleware):
    """A Bolt middleware (a class, so Bolt builds no listener arguments from a bad payload)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        """Answer a malformed payload at once; pass a well-formed one on."""
        problem = envelope_problem(req.body)
        if problem is None:
            return await next()
        log.warning("unreadable Slack payload (%s)", problem)
        await tell_unreadable(self._client, req.body)
        return BoltResponse(status=200, body=unreadable_answer(req.body) or "")
