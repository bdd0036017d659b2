"""A message Slack cannot take even after the client's retries waits in the outbox: none is lost."""

from __future__ import annotations

import json

from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.outbox import Outbox
from tests.e2e.steps import approval_message, current, submit_request


async def test_an_approval_message_slack_failed_is_delivered_later_and_still_updated(
    stage: Stage,
) -> None:
    # the client retries a 500 twice: three failures in a row beat it
    for _ in range(3):
        stage.slack.fail_next("chat.postMessage", status=500)
    request = await submit_request(stage, JANE.id)
    await stage.slack.wait_for(lambda: stage.slack.dms(JANE.id))  # later posts go through
    outbox = Outbox(stage.runtime.db)
    assert await outbox.pending() == 1
    assert not [m for m in stage.slack.dms(OMAR.id) if request.id in json.dumps(m.blocks)]

    await stage.runtime.ticker.run_all_once()
    assert await outbox.pending() == 0
    message = await approval_message(stage, OMAR.id, request.id)
    # the late message is remembered, so the decision still replaces its buttons
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(
        lambda: not any(b.get("type") == "actions" for b in current(stage, message).blocks)
    )


async def test_a_message_slack_refuses_for_good_is_not_retried(stage: Stage) -> None:
    stage.slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await submit_request(stage, JANE.id)
    await stage.slack.wait_for(lambda: stage.slack.dms(JANE.id))
    assert await Outbox(stage.runtime.db).pending() == 0
