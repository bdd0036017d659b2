"""The Web API client waits out 429s and retries 5xx, so a busy Slack loses no message."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import (
    JANE,
    OLIVIA,
    OMAR,
    PEOPLE,
    DemoPerson,
    Stage,
    demo_policy,
)
from handlers.ids import ActionId
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, dm_texts, submit_request


async def test_a_429_on_post_message_is_waited_out_and_retried(stage: Stage) -> None:
    stage.slack.fail_next("chat.postMessage", 429, retry_after=1)
    started = time.monotonic()
    request = await submit_request(stage, JANE.id)
    for owner in (OMAR.id, OLIVIA.id):
        await approval_message(stage, owner, request.id)
    waited = time.monotonic() - started
    posts = stage.slack.calls("chat.postMessage")
    assert (posts[0].status, posts[0].error) == (429, "ratelimited")
    # the same message went again after Retry-After, and every later one went through
    assert posts[1].ok and posts[1].args["channel"] == posts[0].args["channel"]
    assert all(call.ok for call in posts[1:])
    assert waited >= 1.0
    await stage.slack.wait_for(lambda: any("waiting" in t for t in dm_texts(stage, JANE.id)))


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(stage: Stage, status: int) -> None:
    request = await submit_request(stage, JANE.id)
    # Both owners have been asked before one decides (the asks go out one after the other).
    message = await approval_message(stage, OMAR.id, request.id)
    await approval_message(stage, OLIVIA.id, request.id)
    await stage.settle()  # the submission's notices are all out: the next update is the click's
    stage.slack.fail_next("chat.update", status)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.slack.wait_for(lambda: not _live_asks(stage))
    updates = stage.slack.calls("chat.update")
    assert updates[0].status == status and updates[1].ok
    assert updates[1].args["ts"] == updates[0].args["ts"]


async def test_an_ask_posted_after_the_decision_loses_its_buttons_too(stage: Stage) -> None:
    """Omar approves while Olivia's ask is still waiting out a 429: hers must not stay live."""
    stage.slack.fail_next("chat.postMessage", 429, retry_after=2, channel=OLIVIA.id)
    request = await submit_request(stage, JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    assert not stage.slack.dms(OLIVIA.id)  # still waiting
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.slack.wait_for(lambda: stage.slack.dms(OLIVIA.id))
    await stage.slack.wait_for(lambda: not _live_asks(stage), timeout=5)


async def test_settle_waits_for_what_a_listener_does_after_its_ack(stage: Stage) -> None:
    """The submission is acknowledged before the DMs go out; settle() waits for those too."""
    stage.slack.fail_next("chat.postMessage", 429, retry_after=1, channel=JANE.id)
    await submit_request(stage, JANE.id)
    await stage.settle()
    assert any("waiting" in t for t in dm_texts(stage, JANE.id))
    assert len(_asks(stage)) == 2


def _asks(stage: Stage) -> list[PostedMessage]:
    return [m for o in (OMAR.id, OLIVIA.id) for m in stage.slack.dms(o) if not m.is_reply]


def _live_asks(stage: Stage) -> list[PostedMessage]:
    """Approval messages that still show buttons."""
    return [m for m in _asks(stage) if any(b.get("type") == "actions" for b in m.blocks)]


async def test_a_rate_limited_home_tab_is_published_after_the_wait(stage: Stage) -> None:
    stage.slack.fail_next("views.publish", 429, retry_after=1)
    await stage.workspace.open_home(JANE.id)
    home = await stage.slack.wait_for(lambda: stage.slack.home(JANE.id), timeout=5)
    assert home["type"] == "home"
    statuses = [c.status for c in stage.slack.calls("views.publish")]
    assert statuses == [429, 200]


OWNERS = tuple(
    DemoPerson(f"U0OWN{i:03d}", f"owner{i}", f"Owner {i}", f"owner{i}@acme.com") for i in range(30)
)


@pytest.fixture
async def crowded(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """An application with thirty owners, each asked in their own DM."""
    policy = demo_policy(owners=tuple(o.id for o in OWNERS))
    running = await open_stage(policy=policy, people=(*PEOPLE, *OWNERS))
    try:
        yield running
    finally:
        await running.close()


async def test_fan_out_to_many_owners_posts_once_per_channel(crowded: Stage) -> None:
    request = await submit_request(crowded, JANE.id)
    for owner in OWNERS:
        await approval_message(crowded, owner.id, request.id)
    await crowded.slack.wait_for(lambda: dm_texts(crowded, JANE.id))
    posts = crowded.slack.calls("chat.postMessage")
    assert all(call.ok for call in posts)
    # chat.postMessage allows about one message a second per channel: one each, never a burst
    per_channel = Counter(str(call.args["channel"]) for call in posts)
    assert max(per_channel.values()) == 1
    assert len(per_channel) == len(OWNERS) + 1  # every owner, and the requester's notice
