"""Composite subrequests and sObject Collections results as typed values."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from salesforce.error_mapping import (
    PROCESSING_HALTED,
    ApiErrorItem,
    error_from_body,
    error_from_items,
)
from salesforce.errors import SalesforceError

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5  # query and sObject Collections subrequests a composite may carry
MAX_COLLECTION = 200


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Subrequest(_Frozen):
    """One composite subrequest; ``path`` is below /services/data/vXX.X/."""

    method: str
    path: str
    reference_id: str
    body: dict[str, Any] | None = None

    def to_json(self, version: str) -> dict[str, Any]:
        """The wire form, with the full versioned URL."""
        out: dict[str, Any] = {
            "method": self.method,
            "url": f"/services/data/v{version}/{self.path}",
            "referenceId": self.reference_id,
        }
        if self.body is not None:
            out["body"] = self.body
        return out


def query_subrequest(reference_id: str, soql: str) -> Subrequest:
    """A composite GET of a SOQL query (already escaped with ``format_soql``)."""
    return Subrequest(
        method="GET", path="query?" + urlencode({"q": soql}), reference_id=reference_id
    )


class SubResponse(_Frozen):
    """One composite sub-response."""

    reference_id: str = Field(alias="referenceId")
    status: int = Field(alias="httpStatusCode")
    body: Any = None

    @property
    def ok(self) -> bool:
        """2xx."""
        return self.status < 300

    @property
    def halted(self) -> bool:
        """Only rolled back or skipped because another subrequest failed."""
        if self.ok or not isinstance(self.body, list) or not self.body:
            return False
        return all(
            isinstance(e, dict) and e.get("errorCode") == PROCESSING_HALTED for e in self.body
        )

    def error(self) -> SalesforceError:
        """The typed error this sub-response carries."""
        return error_from_body(self.status, self.body)

    def records(self) -> list[dict[str, Any]]:
        """The records of a query sub-response; raises its error when it failed."""
        if not self.ok:
            raise self.error()
        records = self.body.get("records", []) if isinstance(self.body, dict) else []
        return [r for r in records if isinstance(r, dict)]


class CompositeResult(_Frozen):
    """Every sub-response of one composite call, in request order."""

    responses: tuple[SubResponse, ...]

    def get(self, reference_id: str) -> SubResponse:
        """The sub-response with this reference id."""
        return next(r for r in self.responses if r.reference_id == reference_id)

    def failure(self) -> SubResponse | None:
        """The sub-response that really failed (PROCESSING_HALTED ones only follow it)."""
        return next((r for r in self.responses if not r.ok and not r.halted), None)

    def raise_for_failure(self) -> None:
        """Raise the typed error of the failing subrequest, if any."""
        failed = self.failure()
        if failed is not None:
            raise failed.error()


class RecordResult(_Frozen):
    """One record's outcome in an sObject Collections call."""

    id: str | None = None
    success: bool
    errors: tuple[ApiErrorItem, ...] = ()

    @property
    def rolled_back(self) -> bool:
        """Failed only because another record of an all-or-none call failed."""
        return bool(self.errors) and all(
            e.code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" for e in self.errors
        )

    def error(self) -> SalesforceError:
        """The typed error of a failed record."""
        return error_from_items(400, self.errors)


def chunks(items: list[Any], size: int = MAX_COLLECTION) -> list[list[Any]]:
    """``items`` in slices of at most ``size`` (collections take 200 records a call)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
