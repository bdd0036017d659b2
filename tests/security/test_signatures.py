"""Authenticity: a request without Slack's valid, fresh signature gets 401 and changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.slack_blocks import find_element
from bot.sandbox.stage import JANE, OMAR, SIGNING_SECRET, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.steps import approval_message, submit_request

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
Body = tuple[bytes, str]


def sign(body: bytes, stamp: str, secret: str = SIGNING_SECRET, version: str = "v0") -> str:
    base = f"v0:{stamp}:".encode() + body
    return f"{version}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def now() -> str:
    return str(int(time.time()))


# Each forgery: the headers sent with a body (None leaves a header out).
Forgery = Callable[[bytes], dict[str, str | None]]
FORGERIES: dict[str, Forgery] = {
    "no headers": lambda body: {"ts": None, "sig": None},
    "signature missing": lambda body: {"ts": now(), "sig": None},
    "timestamp missing": lambda body: {"ts": None, "sig": sign(body, now())},
    "empty signature": lambda body: {"ts": now(), "sig": ""},
    "zero signature": lambda body: {"ts": now(), "sig": "v0=" + "0" * 64},
    "other secret": lambda body: {"ts": now(), "sig": sign(body, now(), "not-the-secret")},
    "other version": lambda body: {"ts": now(), "sig": sign(body, now(), version="v1")},
    "stamp not a number": lambda body: {"ts": "soon", "sig": sign(body, "soon")},
    "replayed after 301 s": lambda body: {
        "ts": str(int(time.time()) - 301),
        "sig": sign(body, str(int(time.time()) - 301)),
    },
    "replayed after a day": lambda body: {
        "ts": str(int(time.time()) - 86_400),
        "sig": sign(body, str(int(time.time()) - 86_400)),
    },
    "stamped in the future": lambda body: {
        "ts": str(int(time.time()) + 400),
        "sig": sign(body, str(int(time.time()) + 400)),
    },
}


async def post(
    stage: Stage, body: bytes, content_type: str, ts: str | None, sig: str | None
) -> int:
    """POST with exactly these headers (no driver adds or fixes anything)."""
    headers = {"content-type": content_type}
    if ts is not None:
        headers["x-slack-request-timestamp"] = ts
    if sig is not None:
        headers["x-slack-signature"] = sig
    async with (
        aiohttp.ClientSession() as session,
        session.post(stage.workspace.app_url, data=body, headers=headers) as response,
    ):
        return response.status


async def snapshot(stage: Stage) -> tuple[Any, ...]:
    """Everything a forged request could have changed."""
    repo = stage.runtime.deps.repo
    requests = [(r.id, r.state, r.version) for r in await repo.find(limit=10_000)]
    audit = [entry.seq async for entry in repo.audit.entries()]
    users = [(u.id, u.is_active, u.profile_id, u.frozen) for u in stage.org.users()]
    return requests, audit, len(stage.slack.calls()), users


async def bodies(stage: Stage) -> tuple[dict[str, Body], str]:
    """A real, well-formed body for each kind of request, and the pending request's id."""
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    owner = slack.user(OMAR.id)
    assert owner is not None
    loc = find_element(message.blocks, ActionId.APPROVE)
    approve = payloads.message_actions(
        team,
        owner,
        message,
        payloads.action_of(loc, None),
        channel_name="directmessage",
        trigger_id=slack.issue_trigger(OMAR.id),
        response_url=slack.issue_response_url(OMAR.id, message.channel, message.ts),
    )
    command = payloads.slash_form(
        team,
        owner,
        command="/salesforce",
        text="",
        channel_id=slack.dm_channel(OMAR.id),
        channel_name="directmessage",
        response_url=slack.issue_response_url(OMAR.id, slack.dm_channel(OMAR.id)),
        trigger_id=slack.issue_trigger(OMAR.id),
    )
    jane = slack.set_deleted(JANE.id, True)
    slack.set_deleted(JANE.id, False)
    offboard = payloads.event_envelope(
        team, {"type": "user_change", "user": jane}, event_id="EvFORGED01"
    )
    challenge = {"type": "url_verification", "token": "x", "challenge": "forged-challenge"}
    found = {
        "approve click": (urlencode({"payload": json.dumps(approve)}).encode(), FORM),
        "slash command": (command.encode(), FORM),
        "user_change event": (json.dumps(offboard).encode(), JSON),
        "url_verification": (json.dumps(challenge).encode(), JSON),
    }
    return found, request.id


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_requests_get_401_and_change_nothing(stage: Stage, forgery: str) -> None:
    found, request_id = await bodies(stage)
    await stage.settle()
    before = await snapshot(stage)
    for name, (body, content_type) in found.items():
        headers = FORGERIES[forgery](body)
        status = await post(stage, body, content_type, headers["ts"], headers["sig"])
        assert status == 401, (forgery, name, status)
    await stage.settle()
    assert await snapshot(stage) == before
    stored = await stage.runtime.deps.repo.get(request_id)
    assert stored is not None and stored.state is State.PENDING_APPROVAL


async def test_a_body_changed_after_signing_is_refused(stage: Stage) -> None:
    found, _ = await bodies(stage)
    body, content_type = found["approve click"]
    stamp = now()
    signature = sign(body, stamp)
    # Signed as the owner's click, then the clicking user swapped: the signature no longer fits.
    tampered = body.replace(OMAR.id.encode(), b"U0OLIVIA")
    assert tampered != body
    await stage.settle()  # the submission's DMs may still be going out
    before = await snapshot(stage)
    assert await post(stage, tampered, content_type, stamp, signature) == 401
    assert await snapshot(stage) == before


async def test_the_same_bodies_signed_properly_are_served(stage: Stage) -> None:
    """The forged requests above fail for their signature alone: signed, the click approves."""
    found, request_id = await bodies(stage)
    body, content_type = found["approve click"]
    stamp = now()
    assert await post(stage, body, content_type, stamp, sign(body, stamp)) == 200
    await stage.settle()
    stored = await stage.runtime.deps.repo.get(request_id)
    assert stored is not None and stored.state is State.ACTIVE
    body, content_type = found["url_verification"]
    assert await post(stage, body, content_type, stamp, sign(body, stamp)) == 200
