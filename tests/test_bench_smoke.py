"""The bench at its smallest size, end to end, so it cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "slash command ack",
    "modal open",
    "button ack",
    "grants end to end",
    "grants end to end, two replicas on PostgreSQL",
    "Salesforce calls per grant",
    "scheduler tick",
    "access review opens",
    "memory",
    "command capacity",
}


@pytest.mark.slow
def test_the_bench_runs_and_writes_its_report(tmp_path: Path) -> None:
    report, figures = tmp_path / "performance.md", tmp_path / "figures.json"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench", "--size", "tiny", "--output", report, "--json", figures],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(figures.read_text())
    by_name = {f["what"]: f for f in data["figures"]}
    assert set(by_name) >= EXPECTED, sorted(by_name)
    assert any(name.startswith("offboarding") for name in by_name)
    # Click to active at each rate the clicks arrived at, open-loop.
    assert any(name.startswith("click to active at") for name in by_name)
    # A burst to two owners: every request reachable in Slack, every requester told.
    burst = by_name["cohort of 6 requests"]["facts"]
    assert burst["problems"] == 0 and burst["owner_messages"] == 2
    # What the bench checks besides time: every grant provisioned exactly once, both ways.
    grants = by_name["grants end to end"]["facts"]
    assert grants["problems"] == 0 and grants["naive_problems"] == 0
    assert grants["provisioned"] == 6
    replicas = by_name["grants end to end, two replicas on PostgreSQL"]["facts"]
    assert replicas["problems"] == 0 and replicas["sqlite_problems"] == 0
    calls = by_name["Salesforce calls per grant"]["facts"]
    assert (calls["new"], calls["reactivation"]) == (1, 3)
    bulk = next(f for n, f in by_name.items() if n.startswith("offboarding") and "Slack" not in n)
    assert bulk["facts"]["inactive"] == 12 and bulk["facts"]["deactivation_calls"] == 1
    assert by_name["memory"]["facts"]["peak_rss_bytes"] > 0
    review = by_name["access review opens"]["facts"]
    assert (review["lines"], review["messages"], review["problems"]) == (30, 3, 0)
    transfer = by_name["record transfer"]
    assert transfer["met"] and transfer["facts"]["per_record_calls"] == 300
    text = report.read_text()
    assert "## Machine" in text and "| slash command ack |" in text
    assert "Load average" in text


def test_the_committed_report_is_refused_from_a_tree_with_uncommitted_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import __main__ as bench_main
    from bench.machine import Machine

    def machine(revision: str) -> Machine:
        return Machine(
            cpu="cpu", cores=2, memory_gb=1.0, system="Linux", python="3", revision=revision
        )

    monkeypatch.setattr(
        bench_main, "this_machine", lambda: machine("abc123 (with uncommitted changes)")
    )
    why = bench_main.refusal(bench_main.DEFAULT_OUTPUT, allow_dirty=False)
    assert why is not None and "--allow-dirty" in why
    assert bench_main.refusal(bench_main.DEFAULT_OUTPUT, allow_dirty=True) is None
    assert bench_main.refusal(Path("/tmp/elsewhere.md"), allow_dirty=False) is None
    assert bench_main.main(["--size", "tiny"]) == 2  # refused before anything runs
    monkeypatch.setattr(bench_main, "this_machine", lambda: machine("abc123"))
    assert bench_main.refusal(bench_main.DEFAULT_OUTPUT, allow_dirty=False) is None
