"""Grants per second with two replicas on one PostgreSQL behind a round-robin front, beside one
bot on SQLite: the same simulators, the same number of requests, one after the other."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

from bench.grants import GrantRun, run_grants
from bench.rig import (
    SIGNING_SECRET,
    BotProcess,
    Simulators,
    start_bot,
    start_simulators,
    workspace_for,
)
from bench.sizes import Size
from bench.stats import Figure, ratio
from bot.sandbox.front import RoundRobinFront
from bot.sandbox.postgres_server import running_postgres
from bot.sandbox.workspace import Workspace


def replica_grants(size: Size) -> int:
    """Requests each side approves: the first rate's clicks, open-loop."""
    return max(1, round(size.rates[0] * size.seconds_per_rate))


def _per_second(run: GrantRun) -> float:
    seconds = sum(step.seconds for step in run.steps)
    return run.provisioned / seconds if seconds > 0 else 0.0


async def run_replicas(directory: Path, size: Size) -> tuple[GrantRun, GrantRun]:
    """(one bot on SQLite, two replicas on PostgreSQL), each provisioning as many requests."""
    count = replica_grants(size)
    sims = start_simulators(delay=size.delay, users=2 * count)
    try:
        with running_postgres() as server:
            return await _both(sims, server.new_database_url("bench"), directory, size, count)
    finally:
        sims.stop()


async def _both(
    sims: Simulators, url: str, directory: Path, size: Size, count: int
) -> tuple[GrantRun, GrantRun]:
    bots: list[BotProcess] = []
    spaces: list[Workspace] = []
    front: RoundRobinFront | None = None
    try:  # the bots stop before their database server does
        single = await start_bot(sims, directory / "sqlite", naive=False)
        bots.append(single)
        spaces.append(workspace_for(sims, single))
        shared = {"ACCESSBOT_DATABASE": url, "ACCESSBOT_AUDIT_KEY": secrets.token_hex(32)}
        for name in ("replica-a", "replica-b"):
            settings = {**shared, "ACCESSBOT_WORKER_ID": name}
            bots.append(await start_bot(sims, directory / name, naive=False, settings=settings))
        front = await RoundRobinFront([bot.port for bot in bots[1:]]).start()
        spaces.append(Workspace(app_url=front.url, signing_secret=SIGNING_SECRET, slack=sims.slack))
        within = 60 + count
        rates = (size.rates[0],)
        one = await run_grants(
            sims,
            spaces[0],
            single,
            sims.users[:count],
            rates=rates,
            seconds_per_rate=size.seconds_per_rate,
            concurrency=size.concurrency,
            within=within,
        )
        two = await run_grants(
            sims,
            spaces[1],
            replace(bots[1], database=url),
            sims.users[count:],
            rates=rates,
            seconds_per_rate=size.seconds_per_rate,
            concurrency=size.concurrency,
            within=within,
        )
        return one, two
    finally:
        for space in spaces:
            await space.aclose()
        if front is not None:
            await front.close()
        for bot in bots:
            bot.stop()


def replicas_figure(sqlite: GrantRun, replicas: GrantRun) -> Figure:
    """Two replicas on PostgreSQL beside one bot on SQLite (the baseline column)."""
    checked = "no lost or duplicate" if not replicas.problems else "; ".join(replicas.problems)
    return Figure(
        what="grants end to end, two replicas on PostgreSQL",
        measure=f"approved to provisioned, {replicas.grants} requests clicked open-loop at "
        f"{replicas.steps[0].rate:g}/s over a round-robin front"
        if replicas.steps
        else "no clicks",
        result=f"{_per_second(replicas):.1f}/s; {checked}",
        baseline=f"{_per_second(sqlite):.1f}/s, one bot on SQLite ({sqlite.grants} requests)",
        ratio=ratio(_per_second(replicas), _per_second(sqlite), higher_is_better=True),
        target="no lost or duplicate",
        met=not replicas.problems and not sqlite.problems,
        facts={
            "per_second": _per_second(replicas),
            "sqlite_per_second": _per_second(sqlite),
            "problems": len(replicas.problems),
            "sqlite_problems": len(sqlite.problems),
        },
    )
