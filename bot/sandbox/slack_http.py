"""The HTTP face of the simulated Slack: ``/api/{method}`` and ``/response/{token}``."""

from __future__ import annotations

import asyncio
import copy
import json
import threading

from aiohttp import web

from bot.sandbox.slack_methods import METHODS
from bot.sandbox.slack_records import ApiCall
from bot.sandbox.slack_responses import post_to_response_url
from bot.sandbox.slack_socket import SocketModeHub
from bot.sandbox.slack_state import JsonDict, SlackFailure, SlackState

_STRUCTURED_ARGS = ("blocks", "attachments", "view")
CONNECTIONS_OPEN = "apps.connections.open"
# Longer than any app takes to answer a submission (Slack gives up after 3 s).
SUBMISSION_WAIT = 5.0


class SlackHttp:
    """Answers Web API and response_url requests against ``state`` under ``lock``."""

    def __init__(
        self,
        state: SlackState,
        lock: threading.RLock,
        bot_token: str,
        *,
        app_token: str,
        socket_mode: SocketModeHub,
    ) -> None:
        self._state = state
        self._lock = lock
        self._bot_token = bot_token
        self._app_token = app_token
        self._socket_mode = socket_mode

    def application(self) -> web.Application:
        """The aiohttp application: the Web API, response URLs and the Socket Mode link."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._on_api)
        app.router.add_post("/response/{token}", self._on_response_url)
        app.router.add_get("/link/", self._socket_mode.on_link)
        return app

    async def _on_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await read_args(request)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else args.pop("token", None)
        if method == "views.update":
            await self._after_submission(str(args.get("view_id") or ""))
        status, body, headers = self.answer(method, args, token)
        return web.json_response(body, status=status, headers=headers)

    async def _after_submission(self, view_id: str) -> None:
        """Hold an update of a view whose submission is not answered yet, as Slack orders them.

        The answer to a view_submission reaches Slack before any call the app makes after
        sending it; here the person's client applies it, so an update waits for that.
        """
        with self._lock:
            pending = self._state.submitting.get(view_id)
        if pending is not None:
            await asyncio.to_thread(pending.wait, SUBMISSION_WAIT)

    def answer(
        self, method: str, args: JsonDict, token: str | None
    ) -> tuple[int, JsonDict, dict[str, str]]:
        """Status, JSON body and headers for one call; the call is recorded."""
        with self._lock:
            state = self._state
            status, headers = 200, {}
            fault = state.take_fault(method, args)
            if fault is not None:
                status, body = fault.status, {"ok": False, "error": fault.error}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
            elif method == CONNECTIONS_OPEN:
                body = self._connections_open(token)
            elif (wait := state.rate_limited(method, args)) is not None:
                status, body = 429, {"ok": False, "error": "ratelimited"}
                headers["Retry-After"] = str(wait)
            elif method not in METHODS:
                body = {"ok": False, "error": "unknown_method", "req_method": method}
            elif not token:
                body = {"ok": False, "error": "not_authed"}
            elif token == self._app_token:
                # App-level tokens open Socket Mode links; they post nothing.
                body = {"ok": False, "error": "not_allowed_token_type"}
            elif token != self._bot_token:
                body = {"ok": False, "error": "invalid_auth"}
            else:
                try:
                    body = {"ok": True, **METHODS[method](state, args)}
                except SlackFailure as failure:
                    body = {"ok": False, "error": failure.error, **failure.extra}
            state.calls.append(
                ApiCall(
                    method=method,
                    args=copy.deepcopy(args),
                    token=token,
                    status=status,
                    ok=bool(body.get("ok")),
                    error=body.get("error"),
                    at=state.clock(),
                )
            )
            return status, body, headers

    def _connections_open(self, token: str | None) -> JsonDict:
        """apps.connections.open: a link URL for the app-level token, and nothing for others."""
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token == self._app_token:
            return {"ok": True, "url": self._socket_mode.open_url()}
        if token == self._bot_token or token.startswith(("xoxb-", "xoxp-")):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": False, "error": "invalid_auth"}

    async def _on_response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        with self._lock:
            status, text = post_to_response_url(self._state, request.match_info["token"], body)
        content_type = "application/json" if text.startswith("{") else "text/plain"
        return web.Response(status=status, text=text, content_type=content_type)


async def read_args(request: web.Request) -> JsonDict:
    """Arguments from the query string and a form or JSON body, as Slack accepts them."""
    args: JsonDict = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = json.loads(await request.text() or "{}")
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _STRUCTURED_ARGS:
        # Form and query callers send structured arguments as JSON strings.
        value = args.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            args[key] = json.loads(value)
    return args
