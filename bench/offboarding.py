"""Offboarding through Slack: many members deactivated at once, one user_change event each."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.dbread import ReadOnlyDb
from bench.load import collector_paused, run_concurrently, wait_until
from bench.rig import BenchUser, BotProcess, Simulators
from bot.sandbox.workspace import Workspace


@dataclass(frozen=True)
class SlackOffboarding:
    """What one bot did when ``users`` members holding a grant left Slack together."""

    users: int
    calls: int
    deactivation_calls: int
    seconds: float
    revoked: int
    failed_events: int


async def run_offboarding(
    sims: Simulators,
    workspace: Workspace,
    bot: BotProcess,
    users: list[BenchUser],
    *,
    concurrency: int,
    within: float,
) -> SlackOffboarding:
    """Deactivate every user in Slack and wait until each of their grants is revoked."""
    db = ReadOnlyDb(bot.database)
    subjects = {u.id for u in users}
    calls_before, first_call = sims.org.api_calls(), sims.org.call_count()

    def revoked() -> int:
        return db.grant_states(subjects)["revoked"]

    with collector_paused():
        started = time.monotonic()
        replies = await run_concurrently(users, concurrency, lambda u: workspace.deactivate(u.id))
        await wait_until(lambda: revoked() >= len(users), within=within, interval=0.1)
        seconds = time.monotonic() - started
    made = sims.org.calls_from(first_call)
    deactivating = [c for c in made if c[0] == "PATCH" and ("/User/" in c[1] or c[2] == "User")]
    return SlackOffboarding(
        users=len(users),
        calls=sims.org.api_calls() - calls_before,
        deactivation_calls=len(deactivating),
        seconds=seconds,
        revoked=revoked(),
        failed_events=sum(1 for r in replies if r.status != 200),
    )
