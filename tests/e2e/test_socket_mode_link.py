"""A whole request over Socket Mode: the bot holds an app-level token and opens a link.

The simulated Slack hands out the link with ``apps.connections.open`` and sends every
command, click, submission and event in envelopes the bot must acknowledge, as Slack does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, dm_texts, open_request_form, submit_request


@pytest.fixture
async def linked(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """The bot connected in Socket Mode (no signing secret, no HTTP server)."""
    running = await open_stage(socket_mode=True)
    try:
        yield running
    finally:
        await running.close()
    assert running.slack.socket_mode.problems == []  # every envelope acked, and only those


async def test_a_request_goes_from_slash_command_to_provisioned_user(linked: Stage) -> None:
    hub = linked.slack.socket_mode
    (opened,) = linked.slack.calls("apps.connections.open")
    assert opened.ok and opened.token == linked.slack.app_token
    assert linked.workspace.app_url == "" and hub.connections == 1

    request = await submit_request(linked, JANE.id)
    ask = await approval_message(linked, OMAR.id, request.id)
    reply = await linked.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    assert reply.status == 200
    await linked.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(linked, JANE.id)))
    user = linked.org.user_by_username("jane.doe@acme.com")
    assert user is not None and user.is_active

    # the Home tab is an Events API event in its envelope
    await linked.workspace.open_home(JANE.id)
    await linked.slack.wait_for(lambda: linked.slack.home(JANE.id))
    kinds = {e.type for e in hub.delivered}
    assert kinds == {"slash_commands", "interactive", "events_api"}
    submission = next(e for e in hub.delivered if e.payload.get("type") == "view_submission")
    assert submission.accepts_response_payload
    click = next(e for e in hub.delivered if e.payload.get("type") == "block_actions")
    assert not click.accepts_response_payload


async def test_a_refresh_requested_disconnect_is_followed_by_a_new_link(linked: Stage) -> None:
    hub = linked.slack.socket_mode
    await open_request_form(linked, JANE.id)
    sent = hub.disconnect("refresh_requested")
    await linked.slack.wait_for(lambda: len(linked.slack.calls("apps.connections.open")) == 2)
    assert await asyncio.wrap_future(sent) is None
    await linked.slack.wait_for(lambda: hub.connections == 1)
    # the new link carries the next requests
    request = await submit_request(linked, JANE.id)
    assert request.subject_id == JANE.id
    assert [c.ok for c in linked.slack.calls("apps.connections.open")] == [True, True]


async def test_a_command_answered_with_text_shows_over_the_link(linked: Stage) -> None:
    reply = await linked.workspace.slash(JANE.id, "help")
    assert reply.status == 200
    answer = reply.json()
    assert "/salesforce" in answer["text"]
