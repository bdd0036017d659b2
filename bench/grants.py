"""Grants end to end: people submit the request form, an owner approves, the bot provisions.

The requests are submitted first (Slack's limits off, as for a backlog built up over a day);
then, with Slack's limits on, the Approve clicks arrive open-loop at fixed rates, whatever the
bot answers, as real owners' clicks would. Measured at each rate: the clicks' acknowledgement,
each request's time from its click until it is active, and grants provisioned per second.
Afterwards every request must have been provisioned exactly once (database, audit log,
Salesforce and the requesters' DMs all agree).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.db_activity import DbUse, db_use
from bench.dbread import ReadOnlyDb
from bench.load import collector_paused, run_concurrently, wait_until
from bench.rig import BenchUser, BotProcess, Simulators
from bench.stats import percentile
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.slack_signing import Reply
from bot.sandbox.stage import OMAR
from bot.sandbox.workspace import Workspace
from handlers.ids import ActionId, CallbackId

JsonDict = dict[str, Any]
READY = " is ready."  # the words of the "you have access" DM
CAPACITY_P99 = 1.0  # seconds: past this p99, the rate is beyond the bot's capacity
BACKLOG_PEOPLE = 10  # people filling the backlog's forms at once
CLICK_GIVE_UP = 30.0  # seconds the bench waits for a click's answer (Slack: 3, then retries)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RateStep:
    """What the bot did with Approve clicks arriving at ``rate`` a second."""

    rate: float
    clicks: tuple[float, ...]
    sent: int
    provisioned: int
    seconds: float
    to_active: tuple[float, ...]

    @property
    def per_second(self) -> float:
        """Grants provisioned per second, first click to last provisioned."""
        return self.provisioned / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50(self) -> float:
        """Median time from a click until its request is active."""
        return percentile(self.to_active, 50)

    @property
    def p99(self) -> float:
        """99th percentile time from a click until its request is active."""
        return percentile(self.to_active, 99) if self.provisioned == self.sent else float("inf")


@dataclass(frozen=True)
class GrantRun:
    """What one bot did with its requests, one open-loop step per rate."""

    grants: int
    submitted: int
    steps: tuple[RateStep, ...]
    api_calls: int
    problems: tuple[str, ...]
    granted: tuple[BenchUser, ...] = ()
    db: DbUse | None = None  # the bot's database work during the clicks (ours only)

    @property
    def clicks(self) -> tuple[float, ...]:
        """Every click's acknowledgement time."""
        return tuple(c for step in self.steps for c in step.clicks)

    @property
    def provisioned(self) -> int:
        """Requests provisioned over every step."""
        return sum(step.provisioned for step in self.steps)

    @property
    def calls_per_grant(self) -> float:
        """Salesforce data API calls the org answered per grant during the clicks."""
        return self.api_calls / self.provisioned if self.provisioned else float("nan")

    def at(self, rate: float) -> RateStep | None:
        """The step run at ``rate`` clicks a second, if it ran."""
        return next((s for s in self.steps if s.rate == rate), None)

    @property
    def capacity(self) -> tuple[float, bool]:
        """The highest rate measured with p99 under 1 s, and whether a higher one passed 1 s
        (False: capacity is at least that rate, the bench went no higher)."""
        kept = [s.rate for s in self.steps if s.p99 < CAPACITY_P99]
        passed = any(s.p99 >= CAPACITY_P99 for s in self.steps)
        return (max(kept) if kept else 0.0), passed


async def _view_of(
    sims: Simulators, user_id: str, accept: Callable[[JsonDict], bool], within: float
) -> JsonDict:
    found: list[JsonDict] = []

    def ready() -> bool:
        view = sims.slack.open_view(user_id)
        if view is not None and accept(view):
            found.append(view)
            return True
        return False

    if not await wait_until(ready, within=within, interval=0.02):
        raise TimeoutError(f"no matching modal for {user_id} within {within} s")
    return found[0]


async def submit_form(
    sims: Simulators, workspace: Workspace, user: BenchUser, within: float = 30.0
) -> bool:
    """``/salesforce``, pick a license (the profiles refill), choose the rest, submit."""
    try:
        return await _fill_and_submit(sims, workspace, user, within)
    except (LookupError, TimeoutError, ValueError):
        return False  # counted as a failed submission; the run goes on


async def _fill_and_submit(
    sims: Simulators, workspace: Workspace, user: BenchUser, within: float
) -> bool:
    view_id = await fill_form(sims, workspace, user, within)
    if view_id is None:
        return False
    reply = await workspace.submit(user.id, view_id)
    if not accepted(reply):
        return False
    # Answered at once with "Submitting…"; the request is stored when the modal confirms it.
    await sims.slack.wait_for(lambda: confirmed(sims, view_id), timeout=within)
    return True


def accepted(reply: Reply) -> bool:
    """The form's submission was answered with the "Submitting…" view."""
    answer = reply.json_or_none() if reply.status == 200 else None
    return isinstance(answer, dict) and answer.get("response_action") == "update"


def confirmed(sims: Simulators, view_id: str) -> bool:
    """The submitted form confirms its request (which is then stored)."""
    view = sims.slack.view(view_id)
    return bool(view and view.get("callback_id") == CallbackId.SUBMITTED)


async def fill_form(
    sims: Simulators, workspace: Workspace, user: BenchUser, within: float
) -> str | None:
    """``/salesforce``, pick a license (the profiles refill), choose the rest; the view id."""
    before = sims.slack.open_view(user.id)
    earlier = before["id"] if before else None
    reply = await workspace.slash(user.id)
    if reply.status != 200:
        return None
    form = await _view_of(
        sims,
        user.id,
        lambda v: v.get("callback_id") == CallbackId.REQUEST and v.get("id") != earlier,
        within,
    )
    view_id, first_hash = str(form["id"]), form["hash"]
    await workspace.pick(user.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await _view_of(sims, user.id, lambda v: v.get("hash") != first_hash, within)
    await workspace.choose(user.id, view_id, ActionId.REQUEST_PROFILE, "Sales User")
    await workspace.choose(user.id, view_id, ActionId.REQUEST_ROLE, "SalesRep")
    await workspace.choose(user.id, view_id, ActionId.REQUEST_PERMISSION_SETS, ["Sales_Ops"])
    await workspace.type(user.id, view_id, ActionId.REQUEST_REASON, "Quarter close (bench)")
    return view_id


def approve_value(message: PostedMessage) -> str | None:
    """The request id an approval message's Approve button carries."""
    for block in message.blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == ActionId.APPROVE:
                value = element.get("value")
                return str(value) if value else None
    return None


async def open_loop(items: Sequence[T], rate: float, job: Callable[[T], Awaitable[R]]) -> list[R]:
    """Start ``job`` on item n at n / ``rate`` seconds, whether earlier jobs have finished or
    not (open-loop arrivals: a slow answer does not slow the next click down)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[R]] = []
    for n, item in enumerate(items):
        wait = start + n / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(job(item)))
    return list(await asyncio.gather(*tasks))


async def prepare_asks(
    sims: Simulators,
    workspace: Workspace,
    db: ReadOnlyDb,
    users: list[BenchUser],
    *,
    concurrency: int,
    within: float,
) -> tuple[int, list[PostedMessage]]:
    """Submit one request per user and wait for every ask; returns (submitted, Omar's asks)."""
    # The backlog is built without Slack's limits: a thousand forms a minute is a day's worth.
    sims.slack.set_rate_limits(enabled=False)
    try:
        # Fewer people at once than the measured runs: Slack's trigger_id lives 3 s, and a
        # loaded machine answering fifty forms at once lets some expire before views.open.
        done = await run_concurrently(
            users, min(concurrency, BACKLOG_PEOPLE), lambda u: submit_form(sims, workspace, u)
        )
        submitted = sum(done)
        await wait_until(lambda: db.approval_asks() >= 2 * submitted, within=within, interval=0.1)
    finally:
        sims.slack.set_rate_limits(enabled=True)
    ids = set(db.request_ids(state="pending_approval"))
    asks = {approve_value(m): m for m in sims.slack.dms(OMAR.id) if not m.is_reply}
    return submitted, [asks[i] for i in sorted(ids) if i in asks]


async def run_grants(
    sims: Simulators,
    workspace: Workspace,
    bot: BotProcess,
    users: list[BenchUser],
    *,
    rates: Sequence[float],
    seconds_per_rate: float,
    concurrency: int,
    within: float,
    at_least: int = 0,
) -> GrantRun:
    """Submit one request per user, then approve them open-loop at each rate in turn (Slack's
    limits on), until a rate's p99 passes 1 s; check every grant went through exactly once.

    When fewer than ``at_least`` were approved by then, more are, unmeasured (the offboarding
    run that follows needs people holding a grant)."""
    db = ReadOnlyDb(bot.database)
    submitted, messages = await prepare_asks(
        sims, workspace, db, users, concurrency=concurrency, within=within
    )
    calls_before = sims.org.api_calls()
    db_before = await db_use(bot)
    steps: list[RateStep] = []
    clicked: set[str] = set()
    queue = list(messages)
    for rate in rates:
        count = round(rate * seconds_per_rate)
        batch, queue = queue[:count], queue[count:]
        if not batch:
            break
        step = await _click_at(sims, workspace, db, batch, rate, within)
        clicked |= {str(approve_value(m)) for m in batch}
        steps.append(step)
        if step.p99 >= CAPACITY_P99:
            break  # past capacity: a faster rate would only say so again
    api_calls = sims.org.api_calls() - calls_before
    db_after = await db_use(bot)
    extra = queue[: max(0, at_least - len(clicked))]
    if extra:
        # Setting up the offboarding run, not measured: without Slack's limits, as the backlog.
        sims.slack.set_rate_limits(enabled=False)
        try:
            await run_concurrently(
                extra, concurrency, lambda m: workspace.click(OMAR.id, m, ActionId.APPROVE)
            )
            clicked |= {str(approve_value(m)) for m in extra}
            await wait_until(lambda: db.count(state="active") >= len(clicked), within=within)
        finally:
            sims.slack.set_rate_limits(enabled=True)
    problems = await check_exactly_once(sims, db, users, clicked, within=within)
    if submitted < len(users):
        problems.insert(0, f"{len(users) - submitted} submissions failed")
    return GrantRun(
        grants=len(clicked),
        submitted=submitted,
        steps=tuple(steps),
        api_calls=api_calls,
        problems=tuple(problems),
        granted=tuple(u for u in users if u.id in db.subjects(clicked)),
        db=db_after - db_before if db_after and db_before else None,
    )


async def _click_at(
    sims: Simulators,
    workspace: Workspace,
    db: ReadOnlyDb,
    messages: list[PostedMessage],
    rate: float,
    within: float,
) -> RateStep:
    clicked_at: dict[str, float] = {}
    active_before = db.count(state="active")

    async def approve(message: PostedMessage) -> float:
        clicked_at[str(approve_value(message))] = time.time()
        try:
            # Slack gives up on an answer after 3 s; the bench waits longer, not for ever.
            async with asyncio.timeout(CLICK_GIVE_UP):
                reply = await workspace.click(OMAR.id, message, ActionId.APPROVE)
        except TimeoutError:
            return float("nan")
        return reply.elapsed if reply.status == 200 else float("nan")

    with collector_paused():
        started = time.time()
        clicks = await open_loop(messages, rate, approve)
        await wait_until(
            lambda: db.count(state="active") >= active_before + len(messages), within=within
        )
    active = db.active_since(clicked_at)
    end = max(active.values()) if active else time.time()
    return RateStep(
        rate=rate,
        clicks=tuple(c for c in clicks if c == c),
        sent=len(messages),
        provisioned=len(active),
        seconds=end - started,
        to_active=tuple(at - clicked_at[i] for i, at in active.items()),
    )


async def check_exactly_once(
    sims: Simulators, db: ReadOnlyDb, users: list[BenchUser], ids: set[str], *, within: float
) -> list[str]:
    """Every request active once: one audit row, one Salesforce user, one assignment, one DM."""
    problems: list[str] = []
    states = db.states(ids)
    lost = [i for i in ids if states.get(i) != "active"]
    if lost:
        problems.append(f"{len(lost)} requests not active (e.g. {lost[0]}: {states.get(lost[0])})")
    counts = db.audit_counts("provisioned", ids)
    never = [i for i in ids if counts.get(i, 0) == 0]
    if never:
        problems.append(f"{len(never)} requests never provisioned in the audit log")
    twice = [i for i, n in counts.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} requests provisioned more than once in the audit log")
    subjects = db.subjects(ids)
    approved = [u for u in users if u.id in subjects]
    wanted = {u.email for u in approved}
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

    def told(user: BenchUser) -> int:
        return sum(1 for m in sims.slack.dms(user.id) if READY in m.text)

    # The "you have access" DMs follow the state change, each at Slack's pace.
    await wait_until(lambda: all(told(u) >= 1 for u in approved), within=within, interval=0.2)
    for user in approved:
        if told(user) != 1:
            problems.append(f"{user.id} was told {told(user)} times that access is ready")
            break
    return problems
