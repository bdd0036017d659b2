"""One grant's whole story under its approval messages, and confirms on destructive buttons."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.sandbox.render import render_blocks
from bot.sandbox.salesforce_org import FaultKind
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, JANE, OLIVIA, OMAR, Stage, demo_policy
from handlers.ids import ActionId, BlockId
from handlers.policy import Policy, Timings
from storage.models import State
from tests.e2e.steps import approval_message, current, dm_texts, submit_request


def replies_to(stage: Stage, message: PostedMessage) -> list[str]:
    """The text of each thread reply under ``message``, oldest first."""
    return [
        m.text
        for m in stage.slack.messages(message.channel)
        if m.thread_ts == message.ts and m.is_reply
    ]


def rendered(stage: Stage, message: PostedMessage) -> str:
    return render_blocks(message.blocks, message.text, names=stage.slack.name_of)


def actions(message: PostedMessage) -> list[dict[str, object]]:
    return [e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]]


async def test_a_grants_life_reads_top_to_bottom_under_each_approval_message(stage: Stage) -> None:
    request = await submit_request(
        stage,
        JANE.id,
        duration="P30D",
        permission_sets=("Sales_Ops", "Reports_Export"),
        reason="Quarter close with the EMEA team",
    )
    asks = [await approval_message(stage, owner, request.id) for owner in (OMAR.id, OLIVIA.id)]
    for ask in asks:
        text = rendered(stage, ask)
        for fact in (
            "Jane Doe",
            "Salesforce",
            "Sales User",
            # owners read the labels the request form showed, not the API names
            "Sales Rep",
            "Sales Operations",
            "Export Reports",
            "30 days",
            "Quarter close with the EMEA team",
            f"Request `{request.id}`",
        ):
            assert fact in text, fact
        approve, deny = actions(ask)
        assert approve["action_id"] == ActionId.APPROVE and deny["action_id"] == ActionId.DENY
        # the destructive button asks first
        assert isinstance(deny["confirm"], dict) and deny["confirm"]["style"] == "danger"
        assert replies_to(stage, ask) == []

    await stage.workspace.click(OMAR.id, asks[0], ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.settle()
    for ask in asks:
        decided = current(stage, ask)
        assert actions(decided) == []
        assert "Approved" in rendered(stage, decided) and f"Request `{request.id}`" in rendered(
            stage, decided
        )
        assert any(b.get("block_id") == BlockId.OUTCOME for b in decided.blocks)
        (ready,) = replies_to(stage, ask)
        assert "is ready" in ready and "jane.doe@acme.com" in ready

    # Jane gives the access up from her Home tab; the removal lands in the same threads
    await stage.workspace.open_home(JANE.id)
    home = await stage.slack.wait_for(
        lambda: (h := stage.slack.home(JANE.id)) and "Active" in str(h) and h
    )
    await stage.workspace.press(JANE.id, home["id"], ActionId.REVOKE_NOW, value=request.id)
    await stage.slack.wait_for(lambda: all(len(replies_to(stage, ask)) == 2 for ask in asks))
    await stage.settle()
    for ask in asks:
        assert "Access removed" in replies_to(stage, ask)[-1]
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.REVOKED
    user = stage.org.user_by_username(JANE.email)
    assert user is not None and not user.is_active


async def test_a_failure_is_told_in_the_thread_too(stage: Stage) -> None:
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    request = await submit_request(stage, JANE.id)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: replies_to(stage, ask))
    await stage.settle()
    (handed,) = replies_to(stage, ask)
    assert "Handed to" in handed
    assert "Ada" in render_blocks(
        next(m for m in stage.slack.messages(ask.channel) if m.is_reply).blocks,
        names=stage.slack.name_of,
    )
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.NEEDS_ADMIN
    # the admin's DM is its own message, not a thread reply
    assert [m for m in stage.slack.dms(ADA.id) if not m.is_reply]


async def test_an_approval_channel_keeps_the_story_in_one_thread(stage: Stage) -> None:
    stage.set_policy(demo_policy(approval_channel="C0APPROVALS"))
    request = await submit_request(stage, JANE.id)

    def posted() -> PostedMessage | None:
        found = [m for m in stage.slack.messages("C0APPROVALS") if not m.is_reply]
        return found[0] if found else None

    ask = await stage.slack.wait_for(posted)
    assert request.id in rendered(stage, ask)
    # owners are asked in the channel, not by DM
    assert not [m for m in stage.slack.dms(OMAR.id) if actions(m)]
    await stage.workspace.click(OLIVIA.id, ask, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: replies_to(stage, ask))
    await stage.settle()
    assert actions(current(stage, ask)) == []
    (ready,) = replies_to(stage, ask)
    assert "is ready" in ready
    top_level = [m for m in stage.slack.messages("C0APPROVALS") if not m.is_reply]
    assert len(top_level) == 1


async def test_denied_requests_keep_the_outcome_and_lose_the_buttons(stage: Stage) -> None:
    request = await submit_request(stage, JANE.id)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.DENY)
    modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OMAR.id))
    await stage.workspace.submit(OMAR.id, modal["id"], {ActionId.DENY_REASON: "Not this quarter"})
    await stage.slack.wait_for(lambda: actions(current(stage, ask)) == [])
    for owner in (OMAR.id, OLIVIA.id):
        first = await _first(stage, owner)
        await stage.slack.wait_for(lambda: actions(current(stage, first)) == [])  # noqa: B023
        decided = current(stage, first)
        text = rendered(stage, decided)
        assert "Denied" in text and "Not this quarter" in text and request.id in text


async def _first(stage: Stage, owner: str) -> PostedMessage:
    return next(m for m in stage.slack.dms(owner) if not m.is_reply)


async def test_a_passing_failure_is_told_once_then_the_success(stage: Stage) -> None:
    stage.set_policy(
        Policy(
            applications=demo_policy().applications,
            timings=Timings(retry_base_delay=timedelta(0)),
        )
    )
    request = await submit_request(stage, JANE.id)
    ask = await approval_message(stage, OMAR.id, request.id)
    stage.org.faults.inject(FaultKind.UNAVAILABLE, count=2, path="/composite")
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: replies_to(stage, ask))
    await stage.settle()
    # the scheduler's tick tries again; the second failure adds no line
    for _ in range(40):
        stored = await stage.runtime.deps.repo.get(request.id)
        if stored is not None and stored.state is State.ACTIVE:
            break
        await asyncio.sleep(0.05)
        await stage.runtime.deps.worker.run_due()
    await stage.slack.wait_for(lambda: len(replies_to(stage, ask)) == 2)
    retrying, ready = replies_to(stage, ask)
    assert "trying again" in retrying and "is ready" in ready
