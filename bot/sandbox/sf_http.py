"""The simulated org's HTTP face: an aiohttp app answering as Salesforce's servers do."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.sandbox.sf_calls import Call
from bot.sandbox.sf_faults import Fault, FaultKind, Hold

if TYPE_CHECKING:
    from bot.sandbox.salesforce_org import SimulatedOrg

ORG_KEY: web.AppKey[SimulatedOrg] = web.AppKey("org")
_DATA = re.compile(r"^/services/data/v(\d+\.\d+)(/.*)?$")
_SOAP = re.compile(r"^/services/Soap/u/(\d+\.\d+)(/.*)?$")
_JSON = "application/json"
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if body is None and status in (201, 204):  # a Bulk API upload answers 201 with no body
        return web.Response(status=status, headers=headers)
    return web.Response(
        status=status, text=json.dumps(body), content_type=_JSON, charset="UTF-8", headers=headers
    )


async def _park(hold: Hold) -> None:
    hold.waiting += 1
    hold.arrived.set()
    try:
        # Stopping the server releases every hold, so this wait always ends.
        await asyncio.to_thread(hold.released.wait)
    finally:
        hold.waiting -= 1


async def _sleep_unless_stopping(org: SimulatedOrg, seconds: float) -> None:
    await asyncio.to_thread(org.stopping.wait, seconds)


async def _apply_fault(
    org: SimulatedOrg, request: web.Request, fault: Fault
) -> web.StreamResponse | None:
    if fault.kind is FaultKind.TIMEOUT:
        await _sleep_unless_stopping(org, fault.hold_seconds)
        return None
    if fault.kind is FaultKind.DROP:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
    headers = org.limit_header() if fault.status < 500 else None
    return _json(fault.body, fault.status, headers)


async def handle(request: web.Request) -> web.StreamResponse:
    """Every request: record it, wait the configured latency, then route it."""
    org = request.app[ORG_KEY]
    with org.serving():
        return await _serve(org, request)


async def _serve(org: SimulatedOrg, request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    text = raw.decode("utf-8", "replace")
    body: Any = None
    if raw and request.content_type == _JSON:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            return _json(
                [{"message": "Unexpected character", "errorCode": "JSON_PARSER_ERROR"}], 400
            )
    elif raw and request.content_type == "text/csv":
        body = text  # a Bulk API 2.0 upload
    org.record(request.method, request.path, dict(request.query), body)
    if org.delay:
        await asyncio.sleep(org.delay)
    authorization = request.headers.get("Authorization")
    if request.path == "/services/oauth2/token" and request.method == "POST":
        status, grant = org.token_grant(dict(parse_qsl(text)), authorization)
        return _json(grant, status)
    if request.path == "/services/oauth2/userinfo":
        info = org.userinfo(authorization)
        return _json(INVALID_SESSION, 401) if info is None else _json(info)
    soap = _SOAP.match(request.path)
    if soap and request.method == "POST":
        status, envelope = org.soap_login(text, soap.group(1))
        return web.Response(status=status, text=envelope, content_type="text/xml", charset="UTF-8")
    data = _DATA.match(request.path)
    if data is None:
        return _json(
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
        )
    return await _data(org, request, data.group(1), data.group(2) or "/", body)


async def _data(
    org: SimulatedOrg, request: web.Request, version: str, path: str, body: Any
) -> web.StreamResponse:
    fault = org.faults.take(request.path)
    if fault is not None:
        response = await _apply_fault(org, request, fault)
        if response is not None:
            return response
    hold = org.hold_for(request.path, body)
    if hold is not None and not hold.after_apply:
        await _park(hold)
    caller = org.auth.caller(request.headers.get("Authorization"))
    if caller is None:
        return _json(INVALID_SESSION, 401)
    call = Call(request.method, path, dict(request.query), body, version, caller)
    result = org.dispatch(call)
    if hold is not None and hold.after_apply:
        await _park(hold)
    headers = {**result.headers, **org.limit_header()}
    if result.content_type != _JSON:
        return web.Response(
            status=result.status,
            text=result.body,
            content_type=result.content_type,
            charset="UTF-8",
            headers=headers,
        )
    return _json(result.body, result.status, headers)


def build_app(org: SimulatedOrg) -> web.Application:
    """The aiohttp application serving ``org``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[ORG_KEY] = org
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
