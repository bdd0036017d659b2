"""``accessbot audit verify|export`` through the real entry point, on a real run's database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.stage import BOB, JANE, MALLORY, OLIVIA, OMAR, start_stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, in_state
from tests.e2e.steps import approval_message, submit_request


async def _a_week_of_work(directory: Path) -> tuple[Path, str]:
    """Jane's access granted; ten days later Bob's denied after Mallory tried to approve it."""
    clock = ShiftedClock()
    stage = await start_stage(directory, clock=clock)
    try:
        jane = await submit_request(stage, JANE.id)
        ask = await approval_message(stage, OMAR.id, jane.id)
        await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
        await in_state(stage, jane.id, State.ACTIVE)
        await stage.settle()
        clock.advance(timedelta(days=10))
        between = (clock() - timedelta(days=5)).date().isoformat()
        bob = await submit_request(stage, BOB.id)
        ask = await approval_message(stage, OLIVIA.id, bob.id)
        await stage.workspace.click(MALLORY.id, ask, ActionId.APPROVE)
        await stage.workspace.click(OLIVIA.id, ask, ActionId.DENY)
        modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OLIVIA.id))
        await stage.workspace.submit(OLIVIA.id, modal["id"], {ActionId.DENY_REASON: "No budget"})
        await in_state(stage, bob.id, State.DENIED)
        await stage.settle()
    finally:
        await stage.close()
    return directory / "accessbot.sqlite3", between


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    path, between = asyncio.run(_a_week_of_work(tmp_path / "run"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCESSBOT_DATABASE", str(path))
    return path, between


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def test_verify_passes_on_an_untouched_log(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    assert main(["audit", "verify"]) == 0
    assert f"intact: {_rows(path)} rows" in capsys.readouterr().out


def test_verify_finds_an_altered_row(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    with sqlite3.connect(path) as db:
        # someone with the file at hand removes the guard and rewrites who approved
        db.execute("DROP TRIGGER audit_log_no_update")
        seq = db.execute("SELECT seq FROM audit_log WHERE action = 'approved'").fetchone()[0]
        db.execute("UPDATE audit_log SET actor = 'U0MALLORY' WHERE seq = ?", (seq,))
    assert main(["audit", "verify"]) == 1
    assert f"TAMPERED: row altered at row {seq}" in capsys.readouterr().out


def test_verify_finds_a_removed_row(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER audit_log_no_delete")
        seq = db.execute("SELECT seq FROM audit_log WHERE action = 'decision_refused'").fetchone()[
            0
        ]
        db.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))
    assert main(["audit", "verify"]) == 1
    assert f"TAMPERED: chain broken at row {seq + 1}" in capsys.readouterr().out


def test_export_csv_says_who_did_what_when_to_whom_with_what_result(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    assert main(["audit", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == _rows(path)
    assert {"at", "actor", "action", "subject", "result"} <= set(rows[0])
    by_action = {(r["actor"], r["action"]): r for r in rows}
    approved = by_action[(OMAR.id, "approved")]
    assert (approved["subject"], approved["subject_name"], approved["result"]) == (
        JANE.id,
        "Jane Doe",
        "approved",
    )
    assert by_action[("bot", "provisioned")]["result"] == "active"
    refused = by_action[(MALLORY.id, "decision_refused")]
    assert (refused["subject"], refused["result"]) == (BOB.id, "refused: not_owner")
    denied = by_action[(OLIVIA.id, "denied")]
    assert denied["result"] == "denied" and json.loads(denied["detail"]) == {"note": "No budget"}
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)


def test_export_jsonl_since_a_date_to_a_file(
    database: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, between = database
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--format", "jsonl", "--since", between, "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # only the second day's work: Bob's request, Mallory's refused click, Olivia's denial
    assert {row["subject"] for row in lines} == {BOB.id}
    assert [row["action"] for row in lines] == ["submitted", "decision_refused", "denied"]
    assert all(row["at"] >= between for row in lines)
    assert capsys.readouterr().out == ""
