"""Both bots on one pair of simulators, started together and always stopped together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rig import BotProcess, Simulators, start_bot, start_simulators, workspace_for
from bot.sandbox.workspace import Workspace

NAMES = ("ours", "naive")


@dataclass(frozen=True)
class Stack:
    """The simulators, the real bot and the naive one, and a workspace driving each."""

    sims: Simulators
    bots: dict[str, BotProcess]
    spaces: dict[str, Workspace]


@asynccontextmanager
async def bot_pair(directory: Path, *, delay: float, users: int) -> AsyncIterator[Stack]:
    """Fresh simulators holding ``users`` people, and both bots wired to them."""
    sims = start_simulators(delay=delay, users=users)
    bots: dict[str, BotProcess] = {}
    spaces: dict[str, Workspace] = {}
    try:
        for name in NAMES:
            bots[name] = await start_bot(sims, directory / name, naive=name == "naive")
            spaces[name] = workspace_for(sims, bots[name])
        yield Stack(sims, bots, spaces)
    finally:
        for space in spaces.values():
            await space.aclose()
        for bot in bots.values():
            bot.stop()
        sims.stop()


@asynccontextmanager
async def one_bot(
    directory: Path,
    *,
    delay: float,
    users: int,
    naive: bool,
    policy: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[Simulators, BotProcess, Workspace]]:
    """Fresh simulators holding ``users`` people (a fresh org), and one bot wired to them."""
    sims = start_simulators(delay=delay, users=users)
    try:
        bot = await start_bot(sims, directory, naive=naive, policy=policy)
        try:
            space = workspace_for(sims, bot)
            try:
                yield sims, bot, space
            finally:
                await space.aclose()
        finally:
            bot.stop()
    finally:
        sims.stop()
