"""The scheduler tick over a long history: every due-work query against ``stored`` requests.

A tick asks the database what is due (retries and resumed steps, reminders, expiry warnings,
expiries, undecided requests) and leases it. Measured with the indexes the migrations create,
beside the same queries on a copy without those indexes and beside a full scan in Python.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.stats import percentile
from storage.db import Database, to_db_time
from storage.due import DueWork
from storage.models import State
from storage.requests import RequestRepository

WORKER = "bench-tick"
LEASE = timedelta(minutes=5)
DUE_STATES = (State.APPROVED, State.PROVISIONING, State.REQUESTED, State.DEPROVISIONING)
# Most of a long history is finished work; a small share is live.
_MIX = (
    ("grant", "revoked", 0.30),
    ("grant", "expired", 0.05),
    ("grant", "denied", 0.08),
    ("grant", "cancelled", 0.04),
    ("grant", "active", 0.20),
    ("grant", "pending_approval", 0.01),
    ("grant", "approved", 0.004),
    ("grant", "needs_admin", 0.005),
    ("revoke", "done", 0.30),
    ("revoke", "blocked", 0.001),
)


@dataclass(frozen=True)
class TickRun:
    """Seconds per tick (every due query once) with indexes, without, and by Python scan."""

    indexed: tuple[float, ...]
    unindexed: tuple[float, ...]
    python_scan: tuple[float, ...]
    stored: int
    claimed: int

    @property
    def p50(self) -> float:
        """Median tick with the indexes."""
        return percentile(self.indexed, 50)


def _rows(count: int, now: datetime, seed: int) -> list[tuple[object, ...]]:
    pick = random.Random(seed)
    kinds = [(k, s) for k, s, _ in _MIX]
    weights = [w for _, _, w in _MIX]
    rows: list[tuple[object, ...]] = []
    for n in range(count):
        kind, state = pick.choices(kinds, weights)[0]
        created = now - timedelta(days=pick.uniform(0, 730))
        expires = next_attempt = None
        if state == "active":
            # Live grants end over the coming months; a few end today or ended a moment ago.
            expires = now + timedelta(hours=pick.uniform(-2, 24 * 90))
        elif state in ("revoked", "expired"):
            expires = created + timedelta(days=pick.choice((1, 7, 30)))
        if state == "approved":
            next_attempt = now + timedelta(seconds=pick.uniform(-60, 3600))
        if state == "pending_approval":
            created = now - timedelta(hours=pick.uniform(0, 24 * 10))
        rows.append(
            (
                f"R-B{n:08d}",
                kind,
                "sales",
                state,
                f"U{n % 5000:07d}",
                f"U{n % 5000:07d}",
                30 * 86400 if expires else None,  # seconds
                to_db_time(next_attempt),
                to_db_time(expires),
                to_db_time(created),
                to_db_time(created),
            )
        )
    return rows


async def build_history(path: Path, count: int, *, seed: int = 8) -> datetime:
    """A database holding ``count`` requests; returns the 'now' the history was built around."""
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    async with Database(path, clock=lambda: now) as db, db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO requests (id, kind, application, state, requester_id, subject_id, "
            "duration, next_attempt_at, expires_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(count, now, seed),
        )
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
    return now


# A query that names its index (INDEXED BY) cannot run without it, so that one stays.
NAMED_BY_QUERIES = ("ix_requests_grant",)


def without_indexes(source: Path, target: Path) -> list[str]:
    """A copy of the database without the indexes on requests (the naive schema)."""
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' "
            "AND sql IS NOT NULL"
        ).fetchall()
        dropped = [str(name) for (name,) in rows if name not in NAMED_BY_QUERIES]
        for name in dropped:
            conn.execute(f'DROP INDEX "{name}"')
    return dropped


def tick_queries(db: Database) -> list[Callable[[], Awaitable[object]]]:
    """Every due-work query one tick runs (claims are given back afterwards)."""
    repo, due = RequestRepository(db), DueWork(db)
    return [
        lambda: repo.claim_due(DUE_STATES, worker=WORKER, lease=LEASE, limit=50),
        lambda: due.claim_reminders(first_after=timedelta(hours=4), worker=WORKER, lease=LEASE),
        lambda: due.claim_expiring(within=timedelta(days=1), worker=WORKER, lease=LEASE),
        lambda: due.claim_expired(worker=WORKER, lease=LEASE),
        lambda: due.undecided_since(db.clock() - timedelta(days=7)),
    ]


async def time_ticks(path: Path, now: datetime, repeats: int) -> tuple[list[float], int]:
    """Seconds per tick, and how many rows the first tick claimed."""
    times: list[float] = []
    claimed = 0
    async with Database(path, clock=lambda: now) as db:
        queries = tick_queries(db)
        due = DueWork(db)
        for n in range(repeats):
            started = time.perf_counter()
            found = [await q() for q in queries]
            times.append(time.perf_counter() - started)
            if n == 0:
                claimed = sum(len(f) for f in found if isinstance(f, list))
            await due.release_claims_of(WORKER)  # the next tick finds the same work due
    return times, claimed


async def python_scan(path: Path, now: datetime, repeats: int) -> list[float]:
    """The naive tick: read every request and pick the due ones in Python."""
    times: list[float] = []
    async with Database(path, clock=lambda: now) as db:
        repo = RequestRepository(db)
        for _ in range(repeats):
            started = time.perf_counter()
            everything = await repo.find(limit=10**9)
            _ = [
                r
                for r in everything
                if r.state in DUE_STATES
                and (r.next_attempt_at is None or r.next_attempt_at <= now)
                and (r.claimed_until is None or r.claimed_until < now)
            ]
            times.append(time.perf_counter() - started)
    return times


async def run_scheduler(directory: Path, stored: int, *, repeats: int = 20) -> TickRun:
    """Build the history once (in ``directory``, which must exist), then time ticks three ways."""
    indexed, bare = directory / "history.sqlite3", directory / "history-no-index.sqlite3"
    now = await build_history(indexed, stored)
    without_indexes(indexed, bare)
    ours, claimed = await time_ticks(indexed, now, repeats)
    theirs, _ = await time_ticks(bare, now, max(3, repeats // 4))
    scans = await python_scan(indexed, now, 3)
    return TickRun(tuple(ours), tuple(theirs), tuple(scans), stored, claimed)
