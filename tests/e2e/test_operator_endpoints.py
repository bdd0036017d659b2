"""/healthz, /readyz and /metrics on the bot's HTTP port, as an orchestrator and Prometheus
read them: over HTTP against a running stage."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox.sf_faults import FaultKind
from bot.sandbox.stage import JANE, Stage
from handlers.ids import CallbackId
from storage.models import State
from tests.e2e.test_revocation import (
    active_grant,
    dms_saying,
    open_modal,
    revocation_of,
    until_state,
)


def base_url(stage: Stage) -> str:
    parts = urlsplit(stage.workspace.app_url)
    return f"{parts.scheme}://{parts.netloc}"


async def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of one GET."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


def families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(found: dict[str, Metric], name: str, **labels: str) -> float:
    """The value of the sample ``name`` with exactly these labels."""
    family = next(f for f in found.values() if any(s.name == name for s in f.samples))
    return next(s.value for s in family.samples if s.name == name and s.labels == labels)


async def test_healthz_answers_that_the_process_is_alive(stage: Stage) -> None:
    status, body = await get_json(f"{base_url(stage)}/healthz")
    assert (status, body) == (200, {"status": "alive"})


async def test_readyz_is_200_when_database_slack_and_salesforce_work(stage: Stage) -> None:
    status, body = await get_json(f"{base_url(stage)}/readyz")
    assert status == 200, body
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "slack", "salesforce"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "API requests left today" in body["checks"]["salesforce"]["detail"]


async def test_readyz_names_salesforce_when_the_org_is_down(stage: Stage) -> None:
    stage.org.faults.inject(FaultKind.UNAVAILABLE, count=10)
    status, body = await get_json(f"{base_url(stage)}/readyz")
    assert status == 503
    assert body["status"] == "not ready" and body["failing"] == ["salesforce"]
    assert "unavailable" in body["checks"]["salesforce"]["detail"].lower()
    assert body["checks"]["slack"]["ok"] and body["checks"]["database"]["ok"]


async def test_readyz_names_slack_when_auth_test_fails(stage: Stage) -> None:
    stage.slack.fail_next("auth.test", status=200, error="invalid_auth")
    status, body = await get_json(f"{base_url(stage)}/readyz")
    assert status == 503
    assert body["failing"] == ["slack"]
    assert body["checks"]["slack"]["detail"] == "auth.test failed: invalid_auth"


async def test_readyz_keeps_slack_and_salesforce_answers_briefly(stage: Stage) -> None:
    for _ in range(3):
        status, _body = await get_json(f"{base_url(stage)}/readyz")
        assert status == 200
    assert len(stage.slack.calls("auth.test")) == 1
    assert sum(call.path.endswith("/limits") for call in stage.org.calls) == 1


async def test_metrics_reflect_a_grant_and_its_revocation(stage: Stage) -> None:
    # One 429 on the way: the client waits it out, and the metrics count it.
    stage.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    grant = await active_grant(stage, JANE.id)
    await stage.workspace.slash(JANE.id, "revoke")
    modal = await stage.slack.wait_for(lambda: open_modal(stage, JANE.id, CallbackId.REVOKE))
    await stage.workspace.submit(JANE.id, modal["id"])
    await stage.slack.wait_for(lambda: dms_saying(stage, JANE.id, "was removed"))
    await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    status, content_type, text = await get(f"{base_url(stage)}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    found = families(text)
    assert sample(found, "accessbot_requests", state="revoked") == 1
    assert sample(found, "accessbot_requests", state="done") == 1
    assert sample(found, "accessbot_requests", state="active") == 0
    assert sample(found, "accessbot_decisions_total", outcome="approved") == 1
    assert sample(found, "accessbot_decisions_total", outcome="denied") == 0
    assert sample(found, "accessbot_provisioning_seconds_count") == 1
    assert sample(found, "accessbot_revocation_seconds_count") == 1
    assert sample(found, "accessbot_due_work") == 0
    assert sample(found, "accessbot_escalations_open") == 0
    data_calls = [c for c in stage.org.calls if c.path.startswith("/services/data/")]
    assert sample(found, "accessbot_salesforce_api_calls_total") == len(data_calls) > 0
    assert sample(found, "accessbot_salesforce_api_budget_remaining") > 0
    # the injected one, and any Slack's own limits gave on the way: each answered 429 counted
    limited = len(stage.slack.rate_limited_calls("chat.postMessage"))
    assert limited >= 1
    assert sample(found, "accessbot_slack_rate_limited_total", method="chat.postMessage") == limited
