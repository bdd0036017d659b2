"""``python -m bench``: measure the bot against its targets and write docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cohort import run_burst
from bench.commands import CommandRun, run_commands
from bench.figures import (
    calls_figure,
    capacity_figure,
    cohort_figure,
    command_figures,
    grant_figures,
    grant_notes,
    memory_figure,
    offboarding_figure,
    offboarding_notes,
    review_figure,
    scheduler_figure,
    slack_offboarding_figure,
    transfer_figure,
)
from bench.grants import GrantRun, run_grants
from bench.machine import load_average, this_machine
from bench.offboarding import SlackOffboarding, run_offboarding
from bench.org_process import remote_org, start_org_process
from bench.replicas import replica_grants, replicas_figure, run_replicas
from bench.report import Report, now_utc, text_table, write_report
from bench.reviews import run_review
from bench.rig import REPO_ROOT
from bench.scheduler import run_scheduler
from bench.sf_calls import grant_calls, offboard_calls
from bench.sizes import QUICK, SIZES, Size
from bench.stack import NAMES, bot_pair, one_bot
from bench.stats import Figure
from bench.transfer import transfer_rows

DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"


class Run:
    """One bench run: the figures and notes gathered so far."""

    def __init__(self, size: Size, directory: Path) -> None:
        self.size = size
        self.directory = directory
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    def say(self, text: str) -> None:
        """Progress on stderr, so the table on stdout stays clean."""
        print(f"bench: {text}", file=sys.stderr, flush=True)

    async def commands(self) -> None:
        """Slash commands at the users' pace, then with no think time."""
        size = self.size
        # The last `concurrency` people only warm the bots up (first catalog read, connections).
        users = size.commands + size.concurrency
        self.say(f"starting the simulators ({users} people) and both bots")
        async with bot_pair(self.directory / "commands", delay=size.delay, users=users) as stack:
            sims, spaces = stack.sims, stack.spaces
            # 100 commands a second in one workspace is past views.open's own limit (tier 4,
            # about 100 a minute): with it on, these rows would measure Slack, not the bot.
            sims.slack.set_rate_limits(enabled=False)
            for name in NAMES:
                self.say(f"warming up: {name}")
                warm = sims.users[-size.concurrency :]
                await run_commands(sims, spaces[name], warm, concurrency=size.concurrency)
            people = sims.users[: size.commands]
            per_round = max(1, len(people) // size.rounds)
            runs: dict[str, CommandRun] = {}
            for n in range(size.rounds):
                chunk = people[n * per_round : (n + 1) * per_round]
                # Alternating rounds: both bots see the same moments of a noisy machine.
                for name in NAMES:
                    self.say(f"slash commands, round {n + 1}/{size.rounds}: {name}")
                    run = await run_commands(
                        sims, spaces[name], chunk, concurrency=size.concurrency, think=size.think
                    )
                    runs[name] = runs[name].merged(run) if name in runs else run
            self.figures += command_figures(runs["ours"], runs["naive"], size.concurrency)
            capacity: dict[str, CommandRun] = {}
            half = people[: max(1, len(people) // 2)]
            for name in NAMES:
                self.say(f"command capacity (no think time): {name}")
                capacity[name] = await run_commands(
                    sims, spaces[name], half, concurrency=size.concurrency
                )
            self.figures.append(
                capacity_figure(capacity["ours"], capacity["naive"], size.concurrency)
            )

    async def grants(self) -> None:
        """Grants at rising click rates, each bot on a fresh org (its memory is this run's),
        then offboarding the people it granted."""
        size = self.size
        users = max(size.clicks, size.offboard)
        within = 60.0  # a stuck step ends with its problems reported
        results: dict[str, GrantRun] = {}
        memory: dict[str, int] = {}
        offboarded: dict[str, SlackOffboarding] = {}
        for name in NAMES:
            self.say(f"starting fresh simulators ({users} people) and the {name} bot")
            folder = self.directory / "grants" / name
            async with one_bot(folder, delay=size.delay, users=users, naive=name == "naive") as (
                sims,
                bot,
                space,
            ):
                self.say(f"grants at {', '.join(f'{r:g}' for r in size.rates)} clicks/s: {name}")
                results[name] = run = await run_grants(
                    sims,
                    space,
                    bot,
                    sims.users,
                    rates=size.rates,
                    seconds_per_rate=size.seconds_per_rate,
                    concurrency=size.concurrency,
                    within=within,
                    at_least=size.offboard,
                )
                memory[name] = bot.peak_rss_bytes()
                leaving = list(run.granted[: size.offboard])
                self.say(f"offboarding through Slack: {name} ({len(leaving)} members)")
                offboarded[name] = await run_offboarding(
                    sims, space, bot, leaving, concurrency=size.concurrency, within=within
                )
        self.figures += grant_figures(results["ours"], results["naive"], size)
        self.notes += grant_notes(results["ours"], results["naive"])
        self.figures.append(memory_figure(memory["ours"], memory["naive"]))
        self.figures.append(slack_offboarding_figure(offboarded["ours"], offboarded["naive"]))

    async def cohort(self) -> None:
        """A burst of requests to two owners: one list each, against a message per request."""
        size = self.size
        runs = {}
        for cohorts in (True, False):
            name = "lists" if cohorts else "singles"
            self.say(f"{size.burst} requests at once to two owners: {name}")
            runs[name] = await run_burst(
                self.directory / "burst" / name,
                requests=size.burst,
                delay=size.delay,
                concurrency=size.concurrency,
                cohorts=cohorts,
                within=120 + 3 * size.burst,  # one message a second to each owner, and slack
            )
        self.figures.append(cohort_figure(runs["lists"], runs["singles"]))

    async def salesforce_calls(self) -> None:
        """Calls per grant and bulk deactivation, through the gateways, on a fresh org."""
        size = self.size
        manager = start_org_process()
        org = remote_org(manager, size.delay)
        try:
            endpoint = org.endpoint()
            self.say("Salesforce calls per grant")
            new = await grant_calls(org, endpoint, size.specs, reactivate=False)
            old = await grant_calls(org, endpoint, size.specs, reactivate=True)
            self.figures.append(calls_figure(new, old))
            self.notes.append(
                f"Per grant, one at a time: new user {new.ours_seconds / size.specs * 1000:.0f} "
                f"ms (naive {new.naive_seconds / size.specs * 1000:.0f} ms), reactivation "
                f"{old.ours_seconds / size.specs * 1000:.0f} ms (naive "
                f"{old.naive_seconds / size.specs * 1000:.0f} ms)."
            )
            self.say(f"deactivating {size.offboard} users through the gateway")
            ours, naive = await offboard_calls(org, endpoint, size.offboard)
            self.figures.append(offboarding_figure(ours, naive, size.offboard))
            self.notes += offboarding_notes(ours, naive)
        finally:
            org.stop()
            manager.shutdown()

    async def scheduler(self) -> None:
        """The due-work queries over a long history."""
        self.say(f"scheduler tick over {self.size.stored:,} stored requests")
        folder = self.directory / "scheduler"
        folder.mkdir()
        self.figures.append(scheduler_figure(await run_scheduler(folder, self.size.stored)))

    async def replicas(self) -> None:
        """Grants with two replicas on PostgreSQL, beside one bot on SQLite."""
        self.say(
            "grants on two replicas (PostgreSQL) and on one bot (SQLite): "
            f"{replica_grants(self.size)} each"
        )
        one, two = await run_replicas(self.directory / "replicas", self.size)
        self.figures.append(replicas_figure(one, two))

    async def reviews(self) -> None:
        """An access review campaign over many grants, opened under Slack's limits."""
        self.say(f"access review over {self.size.reviews:,} grants")
        folder = self.directory / "reviews"
        folder.mkdir()
        sample = min(30, self.size.reviews)
        self.figures.append(
            review_figure(await run_review(folder, self.size.reviews, sample=sample))
        )

    async def transfer(self) -> None:
        """A leaver's records handed over to a successor."""
        self.say(f"record transfer of {self.size.transfer:,} Accounts")
        folder = self.directory / "transfer"
        folder.mkdir()
        rows = await transfer_rows(self.size.transfer, self.size.transfer_sample, folder)
        self.figures.append(transfer_figure(rows))


STEPS = (
    "commands",
    "grants",
    "cohort",
    "replicas",
    "salesforce_calls",
    "scheduler",
    "reviews",
    "transfer",
)


async def measure(size: Size, only: Sequence[str] = STEPS) -> Report:
    """Run every benchmark (or those named in ``only``) at ``size``."""
    started, load_before, clock = now_utc(), load_average(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="accessbot-bench-") as tmp:
        run = Run(size, Path(tmp))
        for step in STEPS:
            if step in only:
                await getattr(run, step)()
    order = [
        "slash command ack",
        "modal open",
        "button ack",
        "click to active",
        "grants end to end",
        "cohort",
        "Salesforce calls per grant",
        "offboarding",
        "scheduler tick",
        "access review",
        "record transfer",
        "memory",
        "command capacity",
    ]

    def rank(figure: Figure) -> tuple[int, bool]:
        place = next((n for n, w in enumerate(order) if figure.what.startswith(w)), len(order))
        return place, "via Slack" in figure.what  # the gateway's offboarding row first

    figures = sorted(run.figures, key=rank)
    return Report(
        size=size,
        machine=this_machine(),
        figures=tuple(figures),
        notes=tuple(run.notes),
        seconds=time.monotonic() - clock,
        load_before=load_before,
        load_after=load_average(),
        started=started,
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help=f"a short run ({QUICK.commands} commands, ...)"
    )
    parser.add_argument("--size", choices=sorted(SIZES), help="full (default), quick or tiny")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the Markdown report (default: docs/performance.md)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write docs/performance.md even from a tree with uncommitted changes",
    )
    parser.add_argument(
        "--only",
        choices=STEPS,
        action="append",
        help="run only this step (repeatable), e.g. --only reviews; needs --output",
    )
    return parser


def refusal(output: Path, allow_dirty: bool, *, partial: bool = False) -> str | None:
    """Why the report may not be written to ``output`` now, or None.

    docs/performance.md names the commit it measured: from a tree with uncommitted changes
    that name would be wrong, so it is refused unless asked for. A run of some steps only
    would replace the whole report with part of it, so it must be written elsewhere.
    """
    if output.resolve() != DEFAULT_OUTPUT.resolve():
        return None
    if partial:
        return f"a run of some steps only would replace all of {output}: write it with --output"
    if allow_dirty:
        return None
    if "uncommitted" in this_machine().revision:
        return (
            f"{output} records the commit it measured, and the tree has uncommitted changes: "
            "commit first, write elsewhere with --output, or pass --allow-dirty"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 when every check passed and every target was met, 1 otherwise (2:
    the report may not be written)."""
    args = build_parser().parse_args(argv)
    size = SIZES[args.size] if args.size else QUICK if args.quick else SIZES["full"]
    only = args.only or STEPS
    refused = refusal(args.output, args.allow_dirty, partial=set(only) != set(STEPS))
    if refused:
        print(f"bench: {refused}", file=sys.stderr)
        return 2
    report = asyncio.run(measure(size, only))
    print(text_table(report.rows()))
    for note in report.notes:
        print(f"- {note}")
    refused = refusal(args.output, args.allow_dirty)  # the tree may have changed meanwhile
    if refused:
        print(f"bench: {refused}", file=sys.stderr)
        return 2
    write_report(report, args.output, args.json)
    print(f"\nwritten to {args.output}", file=sys.stderr)
    broken = [f.what for f in report.figures if f.facts.get("problems")]
    missed = [f.what for f in report.figures if f.met is False] if size.judged else []
    for what in broken + missed:
        print(f"bench: missed: {what}", file=sys.stderr)
    return 1 if broken or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
