"""Access review campaigns: each change one transaction with its audit row.

A campaign is asked for (``opening``), opened with all its lines in one transaction, decided
line by line with a compare-and-set on the line's reviewer and empty decision, and closed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.audit import append_audit
from storage.db import Connection, Database, Row, from_db_time, row_dict, to_db_time
from storage.outbox import want_post
from storage.review_models import (
    Campaign,
    CampaignState,
    Decision,
    NewItem,
    Outcome,
    ReviewItem,
    ReviewMessage,
    escalation_key,
)

_CAMPAIGN_TIMES = (
    "created_at",
    "opened_at",
    "deadline_at",
    "remind_at",
    "reminded_at",
    "closed_at",
)
_ITEM_TIMES = ("since", "last_login", "decided_at")
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# The outbox's ``purpose`` of a review reminder (its ``request_id`` is the campaign's id).
REMINDER_PURPOSE = "review_reminder"


def new_campaign_id() -> str:
    """A short id such as ``RV-7KQ2M9``."""
    return "RV-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


def _campaign(row: Row) -> Campaign:
    data = row_dict(row)
    for name in _CAMPAIGN_TIMES:
        data[name] = from_db_time(data[name])
    return Campaign.model_validate(data)


def _item(row: Row) -> ReviewItem:
    data = row_dict(row)
    for name in _ITEM_TIMES:
        data[name] = from_db_time(data[name])
    data["drift"] = bool(data["drift"])
    return ReviewItem.model_validate(data)


class Reviews:
    """Stores campaigns, their lines and the reviewers' messages."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _now(self) -> datetime:
        return self._db.clock()

    async def _audit(
        self, conn: Connection, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        await append_audit(
            conn,
            key=self._db.audit_key,
            at=self._now(),
            request_id=None,
            actor=actor,
            action=action,
            detail=detail,
        )

    # --- campaigns ------------------------------------------------------------------------
    async def request(
        self, application: str, *, scope: str, unanswered: str, actor: str
    ) -> tuple[Campaign, bool]:
        """Ask for a campaign; one not closed yet for the application is returned instead."""
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT * FROM review_campaigns WHERE application = ? AND state != 'closed'",
                (application,),
            )
            for row in rows:
                return _campaign(row), False
            cid = new_campaign_id()
            rows = await conn.execute_fetchall(
                "INSERT INTO review_campaigns (id, application, scope, unanswered, state, "
                "started_by, created_at) VALUES (?, ?, ?, ?, 'opening', ?, ?) RETURNING *",
                (cid, application, scope, unanswered, actor, to_db_time(self._now())),
            )
            await self._audit(
                conn, actor, "review_requested", {"campaign": cid, "application": application}
            )
        return _campaign(next(iter(rows))), True

    async def get(self, campaign_id: str) -> Campaign | None:
        """The campaign with this id."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_campaigns WHERE id = ?", (campaign_id,)
        )
        return next((_campaign(r) for r in rows), None)

    async def campaigns(self, state: CampaignState | None = None) -> list[Campaign]:
        """Every campaign (in ``state``), newest first."""
        where, args = ("WHERE state = ?", [state.value]) if state else ("", [])
        rows = await self._db.conn.execute_fetchall(
            f"SELECT * FROM review_campaigns {where} ORDER BY created_at DESC",  # noqa: S608
            args,
        )
        return [_campaign(r) for r in rows]

    async def latest(self, application: str) -> Campaign | None:
        """The application's newest campaign."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_campaigns WHERE application = ? ORDER BY created_at DESC LIMIT 1",
            (application,),
        )
        return next((_campaign(r) for r in rows), None)

    async def claim_opening(self, *, worker: str, lease: timedelta) -> list[Campaign]:
        """Lease campaigns asked for and not opened yet (one process opens each)."""
        now = self._now()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE review_campaigns SET claimed_until = ?, claimed_by = ? "
                "WHERE state = 'opening' AND (claimed_until IS NULL OR claimed_until < ?) "
                "RETURNING *",
                (to_db_time(now + lease), worker, to_db_time(now)),
            )
        return [_campaign(r) for r in rows]

    async def open(
        self,
        campaign: Campaign,
        items: Sequence[NewItem],
        *,
        deadline_at: datetime,
        remind_at: datetime,
        detail: dict[str, Any],
    ) -> Campaign | None:
        """Store every line and each reviewer's (unsent) message, and open the campaign."""
        now = self._now()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE review_campaigns SET state = 'open', opened_at = ?, deadline_at = ?, "
                "remind_at = ?, claimed_until = NULL, claimed_by = NULL "
                "WHERE id = ? AND state = 'opening' RETURNING *",
                (to_db_time(now), to_db_time(deadline_at), to_db_time(remind_at), campaign.id),
            )
            if not rows:
                return None
            await conn.executemany(
                "INSERT INTO review_items (id, campaign_id, position, grant_id, drift, "
                "sf_user_id, username, subject_id, subject_name, holds, since, approved_by, "
                "last_login, reviewer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        f"{campaign.id}-{n}",
                        campaign.id,
                        n,
                        item.grant_id,
                        int(item.drift),
                        item.sf_user_id,
                        item.username,
                        item.subject_id,
                        item.subject_name,
                        item.holds,
                        to_db_time(item.since),
                        item.approved_by,
                        to_db_time(item.last_login),
                        item.reviewer,
                    )
                    for n, item in enumerate(items, start=1)
                ],
            )
            reviewers = sorted({item.reviewer for item in items})
            await conn.executemany(
                "INSERT INTO review_messages (campaign_id, reviewer) VALUES (?, ?)",
                [(campaign.id, r) for r in reviewers],
            )
            await self._audit(
                conn,
                campaign.started_by,
                "review_opened",
                {
                    "campaign": campaign.id,
                    "application": campaign.application,
                    "scope": campaign.scope,
                    "items": len(items),
                    "reviewers": reviewers,
                    "deadline": to_db_time(deadline_at),
                    **detail,
                },
            )
        return _campaign(next(iter(rows)))

    async def close(
        self,
        campaign: Campaign,
        *,
        detail: dict[str, Any],
        escalate_to: Sequence[str] = (),
    ) -> Campaign | None:
        """Close an open campaign (once); the audit row carries its counts.

        Each of ``escalate_to`` (the admins, when lines were escalated) is due a message of
        those lines, stored unsent in the same transaction.
        """
        now = self._now()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE review_campaigns SET state = 'closed', closed_at = ? "
                "WHERE id = ? AND state = 'open' RETURNING *",
                (to_db_time(now), campaign.id),
            )
            if rows:
                await conn.executemany(
                    "INSERT INTO review_messages (campaign_id, reviewer) VALUES (?, ?) "
                    "ON CONFLICT (campaign_id, reviewer) DO NOTHING",
                    [(campaign.id, escalation_key(admin)) for admin in escalate_to],
                )
                await self._audit(
                    conn,
                    "bot",
                    "review_closed",
                    {"campaign": campaign.id, "application": campaign.application, **detail},
                )
        return next((_campaign(r) for r in rows), None)

    async def due_deadlines(self) -> list[Campaign]:
        """Open campaigns whose deadline has passed."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_campaigns WHERE state = 'open' AND deadline_at <= ?",
            (to_db_time(self._now()),),
        )
        return [_campaign(r) for r in rows]

    async def due_reminders(self) -> list[Campaign]:
        """Open campaigns whose reminder time came and whose reminders are not queued yet."""
        now = to_db_time(self._now())
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_campaigns WHERE state = 'open' AND reminded_at IS NULL "
            "AND remind_at <= ? AND deadline_at > ?",
            (now, now),
        )
        return [_campaign(r) for r in rows]

    async def queue_reminders(
        self, campaign: Campaign, reminders: Sequence[tuple[str, str, list[dict[str, Any]]]]
    ) -> bool:
        """Mark the campaign reminded and store its reminders (member, text, blocks) in the
        outbox, in one transaction: each is posted once, by the outbox, after a crash too.
        False when another process queued them first."""
        now = self._now()
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE review_campaigns SET reminded_at = ? WHERE id = ? "
                "AND reminded_at IS NULL AND state = 'open' RETURNING id",
                (to_db_time(now), campaign.id),
            )
            if not rows:
                return False
            for member, text, blocks in reminders:
                await want_post(
                    conn,
                    at=now,
                    channel=member,
                    text=text,
                    blocks=blocks,
                    request_id=campaign.id,
                    purpose=REMINDER_PURPOSE,
                    recipient=member,
                )
        return True

    # --- lines --------------------------------------------------------------------------
    async def items(self, campaign_id: str, *, reviewer: str | None = None) -> list[ReviewItem]:
        """The campaign's lines (one reviewer's), in order."""
        query = "SELECT * FROM review_items WHERE campaign_id = ?"
        args: list[Any] = [campaign_id]
        if reviewer is not None:
            query += " AND reviewer = ?"
            args.append(reviewer)
        rows = await self._db.conn.execute_fetchall(query + " ORDER BY position", args)
        return [_item(r) for r in rows]

    async def item(self, item_id: str) -> ReviewItem | None:
        """The line with this id."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_items WHERE id = ?", (item_id,)
        )
        return next((_item(r) for r in rows), None)

    async def waiting_for(self, reviewer: str) -> list[tuple[Campaign, int]]:
        """Open campaigns with lines ``reviewer`` has not decided, and how many."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT c.*, COUNT(*) AS waiting FROM review_campaigns c "
            "JOIN review_items i ON i.campaign_id = c.id "
            "WHERE c.state = 'open' AND i.reviewer = ? AND i.decision IS NULL "
            "AND i.outcome IS NULL GROUP BY c.id ORDER BY c.deadline_at",
            (reviewer,),
        )
        found = []
        for row in rows:
            data = row_dict(row)
            waiting = int(data.pop("waiting"))
            found.append((Campaign.model_validate(_campaign_data(data)), waiting))
        return found

    async def decide(
        self,
        item: ReviewItem,
        decision: Decision,
        *,
        actor: str,
        outcome: Outcome | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ReviewItem | None:
        """Record a decision on an undecided line of an open campaign; None if it lost the race.

        ``actor`` is the reviewer, ``bot`` applying the policy at the deadline, or an admin
        deciding a line escalated to the admins (after the campaign closed).
        """
        now = self._now()
        async with self._db.transaction() as conn:
            # An escalated line (its campaign closed) is decided by an admin: its outcome
            # is cleared until the decision is carried out, as an open campaign's line's is.
            rows = await conn.execute_fetchall(
                "UPDATE review_items SET decision = ?, decided_by = ?, decided_at = ?, "
                "outcome = CASE WHEN outcome = 'escalated' THEN NULL "
                "ELSE COALESCE(?, outcome) END WHERE id = ? AND decision IS NULL "
                "AND (outcome = 'escalated' OR EXISTS (SELECT 1 FROM review_campaigns c "
                "WHERE c.id = review_items.campaign_id AND c.state = 'open')) RETURNING *",
                (decision.value, actor, to_db_time(now), outcome, item.id),
            )
            if rows:
                await self._audit(
                    conn,
                    actor,
                    "review_decided",
                    {
                        "campaign": item.campaign_id,
                        "item": item.id,
                        "grant": item.grant_id,
                        "user": item.username,
                        "reviewer": item.reviewer,
                        "decision": decision.value,
                        **(extra or {}),
                    },
                )
        return next((_item(r) for r in rows), None)

    async def settle(
        self,
        item_id: str,
        *,
        outcome: Outcome,
        grant_id: str | None = None,
        revocation_id: str | None = None,
        effect: str | None = None,
    ) -> ReviewItem | None:
        """Record what a decision did (the grant kept or made, the revocation opened)."""
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE review_items SET outcome = ?, grant_id = COALESCE(?, grant_id), "
                "revocation_id = COALESCE(?, revocation_id), effect = COALESCE(?, effect) "
                "WHERE id = ? RETURNING *",
                (outcome.value, grant_id, revocation_id, effect, item_id),
            )
        return next((_item(r) for r in rows), None)

    async def unfinished_closed(self) -> list[Campaign]:
        """Closed campaigns with a decided line not carried out yet (an escalated line an admin
        decided just before a crash)."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_campaigns c WHERE c.state = 'closed' AND EXISTS ("
            "SELECT 1 FROM review_items i WHERE i.campaign_id = c.id "
            "AND i.decision IS NOT NULL AND i.outcome IS NULL)"
        )
        return [_campaign(r) for r in rows]

    async def revoking(self) -> list[ReviewItem]:
        """Lines whose revocation was opened and is not known to be finished."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_items WHERE outcome = ?", (Outcome.REVOKING.value,)
        )
        return [_item(r) for r in rows]

    # --- messages -----------------------------------------------------------------------
    async def messages(self, campaign_id: str) -> list[ReviewMessage]:
        """Every reviewer's message of the campaign."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_messages WHERE campaign_id = ? ORDER BY reviewer", (campaign_id,)
        )
        return [ReviewMessage.model_validate(row_dict(r)) for r in rows]

    async def unposted(self) -> list[ReviewMessage]:
        """Messages due and not posted yet, of every campaign past opening."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_messages WHERE channel IS NULL ORDER BY campaign_id, reviewer"
        )
        return [ReviewMessage.model_validate(row_dict(r)) for r in rows]

    async def message(self, campaign_id: str, reviewer: str) -> ReviewMessage | None:
        """One reviewer's message of the campaign."""
        rows = await self._db.conn.execute_fetchall(
            "SELECT * FROM review_messages WHERE campaign_id = ? AND reviewer = ?",
            (campaign_id, reviewer),
        )
        return next((ReviewMessage.model_validate(row_dict(r)) for r in rows), None)

    async def message_landed(self, campaign_id: str, reviewer: str, channel: str, ts: str) -> bool:
        """A message Slack took late (from the outbox): where it is, unless known already."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE review_messages SET channel = ?, ts = ? "
                "WHERE campaign_id = ? AND reviewer = ? AND ts IS NULL",
                (channel, ts, campaign_id, reviewer),
            )
            return cur.rowcount > 0

    async def save_message(self, message: ReviewMessage) -> None:
        """Where a reviewer's message landed, and the page it shows."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO review_messages (campaign_id, reviewer, channel, ts, page) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (campaign_id, reviewer) DO UPDATE SET "
                "channel = excluded.channel, ts = excluded.ts, page = excluded.page",
                (message.campaign_id, message.reviewer, message.channel, message.ts, message.page),
            )


def _campaign_data(data: dict[str, Any]) -> dict[str, Any]:
    for name in _CAMPAIGN_TIMES:
        data[name] = from_db_time(data[name])
    return data
