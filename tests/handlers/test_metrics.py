"""The metrics on their own: what a request change counts, 429s past the retries, and two
runtimes' registries kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from handlers.ops.metrics import Metrics
from handlers.rate_limits import CountingRateLimitHandler, RateLimitCounter
from storage.db import Database
from storage.models import AccessRequest, Kind, RequestChange, State
from storage.stats import RequestStats
from tests.handlers.fakes import FakeGateway

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def request(kind: Kind, state: State, **values: object) -> AccessRequest:
    base: dict[str, object] = {
        "id": "r1",
        "kind": kind,
        "application": "sales",
        "state": state,
        "requester_id": "U1",
        "subject_id": "U1",
        "created_at": T0,
        "updated_at": T0,
    }
    return AccessRequest.model_validate(base | values)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


async def test_decisions_and_latencies_come_from_request_changes(tmp_path: Path) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        metrics = Metrics(RequestStats(db), FakeGateway(), lambda: T0)
        pending = request(Kind.GRANT, State.PENDING_APPROVAL)
        metrics.request_changed(
            RequestChange(request=pending, actor="bot", action="expired", from_state=None)
        )  # created: not a move by a decision
        expired = request(Kind.GRANT, State.EXPIRED)
        metrics.request_changed(
            RequestChange(
                request=expired, actor="bot", action="expired", from_state=State.PENDING_APPROVAL
            )
        )
        active = request(
            Kind.GRANT, State.ACTIVE, decided_at=T0, updated_at=T0 + timedelta(seconds=42)
        )
        metrics.request_changed(
            RequestChange(
                request=active, actor="bot", action="provisioned", from_state=State.PROVISIONING
            )
        )
        done = request(Kind.REVOKE, State.DONE, updated_at=T0 + timedelta(seconds=7))
        metrics.request_changed(
            RequestChange(request=done, actor="bot", action="revoked", from_state=State.REQUESTED)
        )
        found = samples(await metrics.render())
    assert found[("accessbot_decisions_total", (("outcome", "expired"),))] == 1
    assert found[("accessbot_decisions_total", (("outcome", "approved"),))] == 0
    assert found[("accessbot_provisioning_seconds_sum", ())] == 42
    assert found[("accessbot_provisioning_seconds_bucket", (("le", "60.0"),))] == 1
    assert found[("accessbot_provisioning_seconds_bucket", (("le", "30.0"),))] == 0
    assert found[("accessbot_revocation_seconds_sum", ())] == 7
    assert ("accessbot_salesforce_api_budget_remaining", ()) not in found  # not known yet


async def test_each_runtime_has_its_own_registry(tmp_path: Path) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        first = Metrics(RequestStats(db), FakeGateway(), lambda: T0)
        second = Metrics(RequestStats(db), FakeGateway(), lambda: T0)
        first.rate_limited("chat.postMessage")
        key = ("accessbot_slack_rate_limited_total", (("method", "chat.postMessage"),))
        assert samples(await first.render())[key] == 1
        assert key not in samples(await second.render())


async def test_a_429_is_counted_also_when_no_retry_is_left() -> None:
    heard: list[str] = []
    handler = CountingRateLimitHandler(
        RateLimitCounter(listeners=[heard.append]), max_retry_count=1
    )
    call = HttpRequest(method="POST", url="https://slack.com/api/chat.postMessage", headers={})
    limited = HttpResponse(status_code=429, headers={"Retry-After": "1"})
    assert await handler.can_retry_async(state=RetryState(), request=call, response=limited)
    spent = RetryState(current_attempt=1)
    assert not await handler.can_retry_async(state=spent, request=call, response=limited)
    ok = HttpResponse(status_code=500, headers={})
    assert not await handler.can_retry_async(state=RetryState(), request=call, response=ok)
    assert heard == ["chat.postMessage", "chat.postMessage"]


async def test_database_work_is_counted_statements_and_write_transactions(tmp_path: Path) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        metrics = Metrics(RequestStats(db), FakeGateway(), lambda: T0)
        before = samples(await metrics.render())
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO processed_events (event_id, seen_at) VALUES ('e1', 't')"
            )
            await conn.execute_fetchall(
                "SELECT seen_at FROM processed_events WHERE event_id = 'e1'"
            )
        await db.conn.execute_fetchall("SELECT seen_at FROM processed_events")
        after = samples(await metrics.render())

    def grew(name: str) -> float:
        key = (f"accessbot_db_{name}_total", ())
        return after[key] - before[key]

    assert grew("write_transactions") == 1
    assert grew("write_statements") == 2
    # the three above, and what render() itself read between the two scrapes
    assert grew("statements") >= 3
    assert grew("write_lock_held_seconds") > 0
    assert grew("write_lock_wait_seconds") >= 0
