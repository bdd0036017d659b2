"""Slack answering 429 and 500 along a whole request: everything arrives, and arrives once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.sandbox.stage import JANE, OLIVIA, OMAR, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.steps import approval_message, current, dm_texts, submit_request

# Every Web API method a request passes through, each failing once on its first call.
FAULTS = (
    ("views.open", 429),
    ("views.update", 500),
    ("users.info", 503),
    ("chat.postMessage", 500),
    ("chat.update", 429),
)


@pytest.mark.parametrize(("method", "status"), FAULTS)
async def test_a_request_survives_one_slack_failure_per_call(
    stage: Stage, method: str, status: int
) -> None:
    stage.slack.fail_next(method, status, retry_after=0)
    request = await submit_request(stage, JANE.id)
    asks = {
        owner: await approval_message(stage, owner, request.id) for owner in (OMAR.id, OLIVIA.id)
    }
    await stage.workspace.click(OMAR.id, asks[OMAR.id], ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.settle()

    failed = [c for c in stage.slack.calls(method) if not c.ok]
    assert [c.status for c in failed] == [status]  # the fault happened, and only once
    stored = await stage.runtime.deps.repo.find(subject_id=JANE.id)
    assert [r.state for r in stored] == [State.ACTIVE]
    assert len([u for u in stage.org.users() if u.username == JANE.email]) == 1
    # each owner asked once, each ask updated with the outcome, the requester told once each
    for owner, ask in asks.items():
        mine = [
            m
            for m in stage.slack.dms(owner)
            if not m.is_reply and request.id in json.dumps(m.blocks)
        ]
        assert len(mine) == 1
        assert not any(b.get("type") == "actions" for b in current(stage, ask).blocks)
    said = Counter(
        "waiting" if "waiting" in t else "ready" if "is ready" in t else "other"
        for t in dm_texts(stage, JANE.id)
    )
    assert (said["waiting"], said["ready"]) == (1, 1)
    posts = Counter(
        (str(c.args.get("channel")), str(c.args.get("text")))
        for c in stage.slack.calls("chat.postMessage")
        if c.ok
    )
    assert max(posts.values()) == 1, "a message went out twice"
