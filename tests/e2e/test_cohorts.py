"""A burst of requests reaches each owner as one list, decided line by line or all at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

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
from handlers.policy import Policy, Timings
from handlers.views.message import MESSAGE_BLOCKS_MAX
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    confirmed,
    current,
    dm_texts,
    fill_request,
    open_request_form,
    submit_request,
)

REQUESTERS = tuple(
    DemoPerson(f"U0COH{i:03d}", f"coh{i}", f"Cohort Person {i}", f"coh{i}@acme.com")
    for i in range(32)
)
SLOW = 120.0


@pytest.fixture
async def burst(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """Requests for Sales Cloud reaching the same owner within a minute share one message."""
    policy = demo_policy(cohort_window=timedelta(minutes=1))
    org = SimulatedOrg()
    org.seed_demo()
    org.admin_update("UserLicense", org.id_of("UserLicense", "Salesforce"), TotalLicenses=100)
    running = await open_stage(policy=policy, org=org, people=(*PEOPLE, *REQUESTERS))
    try:
        yield running
    finally:
        await running.close()


def _lists(stage: Stage, owner: str) -> list[PostedMessage]:
    """The owner's list messages (an owner who asked for access also hears about that)."""
    return [
        m
        for m in stage.slack.dms(owner)
        if not m.is_reply and "Salesforce access requests:" in json.dumps(m.blocks)
    ]


def _waiting(message: PostedMessage) -> int | None:
    """The count the list's tally shows as waiting."""
    text = json.dumps(message.blocks)
    marker = "* waiting for your decision"
    if marker not in text:
        return None
    return int(text.split(marker)[0].rsplit("*", 1)[-1])


async def test_a_burst_is_one_list_per_owner_approved_all_at_once_or_denied_by_line(
    burst: Stage,
) -> None:
    stage = burst
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
    for view_id in views:
        await confirmed(stage, view_id, timeout=SLOW)
    requests = await stage.runtime.deps.repo.find(states={State.PENDING_APPROVAL})
    assert len(requests) == len(REQUESTERS)

    # Each owner gets one message listing all 32, updated in place as they arrived.
    for owner in (OMAR.id, OLIVIA.id):
        await stage.slack.wait_for(
            lambda o=owner: _lists(stage, o) and _waiting(_lists(stage, o)[0]) == 32,  # type: ignore[misc]
            timeout=SLOW,
        )
        (listing,) = _lists(stage, owner)
        # Nothing else reached the owner: no message per request beside the list.
        assert [m.ts for m in stage.slack.dms(owner) if not m.is_reply] == [listing.ts]
        assert len(listing.blocks) <= MESSAGE_BLOCKS_MAX
        assert "more waiting" in json.dumps(listing.blocks)  # past 23 lines: summarised
    assert stage.slack.calls("chat.update"), "the lists grew in place"
    # Every requester heard about their own request.
    for person in REQUESTERS:
        await stage.slack.wait_for(
            lambda p=person: any("waiting" in t for t in dm_texts(stage, p.id)),  # type: ignore[misc]
            timeout=SLOW,
        )

    # Omar denies the first line; it goes through the deny modal as a single request would.
    (omar_list,) = _lists(stage, OMAR.id)
    first = next(r for r in requests if r.subject_id == REQUESTERS[0].id)
    await stage.workspace.click(OMAR.id, omar_list, ActionId.DENY, value=first.id)
    modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OMAR.id))
    await stage.workspace.submit(OMAR.id, modal["id"], {ActionId.DENY_REASON: "Not this one"})
    await stage.slack.wait_for(
        lambda: any("denied" in t for t in dm_texts(stage, REQUESTERS[0].id)), timeout=SLOW
    )

    # Olivia approves the rest at once: the same decide path, each requester told.
    await stage.slack.wait_for(lambda: _waiting(current(stage, _lists(stage, OLIVIA.id)[0])) == 31)
    olivia_list = current(stage, _lists(stage, OLIVIA.id)[0])
    reply = await stage.workspace.click(OLIVIA.id, olivia_list, ActionId.APPROVE_ALL)
    assert reply.status == 200
    for person in REQUESTERS[1:]:
        await stage.slack.wait_for(
            lambda p=person: any("is ready" in t for t in dm_texts(stage, p.id)),  # type: ignore[misc]
            timeout=SLOW,
        )
    await stage.settle()

    stored = {r.subject_id: r for r in await stage.runtime.deps.repo.find(limit=100)}
    assert stored[REQUESTERS[0].id].state is State.DENIED
    assert stored[REQUESTERS[0].id].decided_by == OMAR.id
    for person in REQUESTERS[1:]:
        assert stored[person.id].state is State.ACTIVE
        assert stored[person.id].decided_by == OLIVIA.id
        user = stage.org.user_by_username(person.email)
        assert user is not None and user.is_active
    assert stage.org.user_by_username(REQUESTERS[0].email) is None
    # Still one message per owner, now with nothing left to decide.
    for owner in (OMAR.id, OLIVIA.id):
        (listing,) = _lists(stage, owner)
        assert [m.ts for m in stage.slack.dms(owner) if not m.is_reply] == [listing.ts]
        now = current(stage, listing)
        assert _waiting(now) == 0
        assert "31 approved" in json.dumps(now.blocks) and "1 denied" in json.dumps(now.blocks)
        assert ActionId.APPROVE.value not in [
            e.get("action_id") for b in now.blocks for e in b.get("elements") or []
        ]
    # Every requester heard each step once.
    for person in REQUESTERS:
        texts = dm_texts(stage, person.id)
        assert len(texts) == len(set(texts)), texts


async def test_approve_all_leaves_an_owners_own_request_to_the_other_owner(burst: Stage) -> None:
    stage = burst
    for person in (OMAR, *REQUESTERS[:2]):
        view_id = await open_request_form(stage, person.id)
        await fill_request(stage, person.id, view_id)
        reply = await stage.workspace.submit(person.id, view_id)
        assert reply.status == 200
        await confirmed(stage, view_id)
    # Omar's own request is not in his list; Olivia's list has all three.
    await stage.slack.wait_for(
        lambda: (
            _lists(stage, OLIVIA.id) and _waiting(current(stage, _lists(stage, OLIVIA.id)[0])) == 3
        )
    )
    await stage.slack.wait_for(
        lambda: _lists(stage, OMAR.id) and _waiting(current(stage, _lists(stage, OMAR.id)[0])) == 2
    )
    omar_list = current(stage, _lists(stage, OMAR.id)[0])
    await stage.workspace.click(OMAR.id, omar_list, ActionId.APPROVE_ALL)
    await stage.settle()
    mine = (await stage.runtime.deps.repo.find(subject_id=OMAR.id))[0]
    assert mine.state is State.PENDING_APPROVAL
    for person in REQUESTERS[:2]:
        (request,) = await stage.runtime.deps.repo.find(subject_id=person.id)
        assert request.state in (State.APPROVED, State.PROVISIONING, State.ACTIVE)
    # Olivia's list still offers Omar's request; she may approve it on its line.
    olivia_list = current(stage, _lists(stage, OLIVIA.id)[0])
    assert _waiting(olivia_list) == 1
    await stage.workspace.click(OLIVIA.id, olivia_list, ActionId.APPROVE, value=mine.id)
    await stage.settle()
    again = await stage.runtime.deps.repo.get(mine.id)
    assert again is not None and again.decided_by == OLIVIA.id


async def test_a_listed_request_is_reminded_of_in_the_lists_thread(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    policy = Policy(
        applications=demo_policy(cohort_window=timedelta(minutes=1)).applications,
        timings=Timings(first_reminder_after=3600),
    )
    stage = await start(open_stage, clock, policy=policy)
    try:
        request = await submit_request(stage, JANE.id)
        lists = {
            owner: await stage.slack.wait_for(lambda o=owner: _lists(stage, o))  # type: ignore[misc]
            for owner in (OMAR.id, OLIVIA.id)
        }
        clock.advance(timedelta(minutes=61))
        await tick(stage)
        for owner, (listing,) in lists.items():
            (reminder,) = [m for m in stage.slack.dms(owner) if m.is_reply]
            assert reminder.thread_ts == listing.ts
            assert (
                reminder.text.startswith(":bell: 1st reminder")
                and request.id in str(reminder.blocks) + reminder.text
            )
    finally:
        await stage.close()
