"""Socket Mode of the simulated Slack: a websocket link the app opens, envelopes it must ack.

As Slack does it: ``apps.connections.open`` (app-level ``xapp-`` token only) hands out a
single-use ``ws://`` URL; on connecting the app gets ``{"type": "hello", ...}``; each request
(``slash_commands``, ``interactive``, ``events_api``) arrives as an envelope with an
``envelope_id``, and the app must answer ``{"envelope_id": ..., "payload"?: ...}`` within
3 seconds. An unacknowledged event is delivered again (``retry_attempt`` + 1, reason
``timeout``); an unacknowledged command or interaction fails, as the person would see it fail.
``disconnect`` messages (``refresh_requested``, ``link_disabled``, ``warning``) ask the app to
reconnect.

The link runs on the simulated Slack's own event loop (a background thread); the people's side
(the driver, in the test's loop) hands envelopes over with ``deliver``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
DisconnectReason = Literal["refresh_requested", "link_disabled", "warning"]

ACK_TIMEOUT_SECONDS = 3.0  # Slack's deadline for acknowledging an envelope
EVENT_RETRIES = 3  # Slack delivers an unacknowledged event up to three more times
# Interactions whose ack may carry a response (response_action, options); clicks carry none.
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})


class NoAck(AssertionError):
    """The app did not acknowledge an envelope in time (Slack shows the person an error)."""


@dataclass(frozen=True)
class Envelope:
    """One Socket Mode message carrying a request to the app."""

    envelope_id: str
    type: EnvelopeType
    payload: JsonDict
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""

    def message(self) -> JsonDict:
        """The JSON Slack sends over the link."""
        sent: JsonDict = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            sent |= {"retry_attempt": self.retry_attempt, "retry_reason": self.retry_reason}
        return sent


@dataclass
class _Link:
    socket: web.WebSocketResponse
    ticket: str


@dataclass
class SocketModeHub:
    """The app's Socket Mode links, and the envelopes waiting for their ack."""

    app_id: str
    host: str = "applink-simulated-1"
    ack_timeout: float = ACK_TIMEOUT_SECONDS
    url_base: str = ""
    delivered: list[Envelope] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _tickets: set[str] = field(default_factory=set)
    _links: list[_Link] = field(default_factory=list)
    _pending: dict[str, asyncio.Future[JsonDict | None]] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connected: threading.Condition = field(default_factory=threading.Condition)

    # --- the Web API side -------------------------------------------------------------------
    def open_url(self) -> str:
        """A fresh single-use link URL (apps.connections.open)."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"{self.url_base}?ticket={ticket}&app_id={self.app_id}"

    @property
    def connections(self) -> int:
        """Links open now."""
        with self._connected:
            return len(self._links)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` links are open; False on timeout."""
        with self._connected:
            return self._connected.wait_for(lambda: len(self._links) >= count, timeout)

    # --- the websocket ----------------------------------------------------------------------
    async def on_link(self, request: web.Request) -> web.StreamResponse:
        """GET /link/?ticket=...: upgrade, say hello, then read acks until the app hangs up."""
        ticket = request.query.get("ticket", "")
        with self._lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)  # single use
        if not known:
            self.problems.append(f"connection with an unknown or used ticket {ticket[:8]!r}")
            return web.Response(status=401, text="invalid_ticket")
        self._loop = asyncio.get_running_loop()  # before the handshake the app waits for
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        link = _Link(socket, ticket)
        with self._connected:
            self._links.append(link)
            count = len(self._links)
            self._connected.notify_all()
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": count,
                "debug_info": {
                    "host": self.host,
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for message in socket:  # pings are answered by aiohttp (autoping)
                if message.type == WSMsgType.TEXT:
                    self._on_text(str(message.data))
                elif message.type == WSMsgType.BINARY:
                    self.problems.append("a binary frame (Slack reads JSON text only)")
        finally:
            with self._connected:
                self._links.remove(link)
        return socket

    def _on_text(self, text: str) -> None:
        try:
            sent = json.loads(text)
        except ValueError:
            self.problems.append(f"not JSON: {text[:80]!r}")
            return
        envelope_id = sent.get("envelope_id") if isinstance(sent, dict) else None
        waiting = self._pending.pop(envelope_id, None) if isinstance(envelope_id, str) else None
        if waiting is None:
            self.problems.append(f"an ack for no envelope waiting: {text[:80]!r}")
            return
        payload = sent.get("payload")
        if payload is not None and not isinstance(payload, dict):
            self.problems.append(f"an ack whose payload is not an object: {text[:80]!r}")
            payload = None
        if not waiting.done():
            waiting.set_result(payload)

    # --- the people's side ------------------------------------------------------------------
    def deliver(
        self, kind: EnvelopeType, payload: JsonDict, *, retry_attempt: int = 0
    ) -> Future[JsonDict | None]:
        """Send ``payload`` to the app in an envelope; resolves to the ack's payload (if any)."""
        if self._loop is None:
            raise RuntimeError("the app has not connected in Socket Mode")
        work = self._deliver(kind, payload, retry_attempt)
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def disconnect(self, reason: DisconnectReason) -> Future[None]:
        """Ask every open link to go (the app reconnects with a new URL)."""
        if self._loop is None:
            raise RuntimeError("the app has not connected in Socket Mode")
        return asyncio.run_coroutine_threadsafe(self._disconnect(reason), self._loop)

    async def _disconnect(self, reason: DisconnectReason) -> None:
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": self.host}}
        for link in list(self._links):
            if not link.socket.closed:
                await link.socket.send_json(message)

    async def _deliver(
        self, kind: EnvelopeType, payload: JsonDict, retry_attempt: int
    ) -> JsonDict | None:
        accepts = kind == "slash_commands" or (
            kind == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
        )
        attempt, reason = retry_attempt, "" if retry_attempt == 0 else "timeout"
        while True:
            self._counter += 1
            envelope = Envelope(
                envelope_id=f"{self._counter:08x}-sim-{secrets.token_hex(4)}",
                type=kind,
                payload=payload,
                accepts_response_payload=accepts,
                retry_attempt=attempt,
                retry_reason=reason,
            )
            acked, answer = await self._send(envelope)
            if acked:
                if answer is not None and not accepts:
                    self.problems.append(f"a response payload on a {kind} envelope")
                return answer
            if kind == "events_api" and attempt < retry_attempt + EVENT_RETRIES:
                attempt, reason = attempt + 1, "timeout"
                continue
            problem = (
                f"the app did not acknowledge {kind} envelope {envelope.envelope_id} "
                f"within {self.ack_timeout:g} s"
            )
            self.problems.append(problem)
            raise NoAck(problem)

    async def _send(self, envelope: Envelope) -> tuple[bool, JsonDict | None]:
        link = await self._open_link()
        waiting: asyncio.Future[JsonDict | None] = asyncio.get_running_loop().create_future()
        self._pending[envelope.envelope_id] = waiting
        self.delivered.append(envelope)
        await link.socket.send_json(envelope.message())
        try:
            return True, await asyncio.wait_for(waiting, self.ack_timeout)
        except TimeoutError:
            self._pending.pop(envelope.envelope_id, None)
            return False, None

    async def _open_link(self) -> _Link:
        """The newest open link; one that is reconnecting has a moment to come back."""
        async with asyncio.timeout(self.ack_timeout):
            while True:
                live = [link for link in self._links if not link.socket.closed]
                if live:
                    return live[-1]
                await asyncio.sleep(0.01)
