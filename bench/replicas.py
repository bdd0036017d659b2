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


async def run_replicas(directory: Path, size: Size) -> tuple[GrantRun, GrantRun]:
    """(one bot on SQLite, two replicas on PostgreSQL), each provisioning ``size.grants``."""
    sims = start_simulators(delay=size.delay, users=2 * size.grants)
    try:
        with running_postgres() as server:
            return await _both(sims, server.new_database_url("bench"), directory, size)
    finally:
        sims.stop()


async def _both(
    sims: Simulators, url: str, directory: Path, size: Size
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
        within = 60 + size.grants
        one = await run_grants(
            sims,
            spaces[0],
            single,
            sims.users[: size.grants],
            concurrency=size.concurrency,
            think=size.think,
            within=within,
        )
        two = await run_grants(
            sims,
            spaces[1],
            replace(bots[1], database=url),
            sims.users[size.grants :],
            concurrency=size.concurrency,
            think=size.think,
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
        measure=f"approved to provisioned, {replicas.grants} requests over a round-robin front",
        result=f"{replicas.per_second:.1f}/s; {checked}",
        baseline=f"{sqlite.per_second:.1f}/s, one bot on SQLite ({sqlite.grants} requests)",
        ratio=ratio(replicas.per_second, sqlite.per_second, higher_is_better=True),
        target="no lost or duplicate",
        met=not replicas.problems and not sqlite.problems,
        facts={
            "per_second": replicas.per_second,
            "sqlite_per_second": sqlite.per_second,
            "problems": len(replicas.problems),
            "sqlite_problems": len(sqlite.problems),
        },
    )
