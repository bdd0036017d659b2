"""Modals and Home tabs: trigger rules, hashes, stacks and what the person entered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack


def modal(*blocks: dict[str, Any], title: str = "Request access") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "request",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Request"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": "req-1",
        "blocks": list(blocks) or [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }


def text_input(block_id: str, label: str = "Reason") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": block_id},
    }


def select(block_id: str, *values: str, initial: str | None = None) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v.title()}, "value": v} for v in values]
    element: dict[str, Any] = {"type": "static_select", "action_id": block_id, "options": options}
    if initial:
        element["initial_option"] = next(o for o in options if o["value"] == initial)
    return {
        "type": "input",
        "block_id": block_id,
        "dispatch_action": True,
        "label": {"type": "plain_text", "text": block_id.title()},
        "element": element,
    }


async def open_modal(slack: SimulatedSlack, client: AsyncWebClient, *blocks: Any) -> Any:
    answer = await client.views_open(trigger_id=slack.issue_trigger("U0ALICE"), view=modal(*blocks))
    return answer["view"]


async def test_views_open_returns_the_view_slack_keeps(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = await open_modal(slack, slack_client, text_input("reason"))
    assert view["id"].startswith("V")
    assert view["hash"] and view["root_view_id"] == view["id"]
    assert view["private_metadata"] == "req-1" and view["callback_id"] == "request"
    assert view["state"]["values"] == {
        "reason": {"reason": {"type": "plain_text_input", "value": None}}
    }
    assert slack.open_view("U0ALICE") == view
    assert slack.open_view("U0BOB") is None


async def test_trigger_is_single_use(slack: SimulatedSlack, slack_client: AsyncWebClient) -> None:
    trigger = slack.issue_trigger("U0ALICE")
    await slack_client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_open(trigger_id=trigger, view=modal())
    assert caught.value.response["error"] == "invalid_trigger_id"


async def test_unknown_trigger_is_invalid(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_open(trigger_id="123.456.abc", view=modal())
    assert caught.value.response["error"] == "invalid_trigger_id"


async def test_trigger_expires_after_three_seconds(
    slack: SimulatedSlack,
    slack_client: AsyncWebClient,
    advance_clock: Callable[[float], None],
) -> None:
    late = slack.issue_trigger("U0ALICE")
    in_time = slack.issue_trigger("U0ALICE")
    advance_clock(2.9)
    await slack_client.views_open(trigger_id=in_time, view=modal())
    advance_clock(0.1)
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_open(trigger_id=late, view=modal())
    assert caught.value.response["error"] == "expired_trigger_id"


async def test_invalid_view_is_refused_with_its_reason(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    trigger = slack.issue_trigger("U0ALICE")
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_open(trigger_id=trigger, view=modal(title="x" * 25))
    assert caught.value.response["error"] == "invalid_arguments"
    assert "24" in caught.value.response["response_metadata"]["messages"][0]


async def test_modal_with_inputs_needs_submit(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = modal(text_input("reason"))
    del view["submit"]
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_open(trigger_id=slack.issue_trigger("U0ALICE"), view=view)
    assert caught.value.response["error"] == "invalid_arguments"


async def test_update_with_stale_hash_is_a_conflict(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = await open_modal(slack, slack_client, text_input("reason"))
    updated = await slack_client.views_update(
        view_id=view["id"], hash=view["hash"], view=modal(text_input("reason", "Why?"))
    )
    assert updated["view"]["id"] == view["id"]
    assert updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    assert caught.value.response["error"] == "hash_conflict"
    current = slack.view(view["id"])
    assert current is not None and current["blocks"][0]["label"]["text"] == "Why?"


async def test_update_of_unknown_view(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_update(view_id="V0NOPE", view=modal())
    assert caught.value.response["error"] == "not_found"


async def test_update_keeps_what_the_person_entered_when_ids_stay(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = await open_modal(
        slack, slack_client, select("license", "crm", "platform"), text_input("reason")
    )
    slack.set_view_entry(
        view["id"], "reason", "reason", {"type": "plain_text_input", "value": "Quarter close"}
    )
    slack.set_view_entry(
        view["id"],
        "license",
        "license",
        {"type": "static_select", "selected_option": view["blocks"][0]["element"]["options"][1]},
    )
    await slack_client.views_update(
        view_id=view["id"],
        view=modal(
            select("license", "crm", "platform"), text_input("reason"), select("profile", "std")
        ),
    )
    values = slack.view(view["id"])["state"]["values"]  # type: ignore[index]
    assert values["reason"]["reason"]["value"] == "Quarter close"
    assert values["license"]["license"]["selected_option"]["value"] == "platform"
    assert values["profile"]["profile"]["selected_option"] is None


async def test_update_drops_a_choice_no_longer_offered_and_applies_new_initials(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = await open_modal(slack, slack_client, select("profile", "std", "admin"))
    option = view["blocks"][0]["element"]["options"][1]
    slack.set_view_entry(
        view["id"], "profile", "profile", {"type": "static_select", "selected_option": option}
    )
    await slack_client.views_update(
        view_id=view["id"], view=modal(select("profile", "std", "viewer", initial="viewer"))
    )
    values = slack.view(view["id"])["state"]["values"]  # type: ignore[index]
    assert values["profile"]["profile"]["selected_option"]["value"] == "viewer"


async def test_push_stacks_up_to_three(slack: SimulatedSlack, slack_client: AsyncWebClient) -> None:
    root = await open_modal(slack, slack_client)
    second = await slack_client.views_push(trigger_id=slack.issue_trigger("U0ALICE"), view=modal())
    assert second["view"]["previous_view_id"] == root["id"]
    assert second["view"]["root_view_id"] == root["id"]
    await slack_client.views_push(trigger_id=slack.issue_trigger("U0ALICE"), view=modal())
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_push(trigger_id=slack.issue_trigger("U0ALICE"), view=modal())
    assert caught.value.response["error"] == "push_limit_reached"


async def test_submission_replies_change_the_stack(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    root = await open_modal(slack, slack_client, text_input("reason"))
    slack.apply_submission_reply(
        "U0ALICE", root["id"], {"response_action": "errors", "errors": {"reason": "Too short"}}
    )
    assert slack.view_errors(root["id"]) == {"reason": "Too short"}
    slack.apply_submission_reply(
        "U0ALICE", root["id"], {"response_action": "push", "view": modal(title="Confirm")}
    )
    top = slack.open_view("U0ALICE")
    assert top is not None and top["title"]["text"] == "Confirm"
    assert slack.view_errors(root["id"]) == {}
    slack.apply_submission_reply("U0ALICE", top["id"], None)
    assert slack.open_view("U0ALICE")["id"] == root["id"]  # type: ignore[index]
    slack.apply_submission_reply(
        "U0ALICE", root["id"], {"response_action": "update", "view": modal(title="Thanks")}
    )
    assert slack.open_view("U0ALICE")["title"]["text"] == "Thanks"  # type: ignore[index]
    slack.apply_submission_reply("U0ALICE", root["id"], {"response_action": "clear"})
    assert slack.open_view("U0ALICE") is None


async def test_update_of_a_closed_view_is_not_found(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    view = await open_modal(slack, slack_client)
    slack.close_view("U0ALICE", view["id"])
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_update(view_id=view["id"], view=modal())
    assert caught.value.response["error"] == "not_found"


async def test_publish_home_per_user_with_hash(
    slack: SimulatedSlack, slack_client: AsyncWebClient
) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "1"}}],
    }
    first = await slack_client.views_publish(user_id="U0ALICE", view=home)
    second = await slack_client.views_publish(
        user_id="U0ALICE", view=home, hash=first["view"]["hash"]
    )
    assert second["view"]["id"] == first["view"]["id"]
    with pytest.raises(SlackApiError) as caught:
        await slack_client.views_publish(user_id="U0ALICE", view=home, hash=first["view"]["hash"])
    assert caught.value.response["error"] == "hash_conflict"
    assert slack.home("U0ALICE") is not None and slack.home("U0BOB") is None
    with pytest.raises(SlackApiError) as wrong_type:
        await slack_client.views_publish(user_id="U0BOB", view={**home, "type": "modal"})
    assert wrong_type.value.response["error"] == "invalid_arguments"
