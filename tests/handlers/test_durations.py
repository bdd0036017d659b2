"""ISO 8601 grant durations: read, written back and said in words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.durations import duration_label, iso_duration, parse_iso_duration


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("PT1H", timedelta(hours=1), "1 hour"),
        ("PT4H", timedelta(hours=4), "4 hours"),
        ("P1D", timedelta(days=1), "1 day"),
        ("P30D", timedelta(days=30), "30 days"),
        ("P1DT12H", timedelta(days=1, hours=12), "1 day 12 hours"),
        ("PT1H30M", timedelta(minutes=90), "1 hour 30 minutes"),
        ("P2W", timedelta(weeks=2), "14 days"),
    ],
)
def test_durations_read_write_and_read_aloud(text: str, value: timedelta, label: str) -> None:
    assert parse_iso_duration(text) == value
    assert parse_iso_duration(iso_duration(value)) == value
    assert duration_label(value) == label


@pytest.mark.parametrize("text", ["P1X", "P", "PT", "P1M", "P1Y", "1H", "01:00:00", "P1DT", ""])
def test_what_is_not_a_fixed_iso_duration_is_refused(text: str) -> None:
    assert parse_iso_duration(text) is None


def test_permanent_reads_permanent() -> None:
    assert duration_label(None) == "Permanent"
    assert iso_duration(timedelta(0)) == "PT0S"
