"""Slack's Web API rate limits, as the simulated workspace applies them.

Slack limits each method per app per workspace by tier (about 1, 20, 50 or 100 calls a
minute, with bursts), and chat.postMessage by channel: about one message a second, short
bursts allowed. Past a limit Slack answers HTTP 429 ``{"ok": false, "error": "ratelimited"}``
with ``Retry-After`` in whole seconds. Each limit here is a token bucket on the simulator's
clock: it holds a minute's worth of calls (a few messages for a channel) and refills evenly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


class Tier(IntEnum):
    """Slack's Web API rate-limit tiers."""

    TIER_1 = 1
    TIER_2 = 2
    TIER_3 = 3
    TIER_4 = 4


# Calls a minute each tier allows; the bucket holds as many, so a quiet app may burst that far.
PER_MINUTE = {Tier.TIER_1: 1, Tier.TIER_2: 20, Tier.TIER_3: 50, Tier.TIER_4: 100}

# Each method the simulator answers, with the tier Slack's method reference gives it.
# auth.test and chat.getPermalink are "special" (generous, unpublished): left unlimited here.
# chat.postMessage is special too: limited per channel below.
METHOD_TIERS: dict[str, Tier] = {
    "users.info": Tier.TIER_4,
    "users.list": Tier.TIER_2,
    "usergroups.users.list": Tier.TIER_2,
    "users.lookupByEmail": Tier.TIER_3,
    "conversations.open": Tier.TIER_3,
    "chat.update": Tier.TIER_3,
    "chat.delete": Tier.TIER_3,
    "chat.postEphemeral": Tier.TIER_4,
    "views.open": Tier.TIER_4,
    "views.push": Tier.TIER_4,
    "views.update": Tier.TIER_4,
    "views.publish": Tier.TIER_4,
}

POST_MESSAGE = "chat.postMessage"
POST_MESSAGE_PER_SECOND = 1.0
# "Short bursts >1 allowed": a channel quiet for a while takes this many messages at once.
POST_MESSAGE_BURST = 3


@dataclass
class TokenBucket:
    """``capacity`` calls at once, refilled at ``per_second``; starts full."""

    capacity: float
    per_second: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: float, per_second: float, now: float) -> TokenBucket:
        """A bucket that has been idle long enough to allow a whole burst."""
        return cls(capacity=capacity, per_second=per_second, tokens=capacity, updated=now)

    def take(self, now: float) -> int | None:
        """Spend one call; None when allowed, else the whole seconds until one is back."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        # Rounded up to whole seconds, as Slack sends it (less a hair of float error).
        return max(1, math.ceil((1.0 - self.tokens) / self.per_second - 1e-9))


class RateLimits:
    """The workspace's buckets: one per limited method, one per channel for chat.postMessage."""

    def __init__(self, clock: Callable[[], float], *, enabled: bool = True) -> None:
        self.clock = clock
        self.enabled = enabled
        self._methods: dict[str, TokenBucket] = {}
        self._channels: dict[str, TokenBucket] = {}

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Seconds to wait when this call is over its limit (it is refused); else None."""
        if not self.enabled:
            return None
        now = self.clock()
        if method == POST_MESSAGE:
            if not channel:
                return None  # refused as channel_not_found before it counts
            bucket = self._channels.get(channel)
            if bucket is None:
                bucket = TokenBucket.full(POST_MESSAGE_BURST, POST_MESSAGE_PER_SECOND, now)
                self._channels[channel] = bucket
            return bucket.take(now)
        tier = METHOD_TIERS.get(method)
        if tier is None:
            return None
        bucket = self._methods.get(method)
        if bucket is None:
            per_minute = PER_MINUTE[tier]
            bucket = TokenBucket.full(per_minute, per_minute / 60.0, now)
            self._methods[method] = bucket
        return bucket.take(now)
