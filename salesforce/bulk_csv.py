"""The CSV of Bulk API 2.0 jobs: the one place the bot writes and reads it.

An ownership move uploads nothing but record Ids (``Id,OwnerId``), so the upload checks that each
value is a Salesforce Id: nothing a spreadsheet would take for a formula can reach the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def id_rows(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An upload of Salesforce Ids under ``header``; ValueError for any value that is not one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        for value in row:
            if not _SALESFORCE_ID.fullmatch(value):
                raise ValueError(f"not a Salesforce Id: {value!r}")
        writer.writerow(row)
    return out.getvalue()


def read_rows(text: str) -> list[dict[str, str]]:
    """The rows of a job's results (successfulResults, failedResults, query pages)."""
    return list(csv.DictReader(io.StringIO(text)))
