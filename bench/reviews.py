"""An access review over thousands of grants, opened under Slack's rate limits.

The bot (in process, on the simulated Slack with its limits on and the simulated org over
HTTPS) opens a campaign of ``grants`` active grants shared by three reviewers: it reads the
lines, one LastLoginDate query per 500 users, stores them, and posts one message per
reviewer. The naive baseline posts one message per line, as a bot without paging would; it
runs for ``sample`` lines and its time for all of them is projected from its pace.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import JORDAN, OLIVIA, OMAR, demo_policy, start_stage
from handlers.policy import Policy
from handlers.rate_limits import RateLimitCounter, retry_handlers
from handlers.review_jobs import ReviewJobs
from storage.db import to_db_time
from storage.due import DueWork

REVIEWERS = (OMAR.id, OLIVIA.id, JORDAN.id)


@dataclass(frozen=True)
class ReviewRun:
    """How one campaign opened, and the one-message-per-line baseline."""

    grants: int
    lines: int
    seconds: float
    slack_calls: dict[str, int]
    rate_limited: int
    salesforce_calls: int
    naive_sample: int
    naive_seconds: float
    naive_rate_limited: int

    @property
    def naive_projected(self) -> float:
        """Seconds the baseline would take for every line, at the pace it kept."""
        return self.naive_seconds / self.naive_sample * self.lines if self.naive_sample else 0.0


async def run_review(directory: Path, grants: int, *, sample: int = 40) -> ReviewRun:
    """Open one campaign over ``grants`` grants; then the baseline over ``sample`` lines."""
    org = SimulatedOrg()
    org.seed_demo()
    seats = org.id_of("UserLicense", "Salesforce")
    org.admin_update("UserLicense", seats, TotalLicenses=grants + 100)
    profile = org.id_of("Profile", "Sales User")
    user_ids = [
        org.add_user(f"review{n:06d}@acme.com", profile, last_name=f"Person{n}")
        for n in range(grants)
    ]
    policy = Policy(applications=demo_policy(reviews={"reviewers": list(REVIEWERS)}).applications)
    stage = await start_stage(directory, policy=policy, org=org)
    try:
        db = stage.runtime.db
        now = db.clock()
        rows = [
            (
                f"R-V{n:07d}",
                "grant",
                "sales",
                "active",
                f"U0V{n:06d}",
                f"U0V{n:06d}",
                f"review{n:06d}@acme.com",
                f"Review Person {n}",
                "Salesforce",
                "Sales User",
                json.dumps(["Sales_Ops"]),
                OMAR.id,
                to_db_time(now - timedelta(days=n % 300)),
                user_id,
                f"review{n:06d}@acme.com",
                to_db_time(now),
                to_db_time(now),
            )
            for n, user_id in enumerate(user_ids)
        ]
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO requests (id, kind, application, state, requester_id, subject_id, "
                "subject_email, subject_name, license, profile, permission_sets, decided_by, "
                "decided_at, sf_user_id, sf_username, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        deps = stage.runtime.deps
        await deps.catalog.current()  # the catalog is read at start-up in production too
        calls_before = len(stage.slack.calls())
        sf_before = stage.org.api_calls
        await deps.reviews.request("sales", scope="all", unanswered="escalate", actor="bench")
        started = time.perf_counter()
        opened = await ReviewJobs(deps, DueWork(db)).run()
        seconds = time.perf_counter() - started
        assert opened == 1, opened
        calls = stage.slack.calls()[calls_before:]
        (campaign,) = await deps.reviews.campaigns()
        lines = len(await deps.reviews.items(campaign.id))
        posted = {m.reviewer for m in await deps.reviews.messages(campaign.id) if m.ts}
        assert posted == set(REVIEWERS), posted
        naive_seconds, naive_limited = await _naive(
            stage.slack.api_url, stage.slack.bot_token, sample
        )
        return ReviewRun(
            grants=grants,
            lines=lines,
            seconds=seconds,
            slack_calls=dict(Counter(c.method for c in calls)),
            rate_limited=sum(1 for c in calls if c.status == 429),
            salesforce_calls=stage.org.api_calls - sf_before,
            naive_sample=sample,
            naive_seconds=naive_seconds,
            naive_rate_limited=naive_limited,
        )
    finally:
        await stage.close()


async def _naive(api_url: str, token: str, sample: int) -> tuple[float, int]:
    """One chat.postMessage per line, shared by the three reviewers, under the same limits."""
    counter = RateLimitCounter()
    client = AsyncWebClient(token=token, base_url=api_url, retry_handlers=retry_handlers(counter))
    started = time.perf_counter()
    try:
        for n in range(sample):
            reviewer = REVIEWERS[n % len(REVIEWERS)]
            await client.chat_postMessage(
                channel=reviewer, text=f"Review line {n}: keep or revoke?"
            )
    finally:
        if client.session is not None:
            await client.session.close()
    return time.perf_counter() - started, counter.total
