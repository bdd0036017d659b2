"""What the bot writes to its log: nothing when idle, one line per event, text or JSON lines,
secrets masked in both."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.logs import MASK, LogFormat, configure_logging
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import BOB, JANE, OLIVIA, OMAR, Stage, demo_policy
from bot.scheduler import Ticker
from storage.models import AccessRequest, State
from tests.e2e.lifecycle_steps import approve, in_state, until
from tests.e2e.stages import StageOpener
from tests.e2e.steps import submit_request

TICK = 0.05
TOKEN = "xoxb-1111-2222-secretbot"


class Logs:
    """The process's log set up as `accessbot serve` does it, into a buffer."""

    def __init__(self) -> None:
        self.out = io.StringIO()

    def start(self, fmt: LogFormat = "text", secrets: tuple[str, ...] = ()) -> None:
        configure_logging("INFO", secrets, fmt=fmt, stream=self.out)

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()

    def json(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines()]


@pytest.fixture
def logs() -> Iterator[Logs]:
    """Captures the log; puts the test runner's handlers and levels back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {name: logging.getLogger(name).level for name in ("apscheduler", "aiohttp.access")}
    try:
        yield Logs()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, chatty_level in chatty.items():
            logging.getLogger(name).setLevel(chatty_level)


@pytest.fixture
async def ticking(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """A bot whose scheduler ticks every 50 ms, on an org where nobody holds access yet (so
    reconciliation finds nothing to report)."""
    org = SimulatedOrg()
    org.seed_demo()
    requestable = set(demo_policy().applications[0].profiles)
    for user in org.users():
        if user.is_active and user.profile_name in requestable:
            org.admin_update("User", user.id, IsActive=False)
    stage = await open_stage(org=org, settings={"ACCESSBOT_TICK_SECONDS": TICK})
    try:
        yield stage
    finally:
        await stage.close()


async def _ticks(stage: Stage, n: int) -> None:
    """Until every job on the tick has run ``n`` more times."""
    ticker = stage.runtime.ticker
    names = [name for name, _ in stage.runtime.jobs.jobs()] if stage.runtime.jobs else []
    names += ["due-work", "slack-outbox"]
    start = {name: ticker.runs[name] for name in names}

    async def done() -> bool:
        return all(ticker.runs[name] >= start[name] + n for name in names)

    await until(done)


async def _granted(stage: Stage) -> AccessRequest:
    request = await submit_request(stage, JANE.id)
    await approve(stage, request.id, OMAR)
    active = await in_state(stage, request.id, State.ACTIVE)
    await stage.settle()
    return active


def _daily(lines: list[str]) -> tuple[list[str], list[str]]:
    """The reconciliation's daily publication of the audit log head, and every other line."""
    daily = [line for line in lines if " INFO handlers.jobs: audit log head " in line]
    return daily, [line for line in lines if line not in daily]


async def test_an_idle_bot_writes_nothing_at_info(ticking: Stage, logs: Logs) -> None:
    logs.start()
    ticking.runtime.start_ticking()
    await _ticks(ticking, 3)
    daily, others = _daily(logs.lines())
    assert others == [], "\n".join(others)
    assert len(daily) == 1  # the first reconciliation of the day publishes the head, once


async def test_a_grant_writes_one_line_per_event(ticking: Stage, logs: Logs) -> None:
    logs.start()
    request = await _granted(ticking)
    ticking.runtime.start_ticking()
    await _ticks(ticking, 2)  # the ticks after it stay quiet: the user is converged
    _, lines = _daily(logs.lines())
    events = [line.split(": ", 1)[1] for line in lines]
    assert events == [
        f"{request.id} sales: request submitted (by {JANE.id})",
        f"{request.id} sales: request approved (by {OMAR.id})",
        f"{request.id} sales: access provisioned (by bot)",
    ]
    assert all(" INFO handlers.request_log: " in line for line in lines)


async def test_json_lines_carry_the_request_application_and_actor(
    ticking: Stage, logs: Logs
) -> None:
    logs.start("json")
    request = await _granted(ticking)
    entries = logs.json()
    assert [(str(e["message"]).split(": ", 1)[1], e["actor"]) for e in entries] == [
        (f"request submitted (by {JANE.id})", JANE.id),
        (f"request approved (by {OMAR.id})", OMAR.id),
        ("access provisioned (by bot)", "bot"),
    ]
    for entry in entries:
        assert entry["request_id"] == request.id and entry["application"] == "sales"
        assert entry["level"] == "INFO" and entry["logger"] == "handlers.request_log"
        assert str(entry["time"]).endswith("+00:00")


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_an_approval_that_does_not_decide_yet_writes_its_line(
    open_stage: StageOpener, logs: Logs, fmt: LogFormat
) -> None:
    stage = await open_stage(policy=demo_policy(tiers={"standard": {"required": 2}}))
    try:
        logs.start(fmt)
        request = await submit_request(stage, JANE.id)
        await approve(stage, request.id, OMAR)

        async def counted() -> list[object]:
            return list(await stage.runtime.deps.repo.votes.of(request.id))

        await until(counted)
        await approve(stage, request.id, OLIVIA)
        await in_state(stage, request.id, State.ACTIVE)
        await stage.settle()
        counted_line = f"approval counted at stage owners, 1 of 2 (by {OMAR.id})"
        expected = [
            f"request submitted (by {JANE.id})",
            counted_line,
            f"request approved (by {OLIVIA.id})",
            "access provisioned (by bot)",
        ]
        if fmt == "text":
            lines = [line for line in logs.lines() if request.id in line]
            assert [line.split(f"{request.id} sales: ", 1)[1] for line in lines] == expected
            assert all(" INFO handlers.request_log: " in line for line in lines)
            return
        entries = [e for e in logs.json() if e.get("request_id") == request.id]
        assert [str(e["message"]).split(": ", 1)[1] for e in entries] == expected
        vote = entries[1]
        assert vote["actor"] == OMAR.id and vote["application"] == "sales"
        assert (vote["stage"], vote["approvals"], vote["required"]) == ("owners", 1, 2)
        assert vote["level"] == "INFO" and vote["logger"] == "handlers.request_log"
    finally:
        await stage.close()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_token_is_masked_in_both_formats(logs: Logs, fmt: LogFormat) -> None:
    logs.start(fmt, secrets=("signing-secret-value",))
    log = logging.getLogger("tests.logs")
    log.warning("Slack said no to %s", TOKEN, extra={"actor": f"token {TOKEN}"})
    try:
        raise RuntimeError("signing-secret-value leaked into an error")
    except RuntimeError:
        log.exception("call failed", extra={"request_id": "R1"})
    text = logs.out.getvalue()
    assert TOKEN not in text and "secretbot" not in text and "signing-secret-value" not in text
    assert text.count(MASK) >= 2
    if fmt == "json":
        first, second = logs.json()
        assert first["message"] == f"Slack said no to {MASK}"
        assert first["actor"] == f"token {MASK}"
        assert str(second["message"]).startswith("call failed\nTraceback")
        assert second["request_id"] == "R1"


async def test_a_scheduled_job_that_did_work_writes_one_line_with_its_count(logs: Logs) -> None:
    logs.start("json")
    handled = iter([2, 0, 0])
    ticker = Ticker(TICK)

    async def reminders() -> int:
        return next(handled, 0)

    async def catalog_refresh() -> bool:
        return True  # routine upkeep, not an event

    async def overrides() -> tuple[str, ...]:
        return ("a", "b")  # what it read, not what it did

    ticker.add("reminders", reminders)
    ticker.add("catalog-refresh", catalog_refresh)
    ticker.add("policy-overrides", overrides)
    ticker.start()
    try:

        async def three_runs() -> bool:
            return all(
                ticker.runs[n] >= 3 for n in ("reminders", "catalog-refresh", "policy-overrides")
            )

        await until(three_runs)
    finally:
        ticker.shutdown()
    assert [(e["message"], e["job"], e["count"]) for e in logs.json()] == [
        ("scheduled job reminders: 2 done", "reminders", 2)
    ]


async def test_a_run_longer_than_a_tick_is_routine_not_a_warning(logs: Logs) -> None:
    logs.start()
    release = asyncio.Event()
    entered = 0
    ticker = Ticker(TICK)

    async def slow() -> int:
        nonlocal entered
        entered += 1
        await release.wait()
        return 0

    async def fast() -> int:
        return 0

    ticker.add("catalog-refresh", slow)
    ticker.add("slack-outbox", fast)
    ticker.start()
    try:

        async def ticks_passed() -> bool:
            return entered == 1 and ticker.runs["slack-outbox"] >= 5

        await until(ticks_passed)
        release.set()

        async def slow_done() -> bool:
            return ticker.runs["catalog-refresh"] >= 1

        await until(slow_done)
    finally:
        ticker.shutdown()
    assert entered == ticker.runs["catalog-refresh"]  # never two runs of one job at once
    assert logs.lines() == []


async def test_a_low_api_budget_is_said_once_and_its_end_once(
    open_stage: StageOpener, logs: Logs
) -> None:
    org = SimulatedOrg(api_total=2_000, api_used=1_500)  # 500 left, the floor is 1000
    org.seed_demo()
    stage = await open_stage(org=org, settings={"ACCESSBOT_TICK_SECONDS": TICK})
    try:
        jobs = stage.runtime.jobs
        assert jobs is not None
        await stage.runtime.deps.catalog.refresh()  # a call: the bot learns the budget
        assert jobs.budget_low()
        logs.start()
        stage.runtime.start_ticking()
        await _ticks(stage, 5)
        assert [line.split(": ", 1)[1] for line in logs.lines()] == [
            "catalog-refresh waits: the Salesforce API budget is below the floor",
            "reconciliation waits: the Salesforce API budget is below the floor",
        ]
        stage.org.set_api_used(0)
        await stage.runtime.deps.catalog.refresh()
        await _ticks(stage, 3)
        assert [line.split(": ", 1)[1] for line in logs.lines()[2:4]] == [
            "catalog-refresh goes on: the Salesforce API budget is above the floor again",
            "reconciliation goes on: the Salesforce API budget is above the floor again",
        ]
    finally:
        await stage.close()


async def test_a_revocation_and_an_escalation_write_one_line_each(
    ticking: Stage, logs: Logs
) -> None:
    grant = await _granted(ticking)
    logs.start("json")
    await ticking.workspace.slash(JANE.id, "revoke I changed teams")
    await in_state(ticking, grant.id, State.REVOKED)
    await ticking.settle()
    ticking.org.take_username_elsewhere("bob.stone@acme.com")
    stuck = await submit_request(ticking, BOB.id)
    await approve(ticking, stuck.id, OMAR)
    await in_state(ticking, stuck.id, State.NEEDS_ADMIN)
    await ticking.settle()
    said = [(e["request_id"], str(e["message"]).split(": ", 1)[1], e["actor"]) for e in logs.json()]
    revocation = said[0][0]
    assert said == [
        (revocation, f"revocation requested (by {JANE.id})", JANE.id),
        (grant.id, "access revoked (by bot)", "bot"),
        (stuck.id, f"request submitted (by {BOB.id})", BOB.id),
        (stuck.id, f"request approved (by {OMAR.id})", OMAR.id),
        (stuck.id, "escalated to the admins: username_taken (by bot)", "bot"),
    ]


async def test_a_failed_listener_names_who_was_answering(
    ticking: Stage, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**_: object) -> list[AccessRequest]:
        raise RuntimeError(f"database gone; token {TOKEN}")

    monkeypatch.setattr(ticking.runtime.deps.repo, "find", broken)
    logs.start("json")
    await ticking.workspace.slash(JANE.id, "status")
    await ticking.settle()
    (failed,) = [e for e in logs.json() if e["level"] == "ERROR"]
    assert failed["actor"] == JANE.id
    assert str(failed["message"]).startswith("listener failed: RuntimeError\nTraceback")
    assert TOKEN not in str(failed["message"]) and MASK in str(failed["message"])
