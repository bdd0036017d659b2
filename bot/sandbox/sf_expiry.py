"""Assignments that expire: the org's "Permission Set & Permission Set Group Assignments with
Expiration Dates" setting, the ExpirationDate field it adds, and the removal at that time.

Off by default, as in a new org: PermissionSetAssignment then has no ExpirationDate, so a query
or a write naming it is refused (INVALID_FIELD). On: the field is listed by describe, an
assignment may carry a date-time in the future, and once the org's clock passes it the
assignment is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sandbox.sf_errors import SfApiError
from bot.sandbox.sf_store import Store

ASSIGNMENT = "PermissionSetAssignment"
EXPIRATION_DATE = "ExpirationDate"
PAST_DATE_MESSAGE = "The expiration date must be in the future."


def turn_on(store: Store) -> None:
    """Turn the setting on: every assignment gains an (empty) ExpirationDate."""
    store.schema[ASSIGNMENT].extra_fields.add(EXPIRATION_DATE)
    for row in store.rows(ASSIGNMENT):
        row.setdefault(EXPIRATION_DATE, None)


def turn_off(store: Store) -> None:
    """Turn the setting off again: the field and the dates it held are gone."""
    store.schema[ASSIGNMENT].extra_fields.discard(EXPIRATION_DATE)
    for row in store.rows(ASSIGNMENT):
        row.pop(EXPIRATION_DATE, None)


def supported(store: Store) -> bool:
    """Whether the setting is on."""
    return EXPIRATION_DATE in store.schema[ASSIGNMENT].extra_fields


def parse_datetime(value: object) -> datetime:
    """A Salesforce dateTime (``2026-12-03T10:00:00.000+0000`` or ISO 8601 with ``Z``)."""
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SfApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of datetime from VALUE_STRING value {value}",
            None,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """How the org answers a dateTime in a query."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def checked(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``values`` with ExpirationDate in the org's form; a date not in the future is refused."""
    if values.get(EXPIRATION_DATE) is None:
        return values
    when = parse_datetime(values[EXPIRATION_DATE])
    if when <= now:
        raise SfApiError(400, "FIELD_INTEGRITY_EXCEPTION", PAST_DATE_MESSAGE, (EXPIRATION_DATE,))
    return {**values, EXPIRATION_DATE: format_datetime(when)}


def remove_expired(store: Store, now: datetime) -> int:
    """Delete every assignment whose ExpirationDate has passed; how many went."""
    if not supported(store):
        return 0
    gone = [
        row["Id"]
        for row in store.rows(ASSIGNMENT)
        if row.get(EXPIRATION_DATE) and parse_datetime(row[EXPIRATION_DATE]) <= now
    ]
    for record_id in gone:
        store.delete(ASSIGNMENT, record_id)
    return len(gone)
