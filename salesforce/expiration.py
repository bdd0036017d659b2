"""Assignments Salesforce ends by itself: PermissionSetAssignment.ExpirationDate.

The field exists only when the org enables "Permission Set & Permission Set Group Assignments
with Expiration Dates" (Setup > User Management Settings); the describe of
PermissionSetAssignment says so. Its type is dateTime, and Salesforce takes only a time still
in the future.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from salesforce.composite import Subrequest

EXPIRATION_DATE = "ExpirationDate"
DESCRIBE = Subrequest(
    method="GET",
    path="sobjects/PermissionSetAssignment/describe",
    reference_id="assignmentDescribe",
)
HOW_TO_TURN_ON = (
    'Setup > User Management Settings > "Permission Set & Permission Set Group Assignments '
    'with Expiration Dates"'
)


def supports_expiry(describe: Any) -> bool:
    """Whether a PermissionSetAssignment describe lists ExpirationDate as writable."""
    fields = describe.get("fields") if isinstance(describe, dict) else None
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict) and field.get("name") == EXPIRATION_DATE:
            return bool(field.get("createable")) and bool(field.get("updateable"))
    return False


def to_salesforce(moment: datetime) -> str:
    """A dateTime as Salesforce writes it (UTC, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def from_salesforce(value: str | None) -> datetime | None:
    """A dateTime as Salesforce answers it (``2026-12-03T10:00:00.000+0000``)."""
    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text)


def same_moment(a: datetime | None, b: datetime | None) -> bool:
    """Equal to the second (Salesforce keeps no finer time than milliseconds, the bot sends
    whole seconds)."""
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 1
