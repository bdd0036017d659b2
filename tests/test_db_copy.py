"""`accessbot db copy`: a SQLite database holding every kind of row moves to PostgreSQL with its
ids and audit chain; `accessbot audit verify` passes on the copy, and the copy carries on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.sandbox.postgres_server import PostgresServer
from storage.audit import AuditLog
from storage.cohorts import Cohorts
from storage.db import Database
from storage.events import EventLog
from storage.home_tabs import HomeTabs
from storage.kv import CatalogCache, JobLeases
from storage.managed import ManagedUsers
from storage.models import Kind, MessageRef, NewRequest, State
from storage.outbox import Outbox
from storage.policy_overrides import PolicyOverrides
from storage.requests import RequestRepository
from storage.review_models import NewItem, ReviewMessage
from storage.reviews import Reviews
from storage.transfers import Transfers
from storage.votes import ApprovalVotes
from storage.workers import Heartbeats, ProcessStamp

KEY = "k" * 64


def _grant(**values: Any) -> NewRequest:
    return NewRequest.model_validate(
        {
            "application": "sales",
            "state": State.PENDING_APPROVAL,
            "requester_id": "U1",
            "subject_id": "U1",
            "subject_email": "jane@example.com",
            "license": "Salesforce",
            "profile": "Standard User",
            "permission_sets": ("Sales_Ops",),
            "reason": "quarter close",
            **values,
        }
    )


async def _every_kind_of_row(path: Path) -> None:
    """A database with rows in each table, the audit log signed with KEY."""
    async with Database(path, audit_key=KEY.encode()) as db:
        repo = RequestRepository(db)
        grant, _ = await repo.create(_grant(), actor="U1", idempotency_key="k1")
        await repo.transition(
            grant.id,
            expected=State.PENDING_APPROVAL,
            to=State.ACTIVE,
            actor="U2",
            action="approved",
            changes={"sf_username": "jane@acme.test", "sf_user_id": "005A"},
        )
        extension, _ = await repo.create(_grant(grant_id=grant.id), actor="U1")
        assert await ApprovalVotes(db).add(extension.id, stage=0, approver="U2")
        cohort, _ = await Cohorts(db).join(
            "sales", "U2", datetime(2026, 11, 1, tzinfo=UTC), grant.id
        )
        await Cohorts(db).posted(cohort.id, "D2", "2.5")
        await repo.open_revocation(
            _grant(kind=Kind.REVOKE, state=State.REQUESTED, grant_id=grant.id),
            actor="U3",
            idempotency_key="r1",
            cancel_followers=[State.PENDING_APPROVAL],
        )
        await repo.add_message(
            MessageRef(request_id=grant.id, purpose="approval", channel="D1", ts="1.5")
        )
        await EventLog(db).first_time("Ev1")
        await CatalogCache(db).store('{"profiles": []}', datetime(2026, 11, 1, tzinfo=UTC))
        await JobLeases(db).acquire("catalog", "w1", timedelta(minutes=1), timedelta(hours=1))
        await PolicyOverrides(db).set(
            application="sales", kind="profile", name="Analyst", requestable=True, actor="U9"
        )
        await HomeTabs(db).opened("U9")
        for text in ("first", "second"):
            await Outbox(db).add(
                method="chat.postMessage", channel="D1", text=text, blocks=[], error="ratelimited"
            )
        await ManagedUsers(db).add_created("old@acme.test", sf_user_id="005B", subject_id="U4")
        await Heartbeats(db).take(
            "w1",
            ProcessStamp(host="h", pid=1, boot_id="b"),
            timedelta(minutes=1),
            gone=lambda _: False,
        )
        await Transfers(db).create(
            username="jane@acme.test",
            from_user_id="005A",
            to_user_id="005C",
            objects=("Account",),
            decided_by="U9",
            worker="w1",
            lease=timedelta(minutes=1),
        )
        reviews = Reviews(db)
        campaign, _ = await reviews.request("sales", scope="all", unanswered="keep", actor="U9")
        line = NewItem(
            grant_id=grant.id, username="jane@acme.test", holds="Standard User", reviewer="U2"
        )
        opened_at = datetime(2026, 11, 2, tzinfo=UTC)
        await reviews.open(
            campaign,
            [line],
            deadline_at=opened_at + timedelta(days=14),
            remind_at=opened_at + timedelta(days=12),
            detail={},
        )
        await reviews.save_message(ReviewMessage(campaign_id=campaign.id, reviewer="U2"))
        for table in await db.tables():
            rows = await db.conn.execute_fetchall(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            assert rows[0][0] > 0, f"the fixture leaves {table} empty: give it a row"
        assert extension.grant_id == grant.id


async def _counts(target: str) -> dict[str, int]:
    async with Database(target) as db:
        return {
            table: (await db.conn.execute_fetchall(f"SELECT COUNT(*) FROM {table}"))[0][0]  # noqa: S608
            for table in await db.tables()
        }


async def _table(target: str, table: str, order: str) -> list[dict[str, Any]]:
    async with Database(target) as db:
        rows = await db.conn.execute_fetchall(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608
    return [dict(row) for row in rows]


def test_a_copy_to_postgresql_keeps_every_row_and_verifies(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_server: PostgresServer,
) -> None:
    source = tmp_path / "accessbot.sqlite3"
    asyncio.run(_every_kind_of_row(source))
    url = postgres_server.new_database_url()
    monkeypatch.chdir(tmp_path)

    assert main(["db", "copy", "--from", str(source), "--to", url]) == 0
    printed = capsys.readouterr().out
    counts = asyncio.run(_counts(str(source)))
    assert counts == asyncio.run(_counts(url))
    for table, count in counts.items():
        assert f"{table}: {count} rows" in printed

    for table, order in (
        ("requests", "id"),
        ("audit_log", "seq"),
        ("outbox", "id"),
        ("managed_users", "username"),
        ("audit_keys", "fingerprint"),
    ):
        assert asyncio.run(_table(url, table, order)) == asyncio.run(
            _table(str(source), table, order)
        ), table

    monkeypatch.setenv("ACCESSBOT_DATABASE", url)
    monkeypatch.setenv("ACCESSBOT_AUDIT_KEY", KEY)
    assert main(["audit", "verify"]) == 0
    assert f"audit log intact: {counts['audit_log']} rows" in capsys.readouterr().out

    async def carry_on() -> tuple[int, bool]:
        async with Database(url, audit_key=KEY.encode()) as db:
            await AuditLog(db).append(request_id=None, actor="bot", action="copied")
            outbox = await Outbox(db).add(
                method="chat.postMessage", channel="D2", text="third", blocks=[], error="x"
            )
            return outbox, (await AuditLog(db).verify(key=KEY.encode())).ok

    next_outbox, still_ok = asyncio.run(carry_on())
    assert next_outbox == counts["outbox"] + 1 and still_ok  # ids number on from the copied rows


def test_a_copy_into_a_database_holding_rows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    source = tmp_path / "accessbot.sqlite3"
    asyncio.run(_every_kind_of_row(source))
    url = postgres_server.new_database_url()
    assert main(["db", "copy", "--from", str(source), "--to", url]) == 0
    capsys.readouterr()
    assert main(["db", "copy", "--from", str(source), "--to", url]) == 2
    assert "already holds rows in" in capsys.readouterr().err


def test_a_missing_source_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.sqlite3"
    assert main(["db", "copy", "--from", str(missing), "--to", "postgresql://h/db"]) == 2
    assert f"no SQLite database at {missing}" in capsys.readouterr().err
    assert not missing.exists()
