"""The HTTP door in front of Bolt: signature first, then the payload's shape, then Bolt.

Bolt builds its request object (and reads ``team``, ``authorizations``, ``response_urls``...)
before its own signature check runs, and a malformed body can crash that step with a 500.
This aiohttp middleware checks the signature and the envelope first, so a forged request
gets 401 and a malformed signed one a clear answer, and nothing unhandled leaves as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from handlers.envelope import envelope_problem, tell_unreadable, unreadable_answer

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INVALID = {"error": "invalid request"}  # what Bolt's own verification answers


def _read(text: str, content_type: str) -> object:
    try:
        return parse_body(text, content_type)
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _signed(verifier: SignatureVerifier, text: str, request: web.Request) -> bool:
    """Signed with the app's secret within the last five minutes (Slack's replay window)."""
    try:
        return verifier.is_valid(
            body=text,
            timestamp=request.headers.get("x-slack-request-timestamp"),
            signature=request.headers.get("x-slack-signature"),
        )
    except ValueError:  # a timestamp that is not a number
        return False


def slack_front(signing_secret: str, client: AsyncWebClient) -> Middleware:
    """An aiohttp middleware guarding the Slack endpoint of a Bolt web app."""
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        raw = await request.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response(INVALID, status=400)  # Slack only ever sends UTF-8
        if not _signed(verifier, text, request):
            return web.json_response(INVALID, status=401)
        body = _read(text, request.content_type)
        problem = envelope_problem(body)
        if problem is not None:
            log.warning("unreadable Slack payload (%s)", problem)
            await tell_unreadable(client, body)
            answer = unreadable_answer(body)
            return web.json_response(answer) if answer else web.Response(status=200)
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as error:
            # Bolt indexes into nested fields the envelope does not model; that is still a
            # payload Slack would never send, and its sender hears so like any other.
            log.warning("unreadable Slack payload (Bolt: %s)", type(error).__name__)
            await tell_unreadable(client, body)
            answer = unreadable_answer(body)
            return web.json_response(answer) if answer else web.Response(status=200)

    return guard
