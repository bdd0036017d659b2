"""The one CSV writer of the bot: a cell a spreadsheet would run as a formula is made text.

OWASP's CSV injection rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with a single quote, so Excel, Sheets and LibreOffice show it
instead of evaluating it (a Slack real name such as ``=HYPERLINK(...)``, say).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value``, with a single quote in front when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row, each text cell neutralised."""
        self._writer.writerow([safe_cell(value) for value in row])
