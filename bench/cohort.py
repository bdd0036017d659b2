"""A burst of requests to one application's two owners, under Slack's rate limits.

Measured from the first submission until every request can be approved from Slack by each
owner (its own message, or a list that holds it) and every requester was told it waits: the
minutes that took and the Slack Web API calls made, with the owners' lists (cohorts) against
one message per request.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench.dbread import ReadOnlyDb
from bench.grants import BACKLOG_PEOPLE, accepted, approve_value, confirmed, fill_form
from bench.load import run_concurrently, wait_until
from bench.rig import BenchUser, Simulators
from bench.stack import one_bot
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import OLIVIA, OMAR
from bot.sandbox.workspace import Workspace

OWNERS = (OMAR.id, OLIVIA.id)
WAITING = re.compile(r"\*(\d+)\* waiting for your decision")
WAITING_DM = "waiting"  # words of the requester's "waiting for the owners" DM
COHORT_WINDOW = "PT60S"


@dataclass(frozen=True)
class BurstRun:
    """What one way of asking the owners did with ``requests`` submitted at once."""

    requests: int
    submitted: int
    seconds: float
    calls: int
    limited: int
    owner_messages: int
    reachable: bool
    told: bool

    @property
    def minutes(self) -> float:
        """Minutes from the first submission until everything was reachable and told."""
        return self.seconds / 60


def reachable_from(messages: list[PostedMessage], ids: set[str]) -> int:
    """How many of ``ids`` an owner can approve from these messages: a single message's
    Approve button, or a list's count of those waiting (its Approve all covers them)."""
    single: set[str | None] = set()
    listed = 0
    for message in messages:
        found = WAITING.search(json.dumps(message.blocks))
        if found:
            listed += int(found.group(1))
        else:
            single.add(approve_value(message))
    return len(single & ids) + listed


async def run_burst(
    directory: Path,
    *,
    requests: int,
    delay: float,
    concurrency: int,
    cohorts: bool,
    within: float,
) -> BurstRun:
    """``requests`` people fill the form (limits off), then all submit at once (limits on)."""
    policy = {"cohort_window": COHORT_WINDOW} if cohorts else None
    async with one_bot(directory, delay=delay, users=requests, naive=False, policy=policy) as (
        sims,
        bot,
        space,
    ):
        return await _burst(sims, space, ReadOnlyDb(bot.database), sims.users, concurrency, within)


async def _burst(
    sims: Simulators,
    space: Workspace,
    db: ReadOnlyDb,
    users: list[BenchUser],
    concurrency: int,
    within: float,
) -> BurstRun:
    slack = sims.slack
    slack.set_rate_limits(enabled=False)

    async def fill(user: BenchUser) -> tuple[str, str | None]:
        try:
            return user.id, await fill_form(sims, space, user, 30.0)
        except (LookupError, TimeoutError):
            return user.id, None  # never submitted: the run's check counts it

    views = await run_concurrently(users, min(concurrency, BACKLOG_PEOPLE), fill)
    slack.set_rate_limits(enabled=True)
    calls_before = len(slack.calls())
    limited_before = len(slack.rate_limited_calls())
    started = time.monotonic()
    sent = [view_id for _, view_id in views if view_id is not None]
    replies = await asyncio.gather(
        *(space.submit(user_id, view_id) for user_id, view_id in views if view_id is not None)
    )
    answered = [view_id for view_id, r in zip(sent, replies, strict=True) if accepted(r)]
    await wait_until(lambda: all(confirmed(sims, v) for v in answered), within=within, interval=0.1)
    submitted = sum(1 for v in answered if confirmed(sims, v))
    ids = set(db.request_ids(state="pending_approval"))

    def owners_reach() -> bool:
        return all(
            reachable_from([m for m in slack.dms(o) if not m.is_reply], ids) >= len(ids)
            for o in OWNERS
        )

    def everyone_told() -> bool:
        return all(any(WAITING_DM in m.text for m in slack.dms(u.id)) for u in users)

    reachable = await wait_until(owners_reach, within=within, interval=0.5)
    told = await wait_until(everyone_told, within=within, interval=0.5)
    seconds = time.monotonic() - started
    return BurstRun(
        requests=len(users),
        submitted=submitted,
        seconds=seconds,
        calls=len(slack.calls()) - calls_before,
        limited=len(slack.rate_limited_calls()) - limited_before,
        owner_messages=sum(len([m for m in slack.dms(o) if not m.is_reply]) for o in OWNERS),
        reachable=reachable and len(ids) == submitted,
        told=told,
    )
