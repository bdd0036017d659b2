"""Shortcuts for the access review tests: grants for many people, the review messages, clicks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from bot.review_cli import start_review
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import OMAR, DemoPerson, Stage
from handlers.ids import ActionId
from storage.models import AccessRequest, State
from storage.review_models import Campaign, ReviewItem
from tests.e2e.lifecycle_steps import tick, until
from tests.e2e.steps import approval_message, current, submit_request

REVIEW = "Access review of"


async def granted(stage: Stage, person: DemoPerson, **choices: Any) -> AccessRequest:
    """``person`` asks, Omar approves (returns the request; it goes live in the background)."""
    request = await submit_request(stage, person.id, **choices)
    ask = await approval_message(stage, OMAR.id, request.id)
    assert (await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)).status == 200
    return request


async def all_active(stage: Stage, requests: list[AccessRequest]) -> list[AccessRequest]:
    """The requests once every one is live."""
    repo = stage.runtime.deps.repo

    async def live() -> list[AccessRequest] | None:
        found = [await repo.get(r.id) for r in requests]
        done = [g for g in found if g is not None and g.state is State.ACTIVE]
        return done if len(done) == len(requests) else None

    grants = await until(live, timeout=60)
    await stage.settle()
    return grants


async def grant_many(stage: Stage, people: tuple[DemoPerson, ...]) -> list[AccessRequest]:
    """Everyone asks (ten at a time), Omar approves, and every access is live."""
    requests: list[AccessRequest] = []
    for start in range(0, len(people), 10):
        chunk = people[start : start + 10]
        requests += await asyncio.gather(*(granted(stage, p, duration="permanent") for p in chunk))
    return await all_active(stage, requests)


async def open_review(stage: Stage, application: str = "sales") -> Campaign:
    """``accessbot review start`` then one tick: the campaign is open."""
    path = stage.runtime.settings.database
    said = await start_review(path, stage.policy, application, actor="cli")
    assert "asked for" in said, said
    await tick(stage)
    (campaign,) = await stage.runtime.deps.reviews.campaigns()
    assert campaign.state.value == "open", campaign
    return campaign


def review_message(stage: Stage, reviewer: str) -> PostedMessage | None:
    """The reviewer's one review message, as it looks now."""
    found = [m for m in stage.slack.dms(reviewer) if not m.is_reply and REVIEW in m.text]
    assert len(found) <= 1, f"{reviewer} got {len(found)} review messages"
    return found[0] if found else None


async def lines_of(stage: Stage, campaign: Campaign, reviewer: str) -> list[ReviewItem]:
    """The reviewer's lines as stored now."""
    return await stage.runtime.deps.reviews.items(campaign.id, reviewer=reviewer)


async def click_line(stage: Stage, who: str, owner: str, item: ReviewItem, action: str) -> None:
    """``who`` clicks Keep or Revoke on ``item`` in ``owner``'s review message (a forged click
    when they differ: the payload names ``who``) and waits for the listener to finish."""
    message = review_message(stage, owner)
    assert message is not None
    shown = current(stage, message)
    # the simulated click falls back to the first button when the value is not shown
    assert f'"{item.id}"' in json.dumps(shown.blocks), f"{item.id} is not on the page shown"
    reply = await stage.workspace.click(who, shown, action, value=item.id)
    assert reply.status == 200
    await stage.settle()


def later(days: float) -> timedelta:
    """A shift of the test clock."""
    return timedelta(days=days)
