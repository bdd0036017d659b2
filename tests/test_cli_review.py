"""``accessbot review start|status|export`` through the real entry point."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.review_models import Decision, NewItem, Outcome
from storage.reviews import Reviews

POLICY = """
applications:
  - name: sales
    owners: [U0OMAR]
    admins: [U0ADA]
    licenses: [Salesforce]
    profiles: [Sales User]
    reviews: {scope: high, deadline: P7D, unanswered: revoke}
"""


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "accessbot.sqlite3"

    async def create() -> None:
        async with Database(path):
            pass

    asyncio.run(create())
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCESSBOT_DATABASE", str(path))
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(tmp_path / "policy.yml"))
    return path


async def _decide_some(path: Path) -> str:
    """Open the campaign asked for with two lines; one kept, one revoked (a formula name)."""
    async with Database(path) as db:
        store = Reviews(db)
        (campaign,) = await store.claim_opening(worker="w", lease=timedelta(minutes=1))
        lines = [
            NewItem(
                grant_id="R-1",
                username="a@acme.com",
                subject_name="=HYPERLINK(1)",
                holds="Sales User",
                reviewer="U0OMAR",
            ),
            NewItem(grant_id="R-2", username="b@acme.com", holds="Sales User", reviewer="U0OMAR"),
        ]
        deadline = datetime.now(UTC) + timedelta(days=7)
        await store.open(campaign, lines, deadline_at=deadline, remind_at=deadline, detail={})
        first, second = await store.items(campaign.id)
        await store.decide(first, Decision.KEEP, actor="U0OMAR")
        await store.settle(first.id, outcome=Outcome.KEPT)
        await store.decide(second, Decision.REVOKE, actor="U0OMAR")
        await store.settle(second.id, outcome=Outcome.DEACTIVATED, revocation_id="R-3")
        return campaign.id


def test_start_status_and_export(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "start", "sales"]) == 0
    said = capsys.readouterr().out
    assert "asked for (scope high" in said and "next tick" in said
    assert main(["review", "start", "sales"]) == 0
    assert "already opening" in capsys.readouterr().out
    campaign_id = asyncio.run(_decide_some(database))

    assert main(["review", "status"]) == 0
    status = capsys.readouterr().out
    assert campaign_id in status and "2/2 decided" in status and "1 deactivated, 1 kept" in status

    assert main(["review", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["username"], r["reviewer"], r["decision"], r["outcome"]) for r in rows] == [
        ("a@acme.com", "U0OMAR", "keep", "kept"),
        ("b@acme.com", "U0OMAR", "revoke", "deactivated"),
    ]
    assert rows[0]["subject_name"] == "'=HYPERLINK(1)" and rows[1]["decided_at"]

    assert main(["review", "export", "--format", "jsonl", "--campaign", campaign_id]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["revocation"] for line in lines] == ["", "R-3"]


def test_an_unknown_application_or_campaign_is_named(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "start", "support"]) == 2
    assert "no application 'support' in the policy (it has sales)" in capsys.readouterr().err
    assert main(["review", "export", "--campaign", "RV-NOPE"]) == 2
    assert "no access review 'RV-NOPE'" in capsys.readouterr().err
