"""The simulated org's refusals, rendered as Salesforce's real REST error bodies."""

from __future__ import annotations

from typing import Any

PROCESSING_HALTED = "PROCESSING_HALTED"
ROLLED_BACK_MESSAGE = (
    "The transaction was rolled back since another operation in the same transaction failed."
)


class SfApiError(Exception):
    """One REST error: HTTP status plus the ``errorCode``/``message``/``fields`` triple."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: tuple[str, ...] | None = (),
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The REST error list (query errors carry no ``fields`` key, as in a real org)."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = list(self.fields)
        return [item]

    def collection_error(self) -> dict[str, Any]:
        """The error as sObject Collections spell it (``statusCode``, not ``errorCode``)."""
        return {
            "statusCode": self.error_code,
            "message": self.message,
            "fields": list(self.fields or ()),
        }


def not_found() -> SfApiError:
    """The 404 a real org answers for an unknown record or resource."""
    return SfApiError(404, "NOT_FOUND", "The requested resource does not exist", None)


def method_not_allowed(method: str, allowed: str) -> SfApiError:
    """The 405 for a call an object does not support (users are never deleted)."""
    return SfApiError(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
        None,
    )


def invalid_field(field: str, sobject: str) -> SfApiError:
    """An unknown field in a record body."""
    return SfApiError(
        400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {sobject}"
    )


def query_error(error_code: str, query: str, position: int, detail: str) -> SfApiError:
    """A SOQL error with the caret and row/column a real org prints."""
    before = query[:position]
    row = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1)
    lines = query.splitlines() or [""]
    line = lines[min(row, len(lines)) - 1]
    message = f"\n{line}\n{' ' * column}^\nERROR at Row:{row}:Column:{column + 1}\n{detail}"
    return SfApiError(400, error_code, message, None)


def malformed_query(query: str, position: int, detail: str) -> SfApiError:
    """The MALFORMED_QUERY error for SOQL outside the supported grammar."""
    return query_error("MALFORMED_QUERY", query, position, detail)
