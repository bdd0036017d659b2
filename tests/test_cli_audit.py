"""``accessbot audit verify|export`` through the real entry point, on a real run's database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.stage import BOB, JANE, MALLORY, OLIVIA, OMAR, start_stage
from handlers.ids import ActionId
from storage.audit import GENESIS, entry_hash, row_hash
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


def _published_head(capsys: pytest.CaptureFixture[str]) -> str:
    """The head as an export publishes it (on standard error)."""
    assert main(["audit", "export", "--format", "jsonl"]) == 0
    err = capsys.readouterr().err
    return err.split("audit log head: ", 1)[1].split()[0]


def test_export_publishes_the_head_and_each_rows_position(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    assert main(["audit", "export", "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [row["chain_rows"] for row in lines] == list(range(1, _rows(path) + 1))
    last = lines[-1]
    assert f"audit log head: {last['chain_rows']}:{last['hash']}" in err
    assert main(["audit", "verify", "--head", f"{last['chain_rows']}:{last['hash']}"]) == 0
    assert "matches: nothing before it changed" in capsys.readouterr().out


def test_removing_the_newest_rows_is_caught_by_a_published_head(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    head = _published_head(capsys)
    with sqlite3.connect(path) as db:
        # the guard dropped, the last two rows (Olivia's denial and what led to it) removed
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 2 FROM audit_log)")
    assert main(["audit", "verify"]) == 0  # what is left is a whole chain on its own
    capsys.readouterr()
    assert main(["audit", "verify", "--head", head]) == 1
    rows = int(head.split(":")[0])
    assert (
        f"TAMPERED: only {rows - 2} rows, the head {head} names {rows}: rows were removed"
        in capsys.readouterr().out
    )


def test_a_row_rewritten_before_the_head_is_caught_even_when_rows_are_added(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    head = _published_head(capsys)
    rows = int(head.split(":")[0])
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE seq = ?", (rows,))
    _append_forged(path, actor="U0MALLORY", action="approved", count=3)
    capsys.readouterr()
    assert main(["audit", "verify", "--head", head]) == 1
    assert f"TAMPERED: head {head} no longer matches" in capsys.readouterr().out


def _rehash_from(db: sqlite3.Connection, seq: int, *, keep_mac: bool = True) -> None:
    """What someone with the file but not the key can do: recompute every plain hash."""
    prev = db.execute(
        "SELECT hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1", (seq,)
    ).fetchone()
    previous = prev[0] if prev else GENESIS
    for row in db.execute("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq", (seq,)).fetchall():
        digest = row_hash(previous, row)
        db.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ?, mac = CASE WHEN ? THEN mac END "
            "WHERE seq = ?",
            (previous, digest, keep_mac, row["seq"]),
        )
        previous = digest


def _append_forged(path: Path, *, actor: str, action: str, count: int) -> None:
    with sqlite3.connect(path) as db:
        for _ in range(count):
            prev = db.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0]
            at = "2026-12-01T00:00:00.000000+00:00"
            digest = entry_hash(
                prev,
                at=at,
                request_id=None,
                actor=actor,
                action=action,
                from_state=None,
                to_state=None,
                detail="{}",
            )
            db.execute(
                "INSERT INTO audit_log (at, actor, action, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, '{}', ?, ?)",
                (at, actor, action, prev, digest),
            )


@pytest.mark.parametrize("keep_mac", [True, False])
def test_a_chain_rewritten_with_recomputed_hashes_is_caught_by_the_hmac(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str], keep_mac: bool
) -> None:
    path, _ = database
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        db.execute("DROP TRIGGER audit_log_no_update")
        seq = db.execute("SELECT seq FROM audit_log WHERE action = 'approved'").fetchone()[0]
        db.execute("UPDATE audit_log SET actor = 'U0MALLORY' WHERE seq = ?", (seq,))
        _rehash_from(db, seq, keep_mac=keep_mac)
    assert main(["audit", "verify"]) == 1
    problem = "HMAC does not match (rewritten)" if keep_mac else "HMAC missing"
    assert f"TAMPERED: {problem} at row {seq}" in capsys.readouterr().out


def test_rows_added_without_the_key_are_caught(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    _append_forged(path, actor="U0MALLORY", action="approved", count=1)
    assert main(["audit", "verify"]) == 1
    assert f"TAMPERED: HMAC missing at row {_rows(path)}" in capsys.readouterr().out


def test_removing_the_key_record_does_not_hide_a_rewrite(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_keys_no_delete")
        db.execute("DELETE FROM audit_keys")
        _rehash_from(db, 1, keep_mac=False)
    assert main(["audit", "verify"]) == 1
    assert "an audit key is given but the log records none" in capsys.readouterr().out


def test_a_wrong_key_is_named_as_such(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSBOT_AUDIT_KEY", "f" * 64)
    assert main(["audit", "verify"]) == 1
    assert "TAMPERED: wrong audit key: the log is signed with key" in capsys.readouterr().out


def test_without_the_key_the_hmacs_are_not_vouched_for(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, _ = database
    (path.parent / "audit.key").rename(tmp_path / "elsewhere.key")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"intact: {_rows(path)} rows" in out
    assert "HMAC NOT CHECKED for rows from 1 on: no audit key" in out


def test_the_key_file_is_made_for_its_owner_only(database: tuple[Path, str]) -> None:
    path, _ = database
    key_file = path.parent / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text(encoding="utf-8").strip()) == 64


def test_a_key_file_others_can_read_is_refused(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = database
    (path.parent / "audit.key").chmod(0o644)
    assert main(["audit", "verify"]) == 2
    assert "is open to other users (mode 644): chmod 600" in capsys.readouterr().err


def test_a_malformed_head_is_explained(
    database: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--head", "12"]) == 2
    assert "a head looks like COUNT:HASH" in capsys.readouterr().err
