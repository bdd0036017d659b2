"""The people's side of the simulated workspace: signed Slack requests into the running app.

Each method does what a person's click or keystroke makes Slack do: build the payload Slack
would send, sign it with the app's signing secret, post it, and apply what Slack does with
the app's immediate answer (close or update a modal, show a command's reply).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.slack_blocks import (
    Choice,
    Located,
    find_element,
    options_of,
    selection_entry,
    state_entry,
)
from bot.sandbox.slack_records import PostedMessage, SlackUser
from bot.sandbox.slack_signing import Reply, SignedSender
from bot.sandbox.slack_socket import EnvelopeType
from bot.sandbox.slack_submit import missing_inputs

__all__ = ["InvalidSubmission", "Reply", "Workspace"]

JsonDict = dict[str, Any]
FORM = "application/x-www-form-urlencoded"
TEXT_INPUTS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})


class InvalidSubmission(ValueError):
    """Slack's client would refuse this submission (a required input is empty, ...)."""


class Workspace:
    """Sends what people do in Slack to the app: signed to ``app_url``, or over Socket Mode."""

    def __init__(
        self,
        *,
        app_url: str,
        signing_secret: str,
        slack: SimulatedSlack,
        command: str = "/salesforce",
        socket_mode: bool = False,
    ) -> None:
        self.app_url = app_url
        self.slack = slack
        self.command = command
        # In Socket Mode Slack sends the same payloads in envelopes over the app's link.
        self.socket_mode = socket_mode
        self._sender = SignedSender(app_url, signing_secret)
        self._loaded_options: dict[tuple[str, str], list[JsonDict]] = {}
        self._event_count = 0

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._sender.aclose()

    async def __aenter__(self) -> Workspace:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # what people do

    async def slash(self, user_id: str, text: str = "", *, channel_id: str | None = None) -> Reply:
        """Run the slash command; its immediate reply shows as Slack would show it."""
        user = self._user(user_id)
        channel = channel_id or self.slack.dm_channel(user_id)
        response_url = self.slack.issue_response_url(user_id, channel, ephemeral=True)
        body = payloads.slash_form(
            self._team(),
            user,
            command=self.command,
            text=text,
            channel_id=channel,
            channel_name=self.slack.channel_name(channel),
            response_url=response_url,
            trigger_id=self.slack.issue_trigger(user_id),
        )
        if self.socket_mode:
            reply = await self._envelope("slash_commands", dict(parse_qsl(body, True)))
        else:
            reply = await self.post_raw(body.encode(), content_type=FORM)
        if reply.status == 200 and reply.body.strip():
            parsed = reply.json_or_none()
            shown = parsed if isinstance(parsed, dict) else {"text": reply.body}
            self.slack.show_command_reply(response_url, shown)
        return reply

    async def click(
        self,
        user_id: str,
        message: PostedMessage,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
    ) -> Reply:
        """Click a button (``value`` picks among equal action_ids) or pick in a message's select."""
        user = self._user(user_id)
        loc = find_element(message.blocks, action_id, block_id=block_id, value=value)
        entry = None if loc.kind == "button" else selection_entry(loc.element, value)
        response_url = self.slack.issue_response_url(
            user_id, message.channel, message.ts, ephemeral=message.is_ephemeral
        )
        payload = payloads.message_actions(
            self._team(),
            user,
            message,
            payloads.action_of(loc, entry),
            channel_name=self.slack.channel_name(message.channel),
            trigger_id=self.slack.issue_trigger(user_id),
            response_url=response_url,
        )
        return await self._interact(payload)

    async def pick(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: Choice,
        *,
        block_id: str | None = None,
    ) -> Reply:
        """Pick in a select that dispatches block_actions (``dispatch_action`` or actions block)."""
        loc = self._locate(view_id, action_id, block_id)
        if not loc.dispatches:
            raise ValueError(f"{action_id!r} sends nothing when picked; use choose()")
        entry = self._entry(view_id, loc, value)
        if payloads.holds_value(loc):
            self.slack.set_view_entry(view_id, loc.block_id, action_id, entry)
        return await self._view_action(user_id, view_id, payloads.action_of(loc, entry))

    async def press(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
    ) -> Reply:
        """Press a button inside a modal or Home tab."""
        view = self._view(view_id)
        loc = find_element(view["blocks"], action_id, block_id=block_id, value=value)
        return await self._view_action(user_id, view_id, payloads.action_of(loc, None))

    async def type(
        self, user_id: str, view_id: str, action_id: str, text: str, *, block_id: str | None = None
    ) -> None:
        """Type into a text input of an open view (Slack sends nothing until submit)."""
        loc = self._locate(view_id, action_id, block_id)
        if loc.kind not in TEXT_INPUTS:
            raise ValueError(f"{action_id!r} is a {loc.kind}, not a text input")
        self.slack.set_view_entry(view_id, loc.block_id, action_id, state_entry(loc.element, text))

    async def choose(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: Choice,
        *,
        block_id: str | None = None,
    ) -> None:
        """Pick in a select that sends nothing until submit."""
        loc = self._locate(view_id, action_id, block_id)
        entry = self._entry(view_id, loc, value)
        self.slack.set_view_entry(view_id, loc.block_id, action_id, entry)

    async def submit(
        self,
        user_id: str,
        view_id: str,
        values: Mapping[str, Choice] | None = None,
        **overrides: Choice,
    ) -> Reply:
        """Submit the modal; ``values``/``overrides`` (action_id -> value) are entered first."""
        for action_id, choice in {**(values or {}), **overrides}.items():
            await self.choose(user_id, view_id, action_id, choice)
        view = self._view(view_id)
        top = self.slack.open_view(user_id)
        if top is None or top["id"] != view_id:
            raise InvalidSubmission(f"{view_id} is not the modal {user_id} has open")
        problems = missing_inputs(view)
        if problems:
            raise InvalidSubmission("; ".join(problems))
        payload = payloads.view_submission(
            self._team(), self._user(user_id), view, trigger_id=self.slack.issue_trigger(user_id)
        )
        self.slack.begin_submission(view_id)
        try:
            reply = await self._interact(payload)
            if reply.status == 200:
                self.slack.apply_submission_reply(user_id, view_id, reply.json_or_none())
        finally:
            self.slack.end_submission(view_id)
        return reply

    async def close(self, user_id: str, view_id: str) -> Reply | None:
        """Close the modal; the app hears of it only when the view asked (``notify_on_close``)."""
        view = self._view(view_id)
        self.slack.close_view(user_id, view_id)
        if not view.get("notify_on_close"):
            return None
        return await self._interact(payloads.view_closed(self._team(), self._user(user_id), view))

    async def suggest(self, user_id: str, view_id: str, action_id: str, query: str) -> Reply:
        """Type ``query`` into an external select; the options the app returns become pickable."""
        view = self._view(view_id)
        loc = find_element(view["blocks"], action_id)
        payload = payloads.block_suggestion(self._team(), self._user(user_id), view, loc, query)
        reply = await self._interact(payload)
        answer = reply.json_or_none()
        if reply.status == 200 and isinstance(answer, dict):
            self._loaded_options[(view_id, action_id)] = options_of(answer)
        return reply

    async def event(
        self,
        event: JsonDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Reply:
        """Deliver an Events API event (a retry repeats the ``event_id`` with retry headers)."""
        if event_id is None:
            self._event_count += 1
            event_id = f"Ev{self._event_count:08d}"
        body = payloads.event_envelope(self._team(), event, event_id=event_id)
        if self.socket_mode:
            return await self._envelope("events_api", body, retry_attempt=retry_num or 0)
        headers = {}
        if retry_num is not None:
            headers = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": retry_reason}
        raw = json.dumps(body).encode()
        return await self.post_raw(raw, content_type="application/json", headers=headers)

    async def open_home(self, user_id: str) -> Reply:
        """The person opens the app's Home tab."""
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.slack.dm_channel(user_id),
            "tab": "home",
        }
        home = self.slack.home(user_id)
        if home is not None:
            event["view"] = home
        return await self.event(event)

    async def deactivate(self, user_id: str) -> Reply:
        """An admin deactivates the person's Slack account: ``user_change`` with deleted=true."""
        user = self.slack.set_deleted(user_id, True)
        return await self.event({"type": "user_change", "user": user, "cache_ts": int(time.time())})

    async def post_raw(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: str | int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST ``body`` to the app, signed unless ``signature`` is given (bad-request tests)."""
        return await self._sender.post(
            body,
            content_type=content_type,
            timestamp=timestamp,
            signature=signature,
            headers=headers,
        )

    # helpers

    def _team(self) -> payloads.Team:
        slack = self.slack
        return payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)

    def _user(self, user_id: str) -> SlackUser:
        user = self.slack.user(user_id)
        if user is None:
            raise LookupError(f"no member {user_id} in the simulated workspace")
        return user

    def _view(self, view_id: str) -> JsonDict:
        view = self.slack.view(view_id)
        if view is None:
            raise LookupError(f"no view {view_id}")
        return view

    def _locate(self, view_id: str, action_id: str, block_id: str | None) -> Located:
        return find_element(self._view(view_id)["blocks"], action_id, block_id=block_id)

    def _entry(self, view_id: str | None, loc: Located, value: Choice) -> JsonDict:
        loaded = self._loaded_options.get((view_id or "", loc.action_id), [])
        return state_entry(loc.element, value, loaded)

    async def _view_action(self, user_id: str, view_id: str, action: JsonDict) -> Reply:
        payload = payloads.view_actions(
            self._team(),
            self._user(user_id),
            self._view(view_id),
            action,
            trigger_id=self.slack.issue_trigger(user_id),
        )
        return await self._interact(payload)

    async def _interact(self, payload: JsonDict) -> Reply:
        if self.socket_mode:
            return await self._envelope("interactive", payload)
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post_raw(body.encode(), content_type=FORM)

    async def _envelope(
        self, kind: EnvelopeType, payload: JsonDict, *, retry_attempt: int = 0
    ) -> Reply:
        """Deliver over the Socket Mode link; the ack's payload reads as an HTTP answer would."""
        started = time.monotonic()
        sent = self.slack.socket_mode.deliver(kind, payload, retry_attempt=retry_attempt)
        answer = await asyncio.wrap_future(sent)  # NoAck when the app never acknowledged it
        body = json.dumps(answer) if answer is not None else ""
        return Reply(status=200, body=body, elapsed=time.monotonic() - started)
