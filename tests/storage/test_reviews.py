"""Review campaigns in SQLite: one open campaign per application, lines decided once, and
everything still there after the database is closed and opened again (a restart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.audit import AuditLog
from storage.db import Database
from storage.outbox import Outbox
from storage.review_models import CampaignState, Decision, NewItem, Outcome, ReviewMessage
from storage.reviews import Reviews

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _lines() -> list[NewItem]:
    return [
        NewItem(
            grant_id="R-1",
            username="a@x.com",
            subject_id="U0A",
            holds="Sales User",
            since=NOW,
            approved_by="U0OMAR",
            reviewer="U0OMAR",
        ),
        NewItem(
            drift=True,
            sf_user_id="005A",
            username="b@x.com",
            holds="Sales User (no grant)",
            last_login=NOW - timedelta(days=40),
            reviewer="U0OLIVIA",
        ),
    ]


async def _opened(store: Reviews, unanswered: str = "revoke") -> str:
    campaign, created = await store.request(
        "sales", scope="all", unanswered=unanswered, actor="cli"
    )
    assert created and campaign.state is CampaignState.OPENING
    (claimed,) = await store.claim_opening(worker="w1", lease=timedelta(minutes=5))
    assert await store.claim_opening(worker="w2", lease=timedelta(minutes=5)) == []
    opened = await store.open(
        claimed, _lines(), deadline_at=NOW + timedelta(days=7), remind_at=NOW, detail={}
    )
    assert opened is not None and opened.state is CampaignState.OPEN
    assert await store.open(claimed, _lines(), deadline_at=NOW, remind_at=NOW, detail={}) is None
    return campaign.id


async def test_one_campaign_at_a_time_per_application(db: Database) -> None:
    store = Reviews(db)
    first, created = await store.request("sales", scope="all", unanswered="keep", actor="cli")
    again, created_again = await store.request("sales", scope="high", unanswered="keep", actor="U")
    assert created and not created_again and again.id == first.id
    other, other_created = await store.request("support", scope="all", unanswered="keep", actor="U")
    assert other_created and other.id != first.id


async def test_a_line_is_decided_once_and_only_while_open(db: Database) -> None:
    store = Reviews(db)
    campaign_id = await _opened(store)
    first, second = await store.items(campaign_id)
    decided = await store.decide(first, Decision.KEEP, actor="U0OMAR")
    assert decided is not None and decided.decision is Decision.KEEP and decided.decided_at
    assert await store.decide(first, Decision.REVOKE, actor="U0OMAR") is None
    campaign = await store.get(campaign_id)
    assert campaign is not None
    assert await store.close(campaign, detail={}) is not None
    assert await store.close(campaign, detail={}) is None
    assert await store.decide(second, Decision.KEEP, actor="U0OLIVIA") is None


async def test_everything_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "reviews.sqlite3"
    async with Database(path) as db:
        store = Reviews(db)
        campaign_id = await _opened(store)
        first, _ = await store.items(campaign_id)
        await store.decide(first, Decision.REVOKE, actor="U0OMAR")
        await store.settle(first.id, outcome=Outcome.REVOKING, revocation_id="R-9", effect="reduce")
        await store.save_message(
            ReviewMessage(
                campaign_id=campaign_id, reviewer="U0OMAR", channel="D1", ts="1.2", page=1
            )
        )
        before = await store.items(campaign_id)
    async with Database(path) as db:
        store = Reviews(db)
        assert await store.items(campaign_id) == before
        assert [i.id for i in await store.revoking()] == [first.id]
        saved = await store.message(campaign_id, "U0OMAR")
        assert saved is not None and (saved.channel, saved.ts, saved.page) == ("D1", "1.2", 1)
        unsent = await store.message(campaign_id, "U0OLIVIA")
        assert unsent is not None and unsent.ts is None
        assert [(c.id, n) for c, n in await store.waiting_for("U0OLIVIA")] == [(campaign_id, 1)]
        assert await store.waiting_for("U0OMAR") == []
        actions = [e.action async for e in AuditLog(db).entries()]
        assert actions == ["review_requested", "review_opened", "review_decided"]


async def test_an_escalated_line_is_decided_once_after_the_close(db: Database) -> None:
    store = Reviews(db)
    campaign_id = await _opened(store, "escalate")
    first, second = await store.items(campaign_id)
    await store.settle(first.id, outcome=Outcome.ESCALATED)
    campaign = await store.get(campaign_id)
    assert campaign is not None
    closed = await store.close(campaign, detail={}, escalate_to=("U0ADA", "U0JORDAN"))
    assert closed is not None
    # each admin is due a message of the escalated lines, stored with the close
    due = {(m.reviewer, m.escalated, m.member) for m in await store.unposted()}
    assert ("escalated:U0ADA", True, "U0ADA") in due and (
        "escalated:U0JORDAN",
        True,
        "U0JORDAN",
    ) in due
    # the escalated line is decided (its outcome cleared until carried out); the other is not
    decided = await store.decide(first, Decision.REVOKE, actor="U0ADA")
    assert decided is not None and decided.outcome is None and decided.decided_by == "U0ADA"
    assert decided.escalated_in(closed)
    assert await store.decide(first, Decision.KEEP, actor="U0JORDAN") is None
    assert await store.decide(second, Decision.KEEP, actor="U0ADA") is None
    assert [c.id for c in await store.unfinished_closed()] == [campaign_id]
    await store.settle(first.id, outcome=Outcome.REVOKING, revocation_id="R-9")
    assert await store.unfinished_closed() == []


async def test_reminders_are_queued_once_with_the_campaigns_mark(db: Database) -> None:
    store = Reviews(db)
    campaign_id = await _opened(store)
    (campaign,) = await store.due_reminders()
    reminders = [("U0OMAR", "Reminder: 1 line", []), ("U0OLIVIA", "Reminder: 1 line", [])]
    assert await store.queue_reminders(campaign, reminders)
    assert not await store.queue_reminders(campaign, reminders)  # another process was first
    assert await store.due_reminders() == []
    marked = await store.get(campaign_id)
    assert marked is not None and marked.reminded_at is not None
    assert await Outbox(db).pending() == 2
