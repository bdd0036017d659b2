"""`accessbot demo --verbose` shows the bot's log as `serve` writes it: one line per event."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>[\w.]+): ")


def test_the_demo_log_has_one_line_per_event_and_no_chatter() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--verbose"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = done.stderr.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    loggers = [m["logger"] for m in parsed if m]
    # a new database: its start-up lines (migrated, and so on) come first, then the events
    assert loggers == sorted(loggers, key=lambda name: name != "storage.db")
    events = [line.split(": ", 1)[1].split(" ", 1)[1] for line in lines if "request_log" in line]
    assert events == [
        "sales: request submitted (by U0JANE)",
        "sales: request approved (by U0OMAR)",
        "sales: access provisioned (by bot)",
        "sales: request submitted (by U0BOB)",
        "sales: request denied (by U0OLIVIA)",
        # high risk: Omar's approval is counted (its own line), Olivia's is the decision
        "sales: request submitted (by U0BOB)",
        "sales: approval counted at stage owners, 1 of 2 (by U0OMAR)",
        "sales: request approved (by U0OLIVIA)",
        "sales: access provisioned (by bot)",
    ]
    assert set(loggers) == {"storage.db", "handlers.request_log"}, lines
