"""A simulated Slack Web API on 127.0.0.1, reached with ``AsyncWebClient(base_url=api_url)``.

It answers the methods the bot uses with Slack's response shapes, records every call and keeps
what each person would see: DMs, channel messages, ephemeral replies, modals and Home tabs.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from bot.sandbox.slack_http import SlackHttp
from bot.sandbox.slack_methods import user_object
from bot.sandbox.slack_records import ApiCall, PostedMessage, ResponsePost, SlackUser
from bot.sandbox.slack_responses import show_reply
from bot.sandbox.slack_server import BackgroundServer
from bot.sandbox.slack_socket import SocketModeHub
from bot.sandbox.slack_state import Fault, JsonDict, SlackState
from bot.sandbox.slack_views import apply_submission_reply, close_view, set_entry

T = TypeVar("T")
_FAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


class SimulatedSlack:
    """One Slack workspace with the bot installed, served over HTTP from a background thread."""

    def __init__(
        self,
        *,
        team_id: str = "T0DEMO",
        bot_user_id: str = "U0BOT",
        bot_token: str = "xoxb-demo",  # noqa: S107 - a made-up token the simulator accepts
        app_token: str = "xapp-1-A0DEMO-1-demo",  # noqa: S107 - likewise, for Socket Mode
        app_id: str = "A0DEMO",
        bot_name: str = "accessbot",
        clock: Callable[[], float] = time.monotonic,
        rate_limits: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_mode = SocketModeHub(app_id=app_id)
        self._lock = threading.RLock()
        self._state = SlackState(
            team_id=team_id,
            bot_user_id=bot_user_id,
            app_id=app_id,
            clock=clock,
            rate_limits=rate_limits,
        )
        self._state.users[bot_user_id] = SlackUser(
            id=bot_user_id, name=bot_name, real_name=bot_name, is_bot=True, email=None
        )
        http = SlackHttp(
            self._state, self._lock, bot_token, app_token=app_token, socket_mode=self.socket_mode
        )
        self._server = BackgroundServer(http.application, name="simulated-slack")

    # lifecycle

    def start(self) -> None:
        """Serve the Web API (and the Socket Mode link) on a free port of 127.0.0.1."""
        self._server.start()
        self.socket_mode.url_base = f"ws://127.0.0.1:{self._server.port}/link/"

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> SimulatedSlack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``AsyncWebClient(base_url=...)``; ends with ``/api/``."""
        return f"{self.base_url}/api/"

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self._state.team_id

    @property
    def team_domain(self) -> str:
        """The workspace's subdomain."""
        return self._state.team_domain

    @property
    def app_id(self) -> str:
        """The app's id."""
        return self._state.app_id

    @property
    def bot_user_id(self) -> str:
        """The bot user's id."""
        return self._state.bot_user_id

    # the workspace's people and channels

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str,
        email: str | None,
        tz: str = "Europe/Paris",
        locale: str = "en-US",
        deleted: bool = False,
        display_name: str = "",
        is_bot: bool = False,
        guest: bool = False,
    ) -> None:
        """Add (or replace) a member (``guest``: a multi-channel guest, ``is_restricted``)."""
        user = SlackUser(
            id=user_id,
            name=name,
            real_name=real_name,
            display_name=display_name,
            email=email,
            tz=tz,
            locale=locale,
            deleted=deleted,
            is_bot=is_bot,
            is_restricted=guest,
        )
        with self._lock:
            self._state.users[user_id] = user

    def set_usergroup(self, group_id: str, members: list[str]) -> None:
        """Create or refill a user group (``S…``) with these member ids."""
        with self._lock:
            self._state.usergroups[group_id] = list(members)

    def add_channel(self, channel_id: str, name: str) -> None:
        """Add a channel the bot is a member of (approval channels, for instance)."""
        with self._lock:
            self._state.channels[channel_id] = name

    def set_deleted(self, user_id: str, deleted: bool = True) -> JsonDict:
        """Deactivate (or reactivate) a member; the user object for a ``user_change`` event."""
        with self._lock:
            user = self._state.user(user_id).model_copy(update={"deleted": deleted})
            self._state.users[user_id] = user
            return user_object(self._state, user, include_locale=True)

    def set_email(self, user_id: str, email: str | None) -> None:
        """Change what users.info shares as ``profile.email``; None leaves it out, as Slack does
        for some guests and for every member when the app lacks ``users:read.email``."""
        with self._lock:
            self._state.users[user_id] = self._state.user(user_id).model_copy(
                update={"email": email}
            )

    def user(self, user_id: str) -> SlackUser | None:
        """The member ``user_id``."""
        with self._lock:
            return self._state.users.get(user_id)

    def name_of(self, user_id: str) -> str | None:
        """The name Slack shows for ``user_id`` (for rendering mentions)."""
        found = self.user(user_id)
        return found.shown_name if found else None

    def channel_name(self, channel_id: str) -> str:
        """What Slack calls the channel in payloads (``directmessage`` for IMs)."""
        with self._lock:
            return self._state.channel_name(channel_id)

    # what happened

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every Web API call received so far, or those of one method."""
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def rate_limited_calls(self, method: str | None = None) -> list[ApiCall]:
        """The calls answered 429 so far (Slack's limits or an injected 429), or one method's."""
        return [c for c in self.calls(method) if c.status == 429]

    def set_rate_limits(self, *, enabled: bool) -> None:
        """Apply Slack's rate limits (the default) or answer every call at once."""
        with self._lock:
            self._state.limits.enabled = enabled

    def messages(self, channel: str) -> list[PostedMessage]:
        """The channel's messages as they look now (updated, deleted ones left out)."""
        with self._lock:
            channel_id = self._state.ims.get(channel, channel)
            listing = self._state.messages.get(channel_id, [])
            return [m.model_copy(deep=True) for m in listing if not m.deleted]

    def dm_channel(self, user_id: str) -> str:
        """The IM channel between the bot and ``user_id``."""
        with self._lock:
            return self._state.im_of(user_id)

    def dms(self, user_id: str) -> list[PostedMessage]:
        """The bot's messages in its IM with ``user_id``."""
        return self.messages(self.dm_channel(user_id))

    def ephemerals(self, user_id: str) -> list[PostedMessage]:
        """Ephemeral messages shown to ``user_id`` as they look now."""
        with self._lock:
            listing = self._state.ephemerals.get(user_id, [])
            return [m.model_copy(deep=True) for m in listing if not m.deleted]

    def responses(self, user_id: str) -> list[ResponsePost]:
        """Every post to a response_url that belongs to ``user_id``."""
        with self._lock:
            return [r.model_copy(deep=True) for r in self._state.responses.get(user_id, [])]

    def view(self, view_id: str) -> JsonDict | None:
        """The view ``view_id`` (open or not) with its current state."""
        with self._lock:
            stored = self._state.views.get(view_id)
            return copy.deepcopy(stored.payload) if stored else None

    def open_view(self, user_id: str) -> JsonDict | None:
        """The modal on top of ``user_id``'s stack."""
        with self._lock:
            stack = self._state.stacks.get(user_id) or []
            return copy.deepcopy(self._state.views[stack[-1]].payload) if stack else None

    def view_errors(self, view_id: str) -> dict[str, str]:
        """The errors shown under the view's inputs after the last submission."""
        with self._lock:
            stored = self._state.views.get(view_id)
            return dict(stored.errors) if stored else {}

    def home(self, user_id: str) -> JsonDict | None:
        """The Home tab published for ``user_id``."""
        with self._lock:
            view_id = self._state.homes.get(user_id)
            return copy.deepcopy(self._state.views[view_id].payload) if view_id else None

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors asyncio.wait_for
        interval: float = 0.01,
    ) -> T:
        """Poll ``predicate`` from the caller's loop until it returns something truthy."""
        async with asyncio.timeout(timeout):
            # Changes arrive from the server thread and from the app; polling sees both.
            while not (result := predicate()):  # noqa: ASYNC110
                await asyncio.sleep(interval)
        return result

    # what the people's side (the driver) does

    def issue_trigger(self, user_id: str) -> str:
        """A fresh trigger_id for an interaction by ``user_id`` (valid once, for 3 s)."""
        with self._lock:
            return self._state.issue_trigger(user_id)

    def issue_response_url(
        self, user_id: str, channel: str, source_ts: str | None = None, *, ephemeral: bool = False
    ) -> str:
        """A response_url for an interaction by ``user_id`` in ``channel``."""
        with self._lock:
            token = self._state.issue_response_target(
                user_id, channel, source_ts, ephemeral=ephemeral
            )
        return f"{self.base_url}/response/{token}"

    def show_command_reply(self, response_url: str, reply: JsonDict) -> None:
        """Show what the app answered a slash command with, as Slack does with its ack body."""
        token = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            target = self._state.response_targets.get(token)
            if target is not None:
                show_reply(self._state, target, reply)

    def set_view_entry(self, view_id: str, block_id: str, action_id: str, entry: JsonDict) -> None:
        """Record what a person typed or picked in one element of an open view."""
        with self._lock:
            set_entry(self._state, view_id, block_id, action_id, copy.deepcopy(entry))

    def begin_submission(self, view_id: str) -> None:
        """A submission of ``view_id`` is on its way to the app; its answer comes first."""
        with self._lock:
            self._state.submitting[view_id] = threading.Event()

    def apply_submission_reply(self, user_id: str, view_id: str, reply: Any) -> None:
        """Do what the app's answer to a view submission asks (close, errors, update, ...)."""
        with self._lock:
            apply_submission_reply(self._state, user_id, view_id, reply)
            self.end_submission(view_id)

    def end_submission(self, view_id: str) -> None:
        """The submission of ``view_id`` was answered (or failed): updates may go ahead."""
        with self._lock:
            done = self._state.submitting.pop(view_id, None)
        if done is not None:
            done.set()

    def close_view(self, user_id: str, view_id: str) -> None:
        """The person closed the modal ``view_id``."""
        with self._lock:
            close_view(self._state, user_id, view_id)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        *,
        channel: str | None = None,
    ) -> None:
        """Make the next call of ``method`` fail with ``status`` (429 carries ``Retry-After``).

        With ``channel``, only the next call naming that channel fails; others go through.
        """
        fault = Fault(
            status=status,
            error=error or _FAULT_ERRORS.get(status, "fatal_error"),
            retry_after=retry_after if status == 429 else None,
            channel=channel,
        )
        with self._lock:
            self._state.faults[method].append(fault)
