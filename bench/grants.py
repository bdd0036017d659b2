"""Grants end to end: people submit the request form, an owner approves, the bot provisions.

Measured: the Approve clicks' acknowledgement times, grants provisioned per second from the
first click to the last provisioned request, and whether every request was provisioned exactly
once (database, audit log, Salesforce and the requesters' DMs all agree).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.dbread import ReadOnlyDb
from bench.load import collector_paused, run_concurrently, wait_until
from bench.rig import BenchUser, BotProcess, Simulators
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import OMAR
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId, CallbackId

JsonDict = dict[str, Any]
READY = " is ready."  # the words of the "you have access" DM


@dataclass(frozen=True)
class GrantRun:
    """What one bot did with ``grants`` approved requests."""

    grants: int
    submitted: int
    clicks: tuple[float, ...]
    click_seconds: float
    provisioned: int
    seconds: float
    to_active: tuple[float, ...]
    api_calls: int
    problems: tuple[str, ...]

    @property
    def per_second(self) -> float:
        """Grants provisioned per second, first click to last provisioned."""
        return self.provisioned / self.seconds if self.seconds > 0 else 0.0

    @property
    def calls_per_grant(self) -> float:
        """Salesforce data API calls the org answered per grant during the run."""
        return self.api_calls / self.provisioned if self.provisioned else float("nan")


async def _view_of(
    sims: Simulators,
    user_id: str,
    accept: Callable[[JsonDict], bool],
    within: float,
    missing: str = "no matching modal",
) -> JsonDict:
    found: list[JsonDict] = []

    def ready() -> bool:
        view = sims.slack.open_view(user_id)
        if view is not None and accept(view):
            found.append(view)
            return True
        return False

    if not await wait_until(ready, within=within, interval=0.02):
        raise TimeoutError(f"{missing} within {within:g} s")
    return found[0]


async def submit_form(
    sims: Simulators, workspace: Workspace, user: BenchUser, within: float = 30.0
) -> str | None:
    """``/salesforce``, pick a license (the profiles refill), choose the rest, submit.

    None once the submission is acknowledged; otherwise what the person saw go wrong."""
    try:
        return await _fill_and_submit(sims, workspace, user, within)
    except (LookupError, TimeoutError, ValueError) as error:
        return str(error)  # counted as a failed submission; the run goes on


async def _fill_and_submit(
    sims: Simulators, workspace: Workspace, user: BenchUser, within: float
) -> str | None:
    before = sims.slack.open_view(user.id)
    earlier = before["id"] if before else None
    reply = await workspace.slash(user.id)
    if reply.status != 200:
        return f"/salesforce answered {reply.status}"
    form = await _view_of(
        sims,
        user.id,
        lambda v: v.get("callback_id") == CallbackId.REQUEST and v.get("id") != earlier,
        within,
        "no request form",
    )
    view_id, first_hash = str(form["id"]), form["hash"]
    await workspace.pick(user.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await _view_of(
        sims,
        user.id,
        lambda v: v.get("hash") != first_hash,
        within,
        "no refresh after the license pick",
    )
    await workspace.choose(user.id, view_id, ActionId.REQUEST_PROFILE, "Sales User")
    await workspace.choose(user.id, view_id, ActionId.REQUEST_ROLE, "SalesRep")
    await workspace.choose(user.id, view_id, ActionId.REQUEST_PERMISSION_SETS, ["Sales_Ops"])
    await workspace.type(user.id, view_id, ActionId.REQUEST_REASON, "Quarter close (bench)")
    reply = await workspace.submit(user.id, view_id)
    if reply.status != 200 or reply.body.strip():
        return f"the submission answered {reply.status} {reply.body.strip()[:80]!r}"
    return None


def failures(reasons: list[str | None]) -> str:
    """How many jobs failed and why, most frequent reason first."""
    counted = Counter(reason for reason in reasons if reason is not None)
    whys = "; ".join(f"{n}: {reason}" for reason, n in counted.most_common(3))
    return f"{sum(counted.values())} ({whys})"


def approve_value(message: PostedMessage) -> str | None:
    """The request id an approval message's Approve button carries."""
    for block in message.blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == ActionId.APPROVE:
                value = element.get("value")
                return str(value) if value else None
    return None


async def run_grants(
    sims: Simulators,
    workspace: Workspace,
    bot: BotProcess,
    users: list[BenchUser],
    *,
    concurrency: int,
    think: float,
    within: float,
) -> GrantRun:
    """Submit one request per user, approve them all, and wait for every one to be active."""
    db = ReadOnlyDb(bot.database)

    async def submit(user: BenchUser) -> tuple[str | None]:
        return (await submit_form(sims, workspace, user),)  # a tuple: None means submitted

    reasons = [r for (r,) in await run_concurrently(users, concurrency, submit, think=0.0)]
    submitted = reasons.count(None)
    # The owners are asked after the submission is acknowledged; wait for every ask to be
    # recorded, then for each pending request's message to reach the owner's DMs (a message
    # Slack refused with a 429 is posted again from the outbox after the Retry-After).
    await wait_until(lambda: db.approval_asks() >= 2 * submitted, within=within, interval=0.1)
    ids = set(db.request_ids(state="pending_approval"))
    asks: dict[str | None, PostedMessage] = {}

    def every_ask_posted() -> bool:
        asks.update({approve_value(m): m for m in sims.slack.dms(OMAR.id) if not m.is_reply})
        return ids <= asks.keys()

    await wait_until(every_ask_posted, within=within, interval=0.1)
    messages = [asks[i] for i in sorted(ids) if i in asks]
    clicked_at: dict[str, float] = {}
    calls_before = sims.org.api_calls()

    async def approve(message: PostedMessage) -> float:
        clicked_at[str(approve_value(message))] = time.time()
        reply = await workspace.click(OMAR.id, message, ActionId.APPROVE)
        return reply.elapsed if reply.status == 200 else float("nan")

    with collector_paused():
        started = time.time()
        clicks = await run_concurrently(messages, concurrency, approve, think=think)
        click_seconds = time.time() - started
        await wait_until(lambda: db.count(state="active") >= len(messages), within=within)
    active = db.active_since(clicked_at)
    seconds = (max(active.values()) if active else time.time()) - started
    api_calls = sims.org.api_calls() - calls_before
    await asyncio.sleep(0.5)  # the "you have access" DMs follow the state change
    # Only the people whose request was recorded can be checked for a user, an assignment, a DM.
    recorded = db.subjects(ids)
    problems = check_exactly_once(sims, db, [u for u in users if u.id in recorded], ids)
    unasked = sorted(ids - asks.keys())
    if unasked:
        problems.insert(0, f"{len(unasked)} requests never reached the owner (e.g. {unasked[0]})")
    if submitted < len(users):
        arrived = len(ids) - submitted
        late = f"; {arrived} of them arrived all the same" if arrived > 0 else ""
        problems.insert(0, f"{failures(reasons)} submissions failed{late}")
    return GrantRun(
        grants=len(users),
        submitted=submitted,
        clicks=tuple(c for c in clicks if c == c),
        click_seconds=click_seconds,
        provisioned=len(active),
        seconds=seconds,
        to_active=tuple(at - clicked_at[i] for i, at in active.items() if i in clicked_at),
        api_calls=api_calls,
        problems=tuple(problems),
    )


def check_exactly_once(
    sims: Simulators, db: ReadOnlyDb, users: list[BenchUser], ids: set[str]
) -> list[str]:
    """Every request active once: one audit row, one Salesforce user, one assignment, one DM."""
    problems: list[str] = []
    states = db.states(ids)
    lost = [i for i in ids if states.get(i) != "active"]
    if lost:
        problems.append(f"{len(lost)} requests not active (e.g. {lost[0]}: {states.get(lost[0])})")
    provisioned = db.audit_counts("provisioned", ids)
    never = sorted(i for i, n in provisioned.items() if n == 0)
    if never:
        problems.append(
            f"{len(never)} requests never provisioned in the audit log (e.g. {never[0]})"
        )
    twice = sorted(i for i, n in provisioned.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} requests provisioned more than once in the audit log")
    wanted = {u.email for u in users}
    found = Counter(u.username for u in sims.org.users() if u.username in wanted)
    missing = [e for e in wanted if found[e] == 0]
    if missing:
        problems.append(f"{len(missing)} Salesforce users missing (e.g. {missing[0]})")
    for found_user in sims.org.users():
        if found_user.username in wanted:
            held = sims.org.assignments_of(found_user.id)
            if held.count("Sales_Ops") != 1 or not found_user.is_active:
                problems.append(f"{found_user.username}: active={found_user.is_active}, {held}")
                break
    for user in users:
        ready = [m for m in sims.slack.dms(user.id) if READY in m.text]
        if len(ready) != 1:
            problems.append(f"{user.id} was told {len(ready)} times that access is ready")
            break
    return problems
