"""Socket Mode of the simulated Slack: who may open a link, the hello, and acks it insists on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.slack_socket import NoAck

EVENT = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened"}}


async def _open(slack: SimulatedSlack, token: str | None) -> str:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    answer = await client.apps_connections_open(app_token=token)  # type: ignore[arg-type]
    return str(answer["url"])


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xoxb-demo", "not_allowed_token_type"),  # the bot token opens no link
        ("xapp-1-A0OTHER-1-nope", "invalid_auth"),
        ("", "not_authed"),
    ],
)
async def test_only_the_app_level_token_opens_a_link(
    slack: SimulatedSlack, token: str, error: str
) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("apps.connections.open", http_verb="POST", headers=headers)
    assert caught.value.response["error"] == error


async def test_the_app_level_token_posts_nothing(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(token=slack.app_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="U0BOT", text="hi")
    assert caught.value.response["error"] == "not_allowed_token_type"


@pytest.fixture
async def link(slack: SimulatedSlack) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw link (no SDK): the test decides what is acked."""
    url = await _open(slack, slack.app_token)
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        hello = await socket.receive_json(timeout=5)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": slack.app_id}
        yield socket


async def test_a_link_url_is_used_once(slack: SimulatedSlack) -> None:
    url = await _open(slack, slack.app_token)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as first:
            assert (await first.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url)
    assert slack.socket_mode.problems and "used ticket" in slack.socket_mode.problems[0]
    slack.socket_mode.problems.clear()


async def _receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await socket.receive_json(timeout=5)
    assert isinstance(message, dict)
    return message


async def test_an_acked_envelope_gives_its_payload_back(
    slack: SimulatedSlack, link: aiohttp.ClientWebSocketResponse
) -> None:
    payload = {"type": "view_submission", "view": {"id": "V1"}}
    answer = asyncio.wrap_future(slack.socket_mode.deliver("interactive", payload))
    envelope = await _receive(link)
    assert envelope["type"] == "interactive" and envelope["payload"] == payload
    assert envelope["accepts_response_payload"] is True
    reply = {"response_action": "clear"}
    await link.send_str(json.dumps({"envelope_id": envelope["envelope_id"], "payload": reply}))
    assert await answer == reply
    assert slack.socket_mode.problems == []


async def test_an_unacked_event_is_delivered_again_then_reported(
    slack: SimulatedSlack, link: aiohttp.ClientWebSocketResponse
) -> None:
    slack.socket_mode.ack_timeout = 0.2
    answer = asyncio.wrap_future(slack.socket_mode.deliver("events_api", EVENT))
    sent = [await _receive(link) for _ in range(4)]
    assert [(e["retry_attempt"], e["retry_reason"]) for e in sent] == [
        (0, ""),
        (1, "timeout"),
        (2, "timeout"),
        (3, "timeout"),
    ]
    assert len({e["envelope_id"] for e in sent}) == 4
    assert all(e["accepts_response_payload"] is False for e in sent)
    with pytest.raises(NoAck):
        await answer
    assert "did not acknowledge events_api" in slack.socket_mode.problems[-1]
    slack.socket_mode.problems.clear()


async def test_an_unacked_click_fails_at_once(
    slack: SimulatedSlack, link: aiohttp.ClientWebSocketResponse
) -> None:
    slack.socket_mode.ack_timeout = 0.2
    answer = asyncio.wrap_future(
        slack.socket_mode.deliver("interactive", {"type": "block_actions", "actions": []})
    )
    envelope = await _receive(link)
    assert envelope["accepts_response_payload"] is False
    with pytest.raises(NoAck):
        await answer
    slack.socket_mode.problems.clear()


async def test_an_ack_for_no_envelope_is_a_problem(
    slack: SimulatedSlack, link: aiohttp.ClientWebSocketResponse
) -> None:
    await link.send_str(json.dumps({"envelope_id": "never-sent"}))
    await link.send_str("not json")
    await asyncio.wait_for(_until(lambda: len(slack.socket_mode.problems) == 2), 5)
    assert "no envelope waiting" in slack.socket_mode.problems[0]
    assert "not JSON" in slack.socket_mode.problems[1]
    slack.socket_mode.problems.clear()


async def test_disconnect_tells_the_reason(
    slack: SimulatedSlack, link: aiohttp.ClientWebSocketResponse
) -> None:
    await asyncio.wrap_future(slack.socket_mode.disconnect("link_disabled"))
    message = await _receive(link)
    assert message["type"] == "disconnect" and message["reason"] == "link_disabled"


async def _until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0.01)
