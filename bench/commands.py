"""Slash commands under load: how fast the bot acknowledges, and how soon the modal opens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from bench.load import collector_paused, run_concurrently, wait_until
from bench.rig import BenchUser, Simulators, TriggerLog
from bench.stats import percentile
from bot.sandbox.slack_records import ApiCall
from bot.sandbox.workspace import Workspace
from handlers.ids import CallbackId

JsonDict = dict[str, Any]


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
        """The 99th percentile time from sending the command to the full form in the modal."""
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

    def opened() -> dict[str, float]:
        return full_forms(slack, ours)

    # The real bot opens the modal after its ack; give the last ones time to arrive.
    await wait_until(lambda: len(opened()) >= len(users), within=settle_within, interval=0.1)
    opens = [at - sent[ours[trigger]] for trigger, at in opened().items()]
    return CommandRun(
        acks=tuple(elapsed for elapsed, status in replies if status == 200),
        modal_opens=tuple(opens),
        failed_acks=sum(1 for _, status in replies if status != 200),
        failed_opens=len(users) - len(opens),
        seconds=seconds,
    )


def _view(call: ApiCall) -> JsonDict:
    view = call.args.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    return view if isinstance(view, dict) else {}


def full_forms(slack: TriggerLog, triggers: dict[str, str]) -> dict[str, float]:
    """When the full request form reached each of these triggers' modals (workspace clock).

    A bot may open a loading view first and put the form in with views.update (ours does);
    the form counts from that update. The naive bot opens the form itself.
    """
    opened: dict[str, tuple[str, float]] = {}
    for call in slack.calls("views.open"):
        trigger = str(call.args.get("trigger_id"))
        if trigger in triggers and call.ok:
            if _view(call).get("callback_id") == CallbackId.REQUEST:
                opened[trigger] = ("", call.at)
            else:
                view = slack.open_view(triggers[trigger])
                opened[trigger] = (str(view["id"]) if view else "?", call.at)
    filled: dict[str, float] = {}
    for call in slack.calls("views.update"):
        if call.ok and _view(call).get("callback_id") == CallbackId.REQUEST:
            filled.setdefault(str(call.args.get("view_id")), call.at)
    done: dict[str, float] = {}
    for trigger, (view_id, at) in opened.items():
        if not view_id:
            done[trigger] = at
        elif view_id in filled:
            done[trigger] = filled[view_id]
    return done
