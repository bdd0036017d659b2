"""The Workspace driver against a small real Bolt app served over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack
from bot.sandbox.workspace import InvalidSubmission, Workspace

SECRET = "test-signing-secret"
PROFILES = {"crm": ["Standard User", "Sales Manager"], "platform": ["Platform User"]}
MANAGERS = ["Bob Stone", "Bea Long", "Carl Wu"]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _options(*names: str) -> list[dict[str, Any]]:
    return [{"text": _plain(n), "value": n.lower().replace(" ", "-")} for n in names]


def request_view(license_name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "request",
        "title": _plain("Salesforce access"),
        "submit": _plain("Request"),
        "close": _plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "license",
                "dispatch_action": True,
                "label": _plain("License"),
                "element": {
                    "type": "static_select",
                    "action_id": "license",
                    "options": _options("CRM", "Platform"),
                },
            },
            {
                "type": "input",
                "block_id": "profile",
                "label": _plain("Profile"),
                "element": {
                    "type": "static_select",
                    "action_id": "profile",
                    "options": _options(*PROFILES[license_name]),
                },
            },
            {
                "type": "input",
                "block_id": "manager",
                "optional": True,
                "label": _plain("Manager"),
                "element": {"type": "external_select", "action_id": "manager"},
            },
            {
                "type": "input",
                "block_id": "reason",
                "label": _plain("Reason"),
                "element": {"type": "plain_text_input", "action_id": "reason"},
            },
        ],
    }


def approval_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "section", "block_id": "what", "text": {"type": "mrkdwn", "text": "Approve?"}},
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "decide",
                    "value": "approve",
                    "text": _plain("Approve"),
                },
                {"type": "button", "action_id": "deny", "value": "deny", "text": _plain("Deny")},
            ],
        },
    ]


HOME = {
    "type": "home",
    "blocks": [
        {
            "type": "actions",
            "block_id": "home",
            "elements": [{"type": "button", "action_id": "refresh", "text": _plain("Refresh")}],
        }
    ],
}
DISMISSABLE = [
    {
        "type": "actions",
        "block_id": "note",
        "elements": [{"type": "button", "action_id": "dismiss", "text": _plain("Dismiss")}],
    }
]


def build_app(slack: SimulatedSlack, seen: dict[str, list[Any]]) -> AsyncApp:
    """A tiny app using the same Slack surfaces as the bot."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    app = AsyncApp(client=client, signing_secret=SECRET)

    async def on_command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen["command"].append(body)
        if body["text"] == "hello":
            await ack("Hello back")
            return
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=request_view("crm"))

    async def on_license(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen["license"].append(body)
        chosen = body["actions"][0]["selected_option"]["value"]
        view = body["view"]
        await client.views_update(view_id=view["id"], hash=view["hash"], view=request_view(chosen))

    async def on_manager_options(ack: Any, payload: dict[str, Any]) -> None:
        seen["options"].append(payload)
        query = payload["value"].lower()
        await ack(options=[o for o in _options(*MANAGERS) if query in o["value"]])

    async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        seen["submit"].append(body)
        reason = view["state"]["values"]["reason"]["reason"]["value"]
        if len(reason) < 5:
            await ack(response_action="errors", errors={"reason": "Say a bit more"})
            return
        await ack()
        await app.client.chat_postMessage(
            channel="C0APPROVE", text="Approve?", blocks=approval_blocks()
        )

    async def on_decide(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen["decide"].append(body)
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{body['actions'][0]['value']}d by <@{body['user']['id']}>",
            blocks=[],
        )

    async def on_home(event: dict[str, Any], client: AsyncWebClient, request: Any) -> None:
        seen["home"].append(event)
        seen["retries"].append(request.headers.get("x-slack-retry-num"))
        await client.views_publish(user_id=event["user"], view=HOME)

    async def on_refresh(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen["refresh"].append(body)

    async def on_dismiss(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen["dismiss"].append(body)
        await respond(text="Dismissed", replace_original=True)

    async def on_user_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        seen["user_change"].append(body)

    app.command("/salesforce")(on_command)
    app.action("license")(on_license)
    app.options("manager")(on_manager_options)
    app.view("request")(on_submit)
    app.action(re.compile("^(approve|deny)$"))(on_decide)
    app.event("app_home_opened")(on_home)
    app.event("user_change")(on_user_change)
    app.action("refresh")(on_refresh)
    app.action("dismiss")(on_dismiss)
    return app


@pytest.fixture
def seen() -> dict[str, list[Any]]:
    return defaultdict(list)


@pytest.fixture
async def workspace(slack: SimulatedSlack, seen: dict[str, list[Any]]) -> AsyncIterator[Workspace]:
    runner = web.AppRunner(build_app(slack, seen).web_app(path="/slack/events", port=0))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    people = Workspace(
        app_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, slack=slack
    )
    yield people
    await people.aclose()
    await runner.cleanup()


async def open_request(slack: SimulatedSlack, workspace: Workspace) -> dict[str, Any]:
    reply = await workspace.slash("U0ALICE", "request")
    assert reply.status == 200
    return await slack.wait_for(lambda: slack.open_view("U0ALICE"))


async def test_slash_command_sends_slacks_form_and_opens_the_modal(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    assert view["callback_id"] == "request"
    [body] = seen["command"]
    assert body["command"] == "/salesforce" and body["text"] == "request"
    assert body["user_id"] == "U0ALICE" and body["user_name"] == "alice"
    assert body["channel_id"] == slack.dm_channel("U0ALICE")
    assert body["response_url"].startswith(slack.base_url + "/response/")
    assert slack.calls("views.open")[0].args["trigger_id"] == body["trigger_id"]


async def test_command_ack_text_shows_as_ephemeral(
    slack: SimulatedSlack, workspace: Workspace
) -> None:
    reply = await workspace.slash("U0BOB", "hello", channel_id="C0APPROVE")
    assert reply.body == "Hello back"
    [shown] = slack.ephemerals("U0BOB")
    assert (shown.text, shown.channel) == ("Hello back", "C0APPROVE")


async def test_dispatching_select_sends_block_actions_and_keeps_typed_text(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    await workspace.type("U0ALICE", view["id"], "reason", "Quarter close")
    reply = await workspace.pick("U0ALICE", view["id"], "license", "platform")
    assert reply.status == 200
    updated = await slack.wait_for(
        lambda: (v := slack.view(view["id"])) and v["hash"] != view["hash"] and v
    )
    [body] = seen["license"]
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["actions"][0]["selected_option"]["value"] == "platform"
    assert body["actions"][0]["block_id"] == "license"
    values = updated["state"]["values"]
    assert values["reason"]["reason"]["value"] == "Quarter close"
    assert values["license"]["license"]["selected_option"]["value"] == "platform"
    profiles = [o["value"] for o in updated["blocks"][1]["element"]["options"]]
    assert profiles == ["platform-user"]


async def test_pick_refuses_an_input_that_does_not_dispatch(
    slack: SimulatedSlack, workspace: Workspace
) -> None:
    view = await open_request(slack, workspace)
    with pytest.raises(ValueError, match="choose"):
        await workspace.pick("U0ALICE", view["id"], "profile", "standard-user")


async def test_submission_errors_then_success_with_every_input_listed(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    await workspace.choose("U0ALICE", view["id"], "license", "crm")
    await workspace.choose("U0ALICE", view["id"], "profile", "sales-manager")
    refused = await workspace.submit("U0ALICE", view["id"], reason="no")
    assert refused.json() == {"response_action": "errors", "errors": {"reason": "Say a bit more"}}
    assert slack.view_errors(view["id"]) == {"reason": "Say a bit more"}
    assert slack.open_view("U0ALICE") is not None
    accepted = await workspace.submit("U0ALICE", view["id"], reason="Quarter close")
    assert accepted.status == 200 and accepted.body == ""
    assert slack.open_view("U0ALICE") is None
    values = seen["submit"][-1]["view"]["state"]["values"]
    assert values["manager"]["manager"] == {"type": "external_select", "selected_option": None}
    assert values["profile"]["profile"]["selected_option"]["text"]["text"] == "Sales Manager"
    assert values["reason"]["reason"]["value"] == "Quarter close"
    await slack.wait_for(lambda: slack.messages("C0APPROVE"))


async def test_required_input_left_empty_is_never_sent(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    with pytest.raises(InvalidSubmission, match="Profile is required"):
        await workspace.submit("U0ALICE", view["id"], license="crm", reason="Quarter close")
    assert seen["submit"] == []


async def test_external_select_options_come_from_the_app(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    reply = await workspace.suggest("U0ALICE", view["id"], "manager", "b")
    assert [o["value"] for o in reply.json()["options"]] == ["bob-stone", "bea-long"]
    assert seen["options"][0]["value"] == "b"
    assert seen["options"][0]["type"] == "block_suggestion"
    await workspace.choose("U0ALICE", view["id"], "manager", "bea-long")
    entry = slack.view(view["id"])["state"]["values"]["manager"]["manager"]  # type: ignore[index]
    assert entry["selected_option"]["text"]["text"] == "Bea Long"


async def test_click_on_a_message_button_carries_the_message(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    await slack_client_post(slack)
    [message] = slack.messages("C0APPROVE")
    reply = await workspace.click("U0BOB", message, "deny")
    assert reply.status == 200
    updated = await slack.wait_for(
        lambda: [m for m in slack.messages("C0APPROVE") if m.text.startswith("deny")]
    )
    assert updated[0].text == "denyd by <@U0BOB>"
    [body] = seen["decide"]
    assert body["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": "C0APPROVE",
        "is_ephemeral": False,
    }
    assert body["message"]["ts"] == message.ts and body["message"]["blocks"]
    assert body["actions"][0]["value"] == "deny" and body["actions"][0]["block_id"] == "decide"
    assert body["channel"] == {"id": "C0APPROVE", "name": "access-approvals"}
    assert body["response_url"].startswith(slack.base_url)


async def slack_client_post(slack: SimulatedSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    await client.chat_postMessage(channel="C0APPROVE", text="Approve?", blocks=approval_blocks())


async def test_home_opened_event_publishes_the_home_tab(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    reply = await workspace.open_home("U0BOB")
    assert reply.status == 200
    home = await slack.wait_for(lambda: slack.home("U0BOB"))
    assert home["type"] == "home"
    assert seen["home"][0]["channel"] == slack.dm_channel("U0BOB")
    assert seen["retries"] == [None]


async def test_event_retry_repeats_the_event_id_with_retry_headers(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    event = {"type": "app_home_opened", "user": "U0BOB", "tab": "home"}
    await workspace.event(event, event_id="Ev0SAME")
    await workspace.event(event, event_id="Ev0SAME", retry_num=1)
    await slack.wait_for(lambda: len(seen["home"]) == 2)
    assert seen["retries"] == [None, ["1"]]


async def test_press_a_button_on_the_home_tab(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    await workspace.open_home("U0BOB")
    home = await slack.wait_for(lambda: slack.home("U0BOB"))
    reply = await workspace.press("U0BOB", home["id"], "refresh")
    assert reply.status == 200
    [body] = await slack.wait_for(lambda: seen["refresh"])
    assert body["container"] == {"type": "view", "view_id": home["id"]}
    assert body["view"]["type"] == "home" and body["actions"][0]["type"] == "button"


async def test_click_on_an_ephemeral_message_and_respond(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    await client.chat_postEphemeral(
        channel="C0APPROVE", user="U0ALICE", text="Note", blocks=DISMISSABLE
    )
    [note] = slack.ephemerals("U0ALICE")
    await workspace.click("U0ALICE", note, "dismiss")
    await slack.wait_for(lambda: slack.responses("U0ALICE"))
    [body] = seen["dismiss"]
    assert body["container"]["is_ephemeral"] is True and "message" not in body
    assert [m.text for m in slack.ephemerals("U0ALICE")] == ["Dismissed"]


async def test_deactivation_arrives_as_user_change(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    await workspace.deactivate("U0ALICE")
    [body] = await slack.wait_for(lambda: seen["user_change"])
    assert body["event"]["user"]["deleted"] is True
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")


async def test_bad_signature_is_refused(workspace: Workspace, seen: dict[str, list[Any]]) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode()
    reply = await workspace.post_raw(body, content_type="application/json", signature="v0=bad")
    assert reply.status == 401
    assert seen["home"] == []


async def test_six_minute_old_request_is_refused(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    form = "command=%2Fsalesforce&text=hello&user_id=U0ALICE"
    old = int(time.time()) - 6 * 60
    reply = await workspace.post_raw(
        form.encode(), content_type="application/x-www-form-urlencoded", timestamp=old
    )
    assert reply.status == 401
    assert seen["command"] == []
    assert parse_qs(form)["command"] == ["/salesforce"]


async def test_closing_a_modal_without_notify_sends_nothing(
    slack: SimulatedSlack, workspace: Workspace, seen: dict[str, list[Any]]
) -> None:
    view = await open_request(slack, workspace)
    assert await workspace.close("U0ALICE", view["id"]) is None
    assert slack.open_view("U0ALICE") is None
    with pytest.raises(InvalidSubmission):
        await workspace.submit("U0ALICE", view["id"])
