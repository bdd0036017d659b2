"""The transfer bench at a small size, so it cannot rot (no timing is asserted)."""

from __future__ import annotations

import pytest

from bench.transfer import CALL_TARGET, main


@pytest.mark.slow
def test_the_transfer_bench_moves_the_records_each_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--records", "1200", "--naive-records", "30"]) == 0
    table = capsys.readouterr().out
    assert "| bot: Bulk API 2.0 (query job + ingest job) | 1,200 |" in table
    assert (
        "| naive: one PATCH per record (measured on 30 records, scaled) | 1,200 | 1,200 |" in table
    )
    bot_calls = int(table.splitlines()[2].split("|")[3].replace(",", ""))
    assert bot_calls <= CALL_TARGET
