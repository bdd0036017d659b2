"""``accessbot review start|status|export``: access reviews from the shell.

``start`` only asks for a campaign in the database; the running bot opens it at its next tick
(it reads the org and posts to the reviewers). ``status`` and ``export`` read the database.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bot.audit_cli import _existing, _open
from bot.csv_export import SafeCsvWriter
from handlers.flows.review_open import review_settings
from handlers.policy import Policy
from storage.db import Database
from storage.review_models import Campaign, ReviewItem
from storage.reviews import Reviews

# One row per line: who reviewed it, what they decided and when, and what Salesforce shows.
COLUMNS = (
    "campaign",
    "application",
    "item",
    "username",
    "subject",
    "subject_name",
    "holds",
    "grant",
    "reviewer",
    "decision",
    "decided_by",
    "decided_at",
    "outcome",
    "revocation",
)


class UnknownApplication(ValueError):
    """``review start`` named an application the policy does not have."""


async def start_review(path: Path | str, policy: Policy, application: str, *, actor: str) -> str:
    """Ask for a campaign of ``application``; the line to print."""
    app = policy.application(application)
    if app is None:
        names = ", ".join(a.name for a in policy.applications)
        raise UnknownApplication(f"no application {application!r} in the policy (it has {names})")
    settings = review_settings(app)
    async with Database(_existing(path)) as db:
        campaign, created = await Reviews(db).request(
            app.name,
            scope=settings.scope.value,
            unanswered=settings.unanswered.value,
            actor=actor,
        )
    if not created:
        return (
            f"review {campaign.id} of {app.name} is already {campaign.state.value}; "
            "one campaign at a time per application"
        )
    return (
        f"review {campaign.id} of {app.name} asked for (scope {settings.scope.value}, "
        f"deadline {settings.deadline}); the running bot opens it at its next tick"
    )


def _status_line(campaign: Campaign, items: list[ReviewItem]) -> str:
    decided = sum(1 for i in items if i.decision is not None)
    outcomes = Counter(i.outcome.value for i in items if i.outcome is not None)
    listing = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "none yet"
    deadline = campaign.deadline_at.isoformat(timespec="minutes") if campaign.deadline_at else "-"
    return (
        f"{campaign.id}  {campaign.application:<12} {campaign.state.value:<8} "
        f"{decided}/{len(items)} decided  deadline {deadline}  outcomes: {listing}"
    )


async def review_status(path: Path | str) -> list[str]:
    """One line per campaign, newest first."""
    async with Database(_existing(path)) as db:
        store = Reviews(db)
        campaigns = await store.campaigns()
        lines = [_status_line(c, await store.items(c.id)) for c in campaigns]
    return lines or ["no access review yet (accessbot review start APP)"]


def _row(campaign: Campaign, item: ReviewItem) -> dict[str, Any]:
    return {
        "campaign": campaign.id,
        "application": campaign.application,
        "item": item.id,
        "username": item.username,
        "subject": item.subject_id or "",
        "subject_name": item.subject_name,
        "holds": item.holds,
        "grant": item.grant_id or "",
        "reviewer": item.reviewer,
        "decision": item.decision.value if item.decision else "",
        "decided_by": item.decided_by or "",
        "decided_at": item.decided_at.isoformat() if item.decided_at else "",
        "outcome": item.outcome.value if item.outcome else "",
        "revocation": item.revocation_id or "",
    }


async def export_reviews(
    path: Path | str, fmt: str, output: str | None, *, campaign_id: str | None = None
) -> int:
    """Write one row per line (of one campaign, or all) as CSV or JSON lines; how many."""
    count = 0
    async with Database(_existing(path)) as db:
        store = Reviews(db)
        campaigns = await store.campaigns()
        if campaign_id is not None:
            campaigns = [c for c in campaigns if c.id == campaign_id]
            if not campaigns:
                raise ValueError(f"no access review {campaign_id!r}")
        with _open(output) as out:
            writer = SafeCsvWriter(out) if fmt == "csv" else None
            if writer is not None:
                writer.writerow(COLUMNS)
            for campaign in campaigns:
                for item in await store.items(campaign.id):
                    row = _row(campaign, item)
                    if writer is not None:
                        writer.writerow([row[c] for c in COLUMNS])
                    else:
                        out.write(json.dumps(row, sort_keys=True) + "\n")
                    count += 1
    return count
