"""Slash commands under load: how fast the bot acknowledges, and how soon the modal opens."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.load import collector_paused, run_concurrently, wait_until
from bench.rig import BenchUser, Simulators
from bench.stats import percentile
from bot.sandbox.workspace import Workspace


@dataclass(frozen=True)
class CommandRun:
    """What one bot did with a burst of ``/salesforce`` commands."""

    acks: tuple[float, ...]
    modal_opens: tuple[float, ...]
    failed_acks: int
    failed_opens: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Commands answered per second while the burst lasted."""
        return len(self.acks) / self.seconds if self.seconds > 0 else 0.0

    def merged(self, other: CommandRun) -> CommandRun:
        """Two rounds as one."""
        return CommandRun(
            acks=self.acks + other.acks,
            modal_opens=self.modal_opens + other.modal_opens,
            failed_acks=self.failed_acks + other.failed_acks,
            failed_opens=self.failed_opens + other.failed_opens,
            seconds=self.seconds + other.seconds,
        )

    @property
    def p99_ack(self) -> float:
        """The 99th percentile acknowledgement time."""
        return percentile(self.acks, 99)

    @property
    def p99_open(self) -> float:
        """The 99th percentile time from sending the command to views.open reaching Slack."""
        return percentile(self.modal_opens, 99)


async def run_commands(
    sims: Simulators,
    workspace: Workspace,
    users: list[BenchUser],
    *,
    concurrency: int,
    think: float = 0.0,
    settle_within: float = 60.0,
) -> CommandRun:
    """Each user types ``/salesforce`` once, ``concurrency`` people at a time."""
    slack = sims.slack
    known_triggers = set(slack.trigger_owner)
    sent: dict[str, float] = {}

    async def command(user: BenchUser) -> tuple[float, int]:
        sent[user.id] = time.monotonic()
        reply = await workspace.slash(user.id)
        return reply.elapsed, reply.status

    with collector_paused():
        started = time.monotonic()
        replies = await run_concurrently(users, concurrency, command, think=think)
        seconds = time.monotonic() - started
    ours = {t: u for t, u in slack.trigger_owner.items() if t not in known_triggers}

    def opened() -> list[tuple[str, float, bool]]:
        return [
            (str(c.args.get("trigger_id")), c.at, c.ok)
            for c in slack.calls("views.open")
            if c.args.get("trigger_id") in ours
        ]

    # The real bot opens the modal after its ack; give the last ones time to arrive.
    await wait_until(lambda: len(opened()) >= len(users), within=settle_within, interval=0.1)
    opens = [at - sent[ours[trigger]] for trigger, at, ok in opened() if ok]
    return CommandRun(
        acks=tuple(elapsed for elapsed, status in replies if status == 200),
        modal_opens=tuple(opens),
        failed_acks=sum(1 for _, status in replies if status != 200),
        failed_opens=len(users) - len(opens),
        seconds=seconds,
    )
