"""The simulated Web API answered through the real slack_sdk AsyncWebClient."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack

SECTION = {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "*Hi*"}}


async def test_auth_test_names_the_bot(slack_client: AsyncWebClient) -> None:
    answer = await slack_client.auth_test()
    assert answer["user_id"] == "U0BOT"
    assert answer["team_id"] == "T0DEMO"
    assert answer["bot_id"] == "B0BOT"


async def test_wrong_token_is_invalid_auth(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert slack.calls("auth.test")[0].token == "xoxb-wrong"


async def test_missing_token_is_not_authed(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.users_info(user="U0ALICE")
    assert caught.value.response["error"] == "not_authed"


async def test_unknown_method(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack_client.api_call("files.frobnicate")
    assert caught.value.response["error"] == "unknown_method"


async def test_users_info_carries_email_timezone_and_locale(slack_client: AsyncWebClient) -> None:
    answer = await slack_client.users_info(user="U0BOB", include_locale=True)
    user = answer["user"]
    assert user["profile"]["email"] == "Bob.Stone@example.com"
    assert user["real_name"] == "Bob Stone"
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert user["locale"] == "fr-FR"
    assert user["deleted"] is False and user["is_bot"] is False


async def test_users_info_without_include_locale_has_no_locale(
    slack_client: AsyncWebClient,
) -> None:
    answer = await slack_client.users_info(user="U0ALICE")
    assert "locale" not in answer["user"]


async def test_users_info_unknown_user(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack_client.users_info(user="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"


async def test_deleted_user_shows_deleted(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    event_user = slack.set_deleted("U0ALICE")
    assert event_user["deleted"] is True and event_user["id"] == "U0ALICE"
    answer = await slack_client.users_info(user="U0ALICE")
    assert answer["user"]["deleted"] is True


async def test_lookup_by_email_ignores_case(slack_client: AsyncWebClient) -> None:
    answer = await slack_client.users_lookupByEmail(email="bob.stone@EXAMPLE.com")
    assert answer["user"]["id"] == "U0BOB"
    with pytest.raises(SlackApiError) as caught:
        await slack_client.users_lookupByEmail(email="nobody@example.com")
    assert caught.value.response["error"] == "users_not_found"


async def test_conversations_open_maps_each_user_to_one_im(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    first = await slack_client.conversations_open(users="U0ALICE")
    again = await slack_client.conversations_open(users=["U0ALICE"])
    other = await slack_client.conversations_open(users="U0BOB")
    assert first["channel"]["id"] == again["channel"]["id"] == slack.dm_channel("U0ALICE")
    assert first["channel"]["id"].startswith("D")
    assert again["already_open"] is True
    assert other["channel"]["id"] != first["channel"]["id"]


async def test_post_message_to_a_user_id_lands_in_the_im(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    answer = await slack_client.chat_postMessage(channel="U0ALICE", text="Hi", blocks=[SECTION])
    assert answer["channel"] == slack.dm_channel("U0ALICE")
    assert answer["message"]["blocks"][0]["block_id"] == "intro"
    [message] = slack.dms("U0ALICE")
    assert message.ts == answer["ts"]
    assert message.text == "Hi"
    assert slack.dms("U0BOB") == []


async def test_post_message_needs_text_and_a_known_channel(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as no_text, pytest.warns(UserWarning, match="text"):
        await slack_client.chat_postMessage(channel="U0ALICE")
    with pytest.raises(SlackApiError) as no_channel:
        await slack_client.chat_postMessage(channel="C0UNKNOWN", text="x")
    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "channel_not_found"


async def test_invalid_blocks_are_refused(slack_client: AsyncWebClient) -> None:
    too_long = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as caught:
        await slack_client.chat_postMessage(channel="U0ALICE", text="x", blocks=[too_long])
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["errors"]


async def test_blocks_without_ids_get_ids_like_slack_gives(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}}
    await client.chat_postMessage(
        channel="C0APPROVE", text="x", blocks=[{"type": "actions", "elements": [button]}]
    )
    [message] = slack.messages("C0APPROVE")
    assert message.blocks[0]["block_id"]
    assert message.blocks[0]["elements"][0]["action_id"]


async def test_thread_replies_are_marked(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    parent = await slack_client.chat_postMessage(channel="C0APPROVE", text="Request")
    await slack_client.chat_postMessage(
        channel="C0APPROVE", text="Reminder", thread_ts=parent["ts"]
    )
    first, reply = slack.messages("C0APPROVE")
    assert not first.is_reply
    assert reply.is_reply and reply.thread_ts == parent["ts"]


async def test_chat_update_replaces_text_and_blocks(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="U0BOB", text="Pending", blocks=[SECTION])
    done = {"type": "section", "text": {"type": "mrkdwn", "text": "Approved"}}
    answer = await slack_client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Approved", blocks=[done]
    )
    assert answer["ts"] == posted["ts"]
    [message] = slack.dms("U0BOB")
    assert message.text == "Approved"
    assert message.blocks[0]["text"]["text"] == "Approved"
    assert message.edited


async def test_chat_update_of_a_missing_message(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    channel = slack.dm_channel("U0ALICE")
    with pytest.raises(SlackApiError) as caught:
        await slack_client.chat_update(channel=channel, ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_post_ephemeral_is_shown_to_one_person(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    answer = await slack_client.chat_postEphemeral(channel="C0APPROVE", user="U0BOB", text="Psst")
    [shown] = slack.ephemerals("U0BOB")
    assert shown.ts == answer["message_ts"]
    assert shown.text == "Psst" and shown.is_ephemeral
    assert slack.ephemerals("U0ALICE") == []
    assert slack.messages("C0APPROVE") == []


async def test_permalink(slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0APPROVE", text="x")
    answer = await slack_client.chat_getPermalink(channel="C0APPROVE", message_ts=posted["ts"])
    assert answer["permalink"].endswith("/archives/C0APPROVE/p" + posted["ts"].replace(".", ""))


async def test_rate_limit_answers_429_with_retry_after(slack: SimulatedSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            slack.api_url + "chat.postMessage",
            json={"channel": "U0ALICE", "text": "x"},
            headers={"Authorization": f"Bearer {slack.bot_token}"},
        ) as response,
    ):
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"
        assert (await response.json())["error"] == "ratelimited"


async def test_rate_limit_retry_handler_retries(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    answer = await client.chat_postMessage(channel="U0ALICE", text="after the wait")
    assert answer["ok"] is True
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack.dms("U0ALICE")] == ["after the wait"]


async def test_server_error_without_handler_raises(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    slack.fail_next("users.info", status=500)
    with pytest.raises(SlackApiError) as caught:
        await slack_client.users_info(user="U0ALICE")
    assert caught.value.response.status_code == 500
    retried = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=1,
                interval_calculator=FixedValueRetryIntervalCalculator(0.01),
            )
        ],
    )
    slack.fail_next("users.info", status=500)
    answer = await retried.users_info(user="U0ALICE")
    assert answer["user"]["id"] == "U0ALICE"


async def test_injected_error_with_status_200(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=200, error="is_archived")
    with pytest.raises(SlackApiError) as caught:
        await slack_client.chat_postMessage(channel="C0APPROVE", text="x")
    assert caught.value.response["error"] == "is_archived"
    call = slack.calls("chat.postMessage")[0]
    assert (call.ok, call.error, call.args["channel"]) == (False, "is_archived", "C0APPROVE")


async def test_form_encoded_calls_are_parsed(slack: SimulatedSlack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            slack.api_url + "chat.postMessage",
            data={
                "token": slack.bot_token,
                "channel": "U0BOB",
                "text": "form",
                "blocks": '[{"type": "divider"}]',
            },
        ) as response,
    ):
        body = await response.json()
    assert body["ok"] is True
    assert slack.calls("chat.postMessage")[0].args["blocks"][0]["type"] == "divider"
    assert slack.dms("U0BOB")[0].blocks[0]["type"] == "divider"


async def test_accessors_return_copies(slack: SimulatedSlack, slack_client: AsyncWebClient) -> None:
    await slack_client.chat_postMessage(channel="U0ALICE", text="x", blocks=[SECTION])
    slack.dms("U0ALICE")[0].blocks[0]["text"]["text"] = "changed"
    assert slack.dms("U0ALICE")[0].blocks[0]["text"]["text"] == "*Hi*"


async def test_wait_for_returns_the_first_truthy_result(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    await slack_client.chat_postMessage(channel="U0ALICE", text="x")
    messages = await slack.wait_for(lambda: slack.dms("U0ALICE"), timeout=1)
    assert messages[0].text == "x"
    with pytest.raises(TimeoutError):
        await slack.wait_for(lambda: slack.dms("U0BOB"), timeout=0.05)


def test_start_stop_and_restart_on_a_new_port() -> None:
    sim = SimulatedSlack()
    with pytest.raises(RuntimeError):
        _ = sim.api_url
    with sim:
        assert sim.api_url.startswith("http://127.0.0.1:") and sim.api_url.endswith("/api/")
    sim.stop()


async def test_users_list_pages_with_an_opaque_cursor_and_shows_deactivated_members(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    for n in range(5):
        slack.add_user(f"U1M{n}", name=f"m{n}", real_name=f"M {n}", email=None, deleted=n == 3)
    slack.add_user("U1GUEST", name="g", real_name="Guest", email=None, guest=True)
    # slack_sdk reuses one response object for every page: copy what each page holds
    pages = [dict(page.data) async for page in await slack_client.users_list(limit=3)]
    members = [m for page in pages for m in page["members"]]
    ids = [m["id"] for m in members]
    assert len(ids) == len(set(ids)) and {"U0BOT", "U1M0", "U1M4", "U1GUEST"} <= set(ids)
    assert all(len(page["members"]) <= 3 for page in pages)
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    assert all(page["response_metadata"]["next_cursor"] for page in pages[:-1])
    by_id = {m["id"]: m for m in members}
    assert by_id["U1M3"]["deleted"] is True and by_id["U1M2"]["deleted"] is False
    assert by_id["U0BOT"]["is_bot"] is True
    assert by_id["U1GUEST"]["is_restricted"] is True and by_id["U1M0"]["is_restricted"] is False
    assert isinstance(pages[0]["cache_ts"], int)
    # without a limit the whole workspace comes in one page
    whole = await slack_client.users_list()
    assert [m["id"] for m in whole["members"]] == ids
    assert whole["response_metadata"]["next_cursor"] == ""


async def test_users_list_refuses_a_cursor_it_did_not_give(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack_client.users_list(limit=2, cursor="not a cursor")
    assert caught.value.response["error"] == "invalid_cursor"


async def test_users_list_is_rate_limited_like_tier_2(
    slack: SimulatedSlack, slack_client: AsyncWebClient, advance_clock: Callable[[float], None]
) -> None:
    for _ in range(20):
        await slack_client.users_list(limit=200)
    with pytest.raises(SlackApiError) as caught:
        await slack_client.users_list(limit=200)
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    # One call comes back every three seconds (20 a minute).
    assert caught.value.response.headers["Retry-After"] == "3"
    advance_clock(3)
    assert (await slack_client.users_list(limit=200))["ok"] is True
