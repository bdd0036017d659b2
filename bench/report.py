"""The results table, printed and written to docs/performance.md with the machine it ran on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import Machine
from bench.sizes import Size
from bench.stats import Figure

COLUMNS = ("what", "measure", "ours", "naive baseline", "ratio", "target", "met")

METHOD = """\
## How it is measured

- **One command, one run.** `python -m bench` starts the simulated Slack workspace (in the bench
  process, beside the simulated people who read it) and the simulated Salesforce org (in a
  process of its own, answering every request after a fixed {delay_ms:.0f} ms), then two bots,
  each a child process serving HTTP on loopback: `accessbot serve` itself, and a naive bot.
  Every figure is measured in the same run as its baseline, so the ratio holds when the machine
  is noisy; the load average above says how busy it was. The slash commands run on one such
  set-up; the grants and offboarding run on a fresh set-up for each bot (a fresh org each,
  so neither meets the other's users).
- **The naive baseline** (`bench/naive_bot.py`, `bench/naive_gateway.py`) is the same bot with
  the shortcuts a first version would take: the slash command reads the catalog from Salesforce
  and opens the full form before acknowledging; Approve decides, notifies and provisions before
  acknowledging; provisioning is a lookup plus one REST call per record (simple-salesforce's
  `SFType`); deactivation is one PATCH per user. Its Salesforce calls run on a thread pool as
  wide as the real gateway's, so the comparison is about round trips, not concurrency. The
  scheduler's baseline is the same queries on a copy of the database without its indexes.
- **Slack's rate limits apply** while the Approve clicks arrive and afterwards (the approval
  messages' updates, the DMs, the offboarding). They are off while the slash-command rows
  run (a hundred commands a second in one workspace is past `views.open`'s own tier, so those
  rows would measure Slack, not the bot) and while the grant run builds its backlog of
  submitted requests (a day's worth, asked for in a minute). The simulated Slack answers as
  Slack does past its limits:
  HTTP 429 with `Retry-After`, per method per workspace by tier (tier 2 about 20 calls a minute,
  tier 3 about 50, tier 4 about 100; each a token bucket holding a minute's calls) and per
  conversation for `chat.postMessage` (three at once, then one a second). Both bots meet the
  same limits: a figure that needs more Slack calls than Slack allows in its time is bounded by
  Slack, not by the bot (for instance, one owner asked about a thousand requests in DMs gets
  them over about a thousand seconds).
- **Load.** {users} simulated people send signed requests, as Slack would: each waits for the
  answer, then thinks {think} s on average (uniformly between half and one and a half times
  that) before the next, the way load-testing tools model users; they arrive spread over the
  first think time. Each bot first answers one command per person, unmeasured (its first
  catalog read, connections). The capacity row drops the think time to find how many commands
  per second one process answers. The bench pauses its own garbage collector while it
  measures, so its pauses are not counted against the bot.
- **Latency** is measured by the sender, from just before the request goes out to the complete
  answer; *modal open* is from sending the command until the full form is in the modal at the
  simulated Slack: the `views.update` that replaces the loading view (ours), the `views.open`
  that opens the form (naive).
- **Grants end to end**: every request is submitted through the real modal; then an owner's
  Approve clicks arrive open-loop, at a fixed rate whatever the bot answers (25, 50, 100, 150,
  200 a second in turn, each for a few seconds, until a rate's p99 passes 1 s). *Click to
  active* is from sending a click until its request is active in the database; grants/s is
  requests provisioned per second from the first click of the rate to its last request
  becoming active; *capacity* is the highest rate whose p99 stayed under 1 s. Afterwards the
  database, the audit log, the org and the requesters' DMs are checked: each request
  provisioned exactly once, each user created once with the permission set once, each
  requester told once.
- **Salesforce calls** are counted by the simulated org (a composite request counts once; a
  deactivating call is a PATCH of User records, one user or a collection of 200). Calls per
  grant are counted one grant at a time through the gateway; the end-to-end run's average is in
  the notes. Offboarding is measured twice: the gateway deactivating every user in one call, and
  the product path, where each member deactivated in Slack sends its own `user_change` event.
- **Memory** is the peak resident set (VmHWM from `/proc`) of the `accessbot serve` process
  once the grant run is over.
"""


@dataclass(frozen=True)
class Report:
    """Everything one run found."""

    size: Size
    machine: Machine
    figures: tuple[Figure, ...]
    notes: tuple[str, ...]
    seconds: float
    load_before: float
    load_after: float
    started: datetime

    def rows(self) -> list[tuple[str, ...]]:
        """The table's cells."""
        return [
            (f.what, f.measure, f.result, f.baseline, f.ratio, f.target, f.verdict)
            for f in self.figures
        ]


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """A plain table for the terminal."""
    table = [COLUMNS, *rows]
    widths = [max(len(row[i].replace("**", "")) for row in table) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(table):
        cells = [cell.replace("**", "").ljust(w) for cell, w in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """The same table in Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """docs/performance.md."""
    size = report.size
    parts = [
        "# Performance",
        "",
        "Written by `python -m bench` (see the README); re-run it rather than editing this file.",
        "",
        f"Run of {report.started:%Y-%m-%d %H:%M} UTC, size **{size.name}** "
        f"({size.commands} commands, up to {size.clicks} grants at "
        f"{', '.join(f'{r:g}' for r in size.rates)} clicks/s, {size.offboard} users offboarded, "
        f"{size.stored:,} stored requests), {report.seconds:.0f} s in all.",
        "",
        "## Machine",
        "",
        *(f"- {line}" for line in report.machine.lines()),
        f"- Load average (1 min): {report.load_before:.2f} before the run, "
        f"{report.load_after:.2f} after (other work on the machine counts here)",
        "",
        "## Results",
        "",
        markdown_table(report.rows()),
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in report.notes),
        "",
        METHOD.format(delay_ms=size.delay * 1000, users=size.concurrency, think=f"{size.think:g}"),
    ]
    return "\n".join(parts)


def write_report(report: Report, markdown: Path | None, json_path: Path | None) -> None:
    """Write the Markdown (and, for tools and tests, the figures as JSON)."""
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render_markdown(report), encoding="utf-8")
    if json_path is not None:
        data = {
            "size": report.size.name,
            "figures": [asdict(f) for f in report.figures],
            "notes": list(report.notes),
            "seconds": report.seconds,
        }
        json_path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def now_utc() -> datetime:
    """The run's start time."""
    return datetime.now(UTC)
