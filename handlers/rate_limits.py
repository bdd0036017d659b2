"""Slack's 429s as the bot meets them: a counter for metrics and the retry handler that feeds it."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)


@dataclass
class RateLimitCounter:
    """How many times Slack answered 429, in all and per Web API method."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    # Told the method of each 429 as it is counted (the Prometheus metrics listen).
    listeners: list[Callable[[str], None]] = field(default_factory=list)

    # Until when (time.monotonic()) Slack asked each method to wait, from its last 429.
    quiet_until: dict[str, float] = field(default_factory=dict)

    def waiting(self, method: str) -> float:
        """Seconds Slack still asks ``method`` to wait (0 when it may be called now).

        Tier limits hold for the whole workspace: while one call waits out a 429, calling the
        method again only meets another 429 and spends the event loop's time on it.
        """
        return max(0.0, self.quiet_until.get(method, 0.0) - time.monotonic())

    def record(self, method: str, retry_after: str | None) -> None:
        """Count one 429 for ``method``, and remember how long Slack asked it to wait."""
        self.total += 1
        self.by_method[method] += 1
        try:
            wait = float(retry_after) if retry_after is not None else 1.0
        except ValueError:
            wait = 1.0
        until = time.monotonic() + wait
        self.quiet_until[method] = max(self.quiet_until.get(method, 0.0), until)
        for listener in self.listeners:
            listener(method)
        log.debug("Slack rate-limited %s (Retry-After %s s)", method, retry_after or "unset")


def _method(request: HttpRequest) -> str:
    """The Web API method a request calls: the last part of its URL path."""
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Waits out each 429's ``Retry-After`` and tries again (slack_sdk's handler), counting
    every 429, the last one too when no retry is left."""

    def __init__(self, counter: RateLimitCounter, *, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.counter = counter

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            values = [v for k, v in response.headers.items() if k.lower() == "retry-after"]
            first = values[0] if values else None
            self.counter.record(_method(request), first[0] if isinstance(first, list) else first)
        return await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers(counter: RateLimitCounter) -> list[AsyncRetryHandler]:
    """Retries for every Web API client of the bot: dropped connections, 429s, 500s and 503s."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        CountingRateLimitHandler(counter, max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
