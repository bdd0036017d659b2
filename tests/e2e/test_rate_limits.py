"""Under Slack's real rate limits every message arrives, once, in order per conversation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
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
from storage.models import State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    approval_message,
    current,
    dm_texts,
    fill_request,
    open_request_form,
    submit_request,
)

REQUESTERS = tuple(
    DemoPerson(f"U0REQ{i:03d}", f"req{i}", f"Requester {i}", f"req{i}@acme.com") for i in range(30)
)
# Thirty asks to one person take about half a minute at one message a second.
SLOW = 120.0


@pytest.fixture
async def one_owner(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """Omar alone owns the application, and thirty people are about to ask for it."""
    policy = demo_policy(owners=(OMAR.id,))
    org = SimulatedOrg()
    org.seed_demo()
    # A seat for each of them: the demo org's ten would run out.
    org.admin_update("UserLicense", org.id_of("UserLicense", "Salesforce"), TotalLicenses=100)
    running = await open_stage(policy=policy, org=org, people=(*PEOPLE, *REQUESTERS))
    try:
        yield running
    finally:
        await running.close()


def _asks(stage: Stage) -> list[PostedMessage]:
    return [m for m in stage.slack.dms(OMAR.id) if not m.is_reply]


def _first_attempts(stage: Stage, channel: str) -> list[str]:
    """The texts the bot tried to post to ``channel``, each once, in the order first tried."""
    texts = (
        str(call.args.get("text"))
        for call in stage.slack.calls("chat.postMessage")
        if call.args.get("channel") == channel and not call.args.get("thread_ts")
    )
    return list(dict.fromkeys(texts))


async def test_thirty_requests_for_one_owner_at_once_all_reach_him_in_order(
    one_owner: Stage,
) -> None:
    stage = one_owner
    views = [await open_request_form(stage, person.id) for person in REQUESTERS]
    for person, view_id in zip(REQUESTERS, views, strict=True):
        await fill_request(stage, person.id, view_id)

    replies = await asyncio.gather(
        *(
            stage.workspace.submit(person.id, view_id)
            for person, view_id in zip(REQUESTERS, views, strict=True)
        )
    )
    assert all(reply.status == 200 for reply in replies)

    await stage.slack.wait_for(lambda: len(_asks(stage)) >= len(REQUESTERS), timeout=SLOW)
    # Slack refused some posts to Omar (one a second), and the bot counted every 429.
    refused = stage.slack.rate_limited_calls("chat.postMessage")
    assert refused and all(call.args["channel"] == OMAR.id for call in refused)
    assert stage.runtime.deps.rate_limits.by_method["chat.postMessage"] == len(refused)
    asks = _asks(stage)
    # One ask per request, none lost or repeated, in the order the bot first tried each.
    requests = {
        r.id: r for r in await stage.runtime.deps.repo.find(states={State.PENDING_APPROVAL})
    }
    assert len(requests) == len(REQUESTERS)
    about = [next(rid for rid in requests if rid in str(m.blocks)) for m in asks]
    assert sorted(about) == sorted(requests)
    assert [m.text for m in asks] == _first_attempts(stage, OMAR.id)

    for message in asks:
        reply = await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
        assert reply.status == 200

    def told(person: DemoPerson) -> list[str] | None:
        texts = [m.text for m in stage.slack.dms(person.id) if not m.is_reply]
        return texts if any("is ready" in t for t in texts) else None

    for person in REQUESTERS:
        texts = await stage.slack.wait_for(lambda p=person: told(p), timeout=SLOW)  # type: ignore[misc]
        # Each requester heard each step once, in the order it happened.
        steps = [
            next(i for i, t in enumerate(texts) if "waiting" in t),
            next(i for i, t in enumerate(texts) if "was approved" in t),
            next(i for i, t in enumerate(texts) if "is ready" in t),
        ]
        assert steps == sorted(steps), texts
        assert len(texts) == len(set(texts)), texts
    active = await stage.runtime.deps.repo.find(states={State.ACTIVE})
    assert {r.subject_id for r in active} == {p.id for p in REQUESTERS}
    await stage.settle()
    assert stage.runtime.deps.rate_limits.total == len(stage.slack.rate_limited_calls())


async def test_provisioning_does_not_wait_for_slack_to_take_the_approval_update(
    stage: Stage,
) -> None:
    """Slack holds the approval messages' update back for seconds; the user is active anyway."""
    request = await submit_request(stage, JANE.id)
    ask = await approval_message(stage, OMAR.id, request.id)
    await approval_message(stage, OLIVIA.id, request.id)
    held_for = 3
    stage.slack.fail_next("chat.update", 429, retry_after=held_for)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)

    def active() -> bool:
        user = stage.org.user_by_username(JANE.email)
        return user is not None and user.is_active

    await stage.slack.wait_for(active, timeout=held_for - 1)
    # Active while Slack still refuses the update (provisioning did not queue behind it); the
    # grant may even be active before the update is first tried.
    assert not any(c.ok for c in stage.slack.calls("chat.update"))
    await stage.slack.wait_for(lambda: stage.slack.calls("chat.update"))
    assert [c.ok for c in stage.slack.calls("chat.update")][:1] == [False]
    texts = await stage.slack.wait_for(
        lambda: (t := dm_texts(stage, JANE.id)) and any("is ready" in x for x in t) and t
    )
    approved = next(i for i, t in enumerate(texts) if "was approved" in t)
    ready = next(i for i, t in enumerate(texts) if "is ready" in t)
    assert approved < ready, texts
    await stage.settle()
    for owner in (OMAR.id, OLIVIA.id):
        updated = current(stage, await approval_message_any(stage, owner, request.id))
        assert not any(b.get("type") == "actions" for b in updated.blocks)


async def approval_message_any(stage: Stage, owner: str, request_id: str) -> PostedMessage:
    """The owner's approval message about ``request_id``, buttons or not."""
    return next(m for m in stage.slack.dms(owner) if not m.is_reply and request_id in str(m.blocks))
