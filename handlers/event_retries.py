"""Slack redelivers an event it thinks was missed (same ``event_id``); the bot runs it once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from storage.events import EventLog

log = logging.getLogger(__name__)

# Records what an event must leave behind (a departure) before its id counts as handled.
EventRecorder = Callable[[AsyncBoltRequest], Awaitable[None]]


class RunEventsOnce(AsyncMiddleware):
    """Acknowledges a repeated ``event_id`` without running any listener again.

    The id is recorded when the event first arrives, in the database, so a retry that lands
    on another process (or after a restart) is recognised too. An event type with a
    ``recorder`` is recorded first and its id marked only once that worked: when recording
    fails the id stays unmarked, Slack is answered 500 and its redelivery runs it again.
    """

    def __init__(self, events: EventLog, recorders: Mapping[str, EventRecorder] | None = None):
        self._events = events
        self._recorders = dict(recorders or {})

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
        if not isinstance(event_id, str):
            return await next()
        event = body.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
        recorder = self._recorders.get(kind) if isinstance(kind, str) else None
        if recorder is not None:
            if await self._events.seen(event_id):
                return self._repeat(req, event_id)
            # Raises when the record cannot be made: Bolt answers 500, the id stays unmarked.
            # Deliveries side by side all record (recording is idempotent); one runs on.
            await recorder(req)
        if await self._events.first_time(event_id):
            return await next()
        return self._repeat(req, event_id)

    @staticmethod
    def _repeat(req: AsyncBoltRequest, event_id: str) -> BoltResponse:
        retry = req.headers.get("x-slack-retry-num", ["?"])[0]
        log.info("event %s delivered again (retry %s); already handled", event_id, retry)
        return BoltResponse(status=200, body="")
