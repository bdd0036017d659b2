"""Idempotency: retried events, concurrent clicks and double submissions each take effect once."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.stage import JANE, OLIVIA, OMAR, Stage
from handlers.ids import ActionId
from storage.models import Kind, State
from tests.e2e.steps import (
    approval_message,
    dm_texts,
    fill_request,
    open_request_form,
    submit_request,
)
from tests.security.live import listeners_done

FORM = "application/x-www-form-urlencoded"


async def _provision(stage: Stage, user_id: str) -> str:
    request = await submit_request(stage, user_id)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.settle()
    return request.id


async def test_a_retried_event_runs_once(stage: Stage) -> None:
    def published() -> int:
        return len(stage.slack.calls("views.publish"))

    home = {"type": "app_home_opened", "user": JANE.id, "tab": "home"}
    home["channel"] = stage.slack.dm_channel(JANE.id)
    first = await stage.workspace.event(home, event_id="EvHOME0001")
    assert first.status == 200
    await stage.slack.wait_for(lambda: published() == 1)  # the first delivery is served
    for retry in (1, 2, 3):
        again = await stage.workspace.event(
            home, event_id="EvHOME0001", retry_num=retry, retry_reason="http_timeout"
        )
        assert again.status == 200
    # a new event id is a new event; by the time it is served, a retry would have been too
    await stage.workspace.event(home, event_id="EvHOME0002")
    await stage.slack.wait_for(lambda: published() >= 2)
    await listeners_done()
    assert published() == 2


async def test_an_offboarding_event_retried_at_once_revokes_once(stage: Stage) -> None:
    grant_id = await _provision(stage, JANE.id)
    user = stage.slack.set_deleted(JANE.id, True)
    event = {"type": "user_change", "user": user, "cache_ts": 1}
    deliveries = [stage.workspace.event(event, event_id="EvGONE0001")]
    deliveries += [
        stage.workspace.event(event, event_id="EvGONE0001", retry_num=n) for n in (1, 2, 3)
    ]
    replies = await asyncio.gather(*deliveries)
    assert [r.status for r in replies] == [200] * 4
    repo = stage.runtime.deps.repo

    async def revoked() -> bool:
        grant = await repo.get(grant_id)
        return grant is not None and grant.state is State.REVOKED

    async with asyncio.timeout(5):
        while not await revoked():
            await asyncio.sleep(0.02)
    await listeners_done()  # a duplicate would be running now, if there were one
    await stage.settle()
    revocations = await repo.find(grant_id=grant_id, kind=Kind.REVOKE)
    assert len(revocations) == 1
    sf_user = stage.org.user_by_username(JANE.email)
    assert sf_user is not None and not sf_user.is_active
    trail = [e.action for e in await repo.audit.for_request(revocations[0].id)]
    assert len(trail) == len(set(trail)), trail  # no step recorded twice


async def test_ten_concurrent_approvals_decide_once_and_create_one_user(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    messages = {
        owner: await approval_message(stage, owner, request.id) for owner in (OMAR.id, OLIVIA.id)
    }
    users_before = len(stage.org.users())
    clicks = [
        stage.workspace.click(owner, messages[owner], ActionId.APPROVE)
        for owner in [OMAR.id, OLIVIA.id] * 5
    ]
    replies = await asyncio.gather(*clicks)
    assert [r.status for r in replies] == [200] * 10
    await stage.settle()
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    repo = stage.runtime.deps.repo
    stored = await repo.get(request.id)
    assert stored is not None and stored.state is State.ACTIVE
    trail = [e.action for e in await repo.audit.for_request(request.id)]
    assert trail.count("approved") == 1
    assert trail.count("provisioned") == 1
    assert trail.count("provisioning_started") == 1
    assert len(stage.org.users()) == users_before + 1
    assert len([u for u in stage.org.users() if u.username == JANE.email]) == 1
    # the nine late clicks each hear that it was already approved
    late = [
        r
        for owner in (OMAR.id, OLIVIA.id)
        for r in stage.slack.responses(owner)
        if "already approved" in json.dumps(r.model_dump())
    ]
    assert len(late) == 9
    assert sum("is ready" in t for t in dm_texts(stage, JANE.id)) == 1


async def test_a_double_submitted_modal_stores_one_request(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id)
    view = stage.slack.view(view_id)
    user = stage.slack.user(JANE.id)
    assert view is not None and user is not None
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    # Slack resends a submission it thinks was lost; a double click sends two at once.
    bodies = [
        urlencode(
            {
                "payload": json.dumps(
                    payloads.view_submission(
                        team, user, view, trigger_id=slack.issue_trigger(JANE.id)
                    )
                )
            }
        ).encode()
        for _ in range(3)
    ]
    replies = await asyncio.gather(
        *(stage.workspace.post_raw(b, content_type=FORM) for b in bodies[:2])
    )
    replies.append(await stage.workspace.post_raw(bodies[2], content_type=FORM))
    assert [r.status for r in replies] == [200] * 3
    await stage.settle()
    repo = stage.runtime.deps.repo
    stored = await repo.find(subject_id=JANE.id)
    assert len(stored) == 1
    assert [e.action for e in await repo.audit.for_request(stored[0].id)] == ["submitted"]
    # the owners are asked once each, the requester told once
    for owner in (OMAR.id, OLIVIA.id):
        asked = [m for m in stage.slack.dms(owner) if stored[0].id in json.dumps(m.blocks)]
        assert len([m for m in asked if not m.is_reply]) == 1
    assert sum("waiting" in t for t in dm_texts(stage, JANE.id)) == 1
