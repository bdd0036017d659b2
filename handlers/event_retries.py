"""Slack redelivers an event it thinks was missed (same ``event_id``); the bot runs it once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from storage.events import EventLog

log = logging.getLogger(__name__)


class RunEventsOnce(AsyncMiddleware):
    """Acknowledges a repeated ``event_id`` without running any listener again.

    The id is recorded when the event first arrives, in the database, so a retry that lands
    on another process (or after a restart) is recognised too.
    """

    def __init__(self, events: EventLog) -> None:
        self._events = events

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        """Pass a first delivery on; answer a repeat with 200 at once."""
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or await self._events.first_time(event_id):
            return await next()
        retry = req.headers.get("x-slack-retry-num", ["?"])[0]
        log.info("event %s delivered again (retry %s); already handled", event_id, retry)
        return BoltResponse(status=200, body="")
