"""The simulated workspace's memory: people, channels, messages, views, triggers, response URLs.

Not thread-safe on its own: ``SimulatedSlack`` holds a lock around every use.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack_limits import RateLimits
from bot.sandbox.slack_records import ApiCall, PostedMessage, ResponsePost, SlackUser

JsonDict = dict[str, Any]
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_USES = 5


class SlackFailure(Exception):
    """A Web API error answer: ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Trigger:
    """A trigger_id handed to the app with an interaction."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url posts: the person, the channel and the message it came from."""

    user: str
    channel: str
    source_ts: str | None
    ephemeral: bool
    uses: int = 0


@dataclass(frozen=True)
class Fault:
    """An injected failure for the next call of one method."""

    status: int
    error: str
    retry_after: int | None = None
    channel: str | None = None  # only a call about this channel (None: any call)


@dataclass
class StoredView:
    """A modal or Home tab: its Slack payload plus what the person typed and the errors shown."""

    payload: JsonDict
    user: str
    touched: set[tuple[str, str]] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    closed: bool = False


class SlackState:
    """Everything the simulated workspace knows."""

    def __init__(
        self,
        *,
        team_id: str,
        bot_user_id: str,
        app_id: str,
        clock: Callable[[], float],
        rate_limits: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_id.lower()
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = app_id
        self.clock = clock
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, str] = {}
        self.usergroups: dict[str, list[str]] = {}  # S… id -> member ids
        self.ims: dict[str, str] = {}
        self.messages: dict[str, list[PostedMessage]] = defaultdict(list)
        self.ephemerals: dict[str, list[PostedMessage]] = defaultdict(list)
        self.responses: dict[str, list[ResponsePost]] = defaultdict(list)
        self.views: dict[str, StoredView] = {}
        # Views whose submission awaits the app's answer: Slack applies that answer (its
        # response_action) before any views.update the app sends after answering.
        self.submitting: dict[str, threading.Event] = {}
        self.stacks: dict[str, list[str]] = defaultdict(list)
        self.homes: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.calls: list[ApiCall] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.limits = RateLimits(clock, enabled=rate_limits)
        self._last_ts_us = 0
        self._counters: dict[str, int] = defaultdict(int)
        self._rng = random.Random(team_id)

    # ids and timestamps

    def next_ts(self) -> str:
        """A message ts: wall-clock microseconds, strictly increasing."""
        now_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        """A sequential Slack-style id such as ``V00000001``."""
        self._counters[prefix] += 1
        return f"{prefix}{self._counters[prefix]:08X}"

    def random_id(self, length: int = 5) -> str:
        """A short id like the ones Slack gives blocks sent without one (seeded, repeatable)."""
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=length))

    def new_hash(self) -> str:
        """A view hash in Slack's ``<seconds>.<random>`` form."""
        return f"{int(time.time())}.{self.random_id(8)}"

    # people and conversations

    def user(self, user_id: str) -> SlackUser:
        """The member ``user_id``, or ``user_not_found``."""
        found = self.users.get(user_id)
        if found is None:
            raise SlackFailure("user_not_found")
        return found

    def im_of(self, user_id: str) -> str:
        """The IM channel between the bot and ``user_id``, opened on first use."""
        self.user(user_id)
        self.ims[user_id] = self.im_id(user_id)
        return self.ims[user_id]

    def im_id(self, user_id: str) -> str:
        """The id of the IM with ``user_id``, whether or not it is open yet."""
        # Derived from the user id so transcripts stay readable (U0ALICE -> D0ALICE).
        return self.ims.get(user_id, "D" + user_id[1:])

    def im_owner(self, channel: str) -> str | None:
        """The person whose IM with the bot is ``channel``."""
        return next((u for u, c in self.ims.items() if c == channel), None)

    def resolve_channel(self, channel: str | None) -> str:
        """A channel id the bot may post to; a user id means that person's IM."""
        if not channel:
            raise SlackFailure("channel_not_found")
        if channel in self.users:
            return self.im_of(channel)
        if channel in self.channels or self.im_owner(channel) is not None:
            return channel
        raise SlackFailure("channel_not_found")

    def known_channel(self, channel: str | None) -> str:
        """``channel`` if it is a channel or IM id (not a user id), else ``channel_not_found``."""
        if channel and (channel in self.channels or self.im_owner(channel) is not None):
            return channel
        raise SlackFailure("channel_not_found")

    def channel_name(self, channel: str) -> str:
        """What Slack calls ``channel`` in payloads."""
        return self.channels.get(channel, "directmessage")

    # messages

    def find_message(self, channel: str, ts: str | None) -> tuple[int, PostedMessage]:
        """The live message ``ts`` in ``channel``, or ``message_not_found``."""
        for index, message in enumerate(self.messages.get(channel, [])):
            if message.ts == ts and not message.deleted:
                return index, message
        raise SlackFailure("message_not_found")

    def replace_message(self, channel: str, index: int, message: PostedMessage) -> None:
        """Store a new version of the message at ``index``."""
        self.messages[channel][index] = message

    def find_ephemeral(self, user: str, ts: str | None) -> tuple[int, PostedMessage] | None:
        """The ephemeral message ``ts`` shown to ``user``."""
        for index, message in enumerate(self.ephemerals.get(user, [])):
            if message.ts == ts and not message.deleted:
                return index, message
        return None

    # triggers and response URLs

    def issue_trigger(self, user_id: str) -> str:
        """A fresh trigger_id for an interaction by ``user_id``."""
        trigger_id = f"{self.next_ts().replace('.', '')}.{self.random_id(10)}"
        self.triggers[trigger_id] = Trigger(user=user_id, issued_at=self.clock())
        return trigger_id

    def use_trigger(self, trigger_id: str | None) -> str:
        """Spend ``trigger_id``; the user it belongs to, or Slack's error."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None or trigger.used:
            raise SlackFailure("invalid_trigger_id")
        if self.clock() - trigger.issued_at >= TRIGGER_TTL_SECONDS:
            raise SlackFailure("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def issue_response_target(
        self, user: str, channel: str, source_ts: str | None, *, ephemeral: bool
    ) -> str:
        """A token for a response_url bound to this person, channel and source message."""
        token = self.random_id(24)
        self.response_targets[token] = ResponseTarget(user, channel, source_ts, ephemeral)
        return token

    def rate_limited(self, method: str, args: JsonDict | None = None) -> int | None:
        """Seconds to wait when this call is over Slack's limit (the call is refused); else None.

        chat.postMessage counts per channel: a person's id and their IM are one channel.
        """
        channel = (args or {}).get("channel")
        if isinstance(channel, str) and channel in self.users:
            channel = self.im_id(channel)
        return self.limits.check(method, channel if isinstance(channel, str) else None)

    def take_fault(self, method: str, args: JsonDict | None = None) -> Fault | None:
        """The next injected failure for ``method`` (and the call's channel), if any."""
        queue = self.faults.get(method) or deque()
        channel = (args or {}).get("channel")
        for fault in queue:
            if fault.channel is None or fault.channel == channel:
                queue.remove(fault)
                return fault
        return None
