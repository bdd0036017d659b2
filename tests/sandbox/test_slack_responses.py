"""response_url posts: replace, delete, ephemeral and in-channel replies, five uses at most."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.slack_api import SimulatedSlack


async def test_reply_without_flags_is_ephemeral_for_the_person(slack: SimulatedSlack) -> None:
    url = slack.issue_response_url("U0ALICE", "C0APPROVE")
    answer = await AsyncWebhookClient(url).send(text="Only you see this")
    assert answer.status_code == 200
    [shown] = slack.ephemerals("U0ALICE")
    assert (shown.text, shown.channel) == ("Only you see this", "C0APPROVE")
    [post] = slack.responses("U0ALICE")
    assert post.text == "Only you see this" and not post.replace_original
    assert slack.messages("C0APPROVE") == []


async def test_in_channel_reply_is_a_channel_message(slack: SimulatedSlack) -> None:
    url = slack.issue_response_url("U0ALICE", "C0APPROVE")
    await AsyncWebhookClient(url).send(text="Everyone sees this", response_type="in_channel")
    assert [m.text for m in slack.messages("C0APPROVE")] == ["Everyone sees this"]
    assert slack.ephemerals("U0ALICE") == []


async def test_replace_original_changes_the_clicked_channel_message(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C0APPROVE", text="Approve?")
    url = slack.issue_response_url("U0BOB", "C0APPROVE", posted["ts"])
    await AsyncWebhookClient(url).send(text="Approved by Bob", replace_original=True)
    [message] = slack.messages("C0APPROVE")
    assert (message.ts, message.text, message.edited) == (posted["ts"], "Approved by Bob", True)
    assert slack.responses("U0BOB")[0].source_ts == posted["ts"]


async def test_delete_original_removes_the_message(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C0APPROVE", text="Approve?")
    url = slack.issue_response_url("U0BOB", "C0APPROVE", posted["ts"])
    await AsyncWebhookClient(url).send(delete_original=True)
    assert slack.messages("C0APPROVE") == []


async def test_replace_original_on_an_ephemeral_message(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    shown = await slack_client.chat_postEphemeral(channel="C0APPROVE", user="U0ALICE", text="Pick")
    url = slack.issue_response_url("U0ALICE", "C0APPROVE", shown["message_ts"], ephemeral=True)
    await AsyncWebhookClient(url).send(text="Picked", replace_original=True)
    assert [m.text for m in slack.ephemerals("U0ALICE")] == ["Picked"]


async def test_command_reply_then_replace_original(slack: SimulatedSlack) -> None:
    url = slack.issue_response_url("U0ALICE", slack.dm_channel("U0ALICE"), ephemeral=True)
    slack.show_command_reply(url, {"text": "Working on it"})
    await AsyncWebhookClient(url).send(text="Done", replace_original=True)
    assert [m.text for m in slack.ephemerals("U0ALICE")] == ["Done"]


async def test_a_response_url_takes_five_posts(slack: SimulatedSlack) -> None:
    client = AsyncWebhookClient(slack.issue_response_url("U0ALICE", "C0APPROVE"))
    statuses = [(await client.send(text=str(n))).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 404]
    assert len(slack.responses("U0ALICE")) == 5


async def test_unknown_response_url(slack: SimulatedSlack) -> None:
    answer = await AsyncWebhookClient(slack.base_url + "/response/nope").send(text="x")
    assert answer.status_code == 404
