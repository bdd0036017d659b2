"""Map simple-salesforce exceptions and Salesforce error bodies to ``salesforce.errors``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.exceptions import SalesforceError as LibraryError

from salesforce.errors import (
    ApiBudgetExhausted,
    AuthenticationFailed,
    DuplicateUsername,
    InsufficientAccess,
    LicenseLimitExceeded,
    ProfileLicenseMismatch,
    RecordNotFound,
    SalesforceError,
    SessionExpired,
    Transient,
    UnknownSalesforceError,
    ValidationRule,
)

PROCESSING_HALTED = "PROCESSING_HALTED"
_WITH_DETAIL = (ValidationRule, InsufficientAccess, UnknownSalesforceError, AuthenticationFailed)
# Salesforce breaks lines in its messages with HTML (<br>, <br/>, <BR>); a sentence has spaces.
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


class ApiErrorItem(BaseModel):
    """One entry of a REST error list; collections spell the code ``statusCode``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    message: str = ""
    code: str = Field("", validation_alias=AliasChoices("errorCode", "statusCode"))
    fields: tuple[str, ...] = ()


def parse_errors(content: Any) -> list[ApiErrorItem]:
    """The error list in a response body (JSON text, bytes, a list, or an OAuth error object)."""
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except ValueError:
            text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
            return [ApiErrorItem(message=text.strip())]
    if isinstance(content, dict):
        if "error" in content:
            return [
                ApiErrorItem(
                    message=str(content.get("error_description") or ""), code=str(content["error"])
                )
            ]
        content = [content]
    items: list[ApiErrorItem] = []
    for entry in content if isinstance(content, list) else []:
        try:
            items.append(ApiErrorItem.model_validate(entry))
        except ValidationError:
            items.append(ApiErrorItem(message=str(entry)))
    return items


def _classify(status: int, item: ApiErrorItem) -> type[SalesforceError]:
    code = item.code
    exact: dict[str, type[SalesforceError]] = {
        "REQUEST_LIMIT_EXCEEDED": ApiBudgetExhausted,
        "INVALID_SESSION_ID": SessionExpired,
        "DUPLICATE_USERNAME": DuplicateUsername,
        "LICENSE_LIMIT_EXCEEDED": LicenseLimitExceeded,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION": ValidationRule,
        "REQUIRED_FIELD_MISSING": ValidationRule,
        "NOT_FOUND": RecordNotFound,
        "ENTITY_IS_DELETED": RecordNotFound,
    }
    if code in exact:
        return exact[code]
    if code == "FIELD_INTEGRITY_EXCEPTION" and (
        "compatible with the user's license" in item.message or "ProfileId" in item.fields
    ):
        return ProfileLicenseMismatch
    if code.startswith("INSUFFICIENT_ACCESS") or status == 403:
        return InsufficientAccess
    if status == 401:
        return SessionExpired
    if status == 404:
        return RecordNotFound
    if status >= 500:
        return Transient
    return UnknownSalesforceError


def error_from_items(status: int, items: Sequence[ApiErrorItem]) -> SalesforceError:
    """The typed error for an HTTP status and its error list (the first entry decides)."""
    useful = [i for i in items if i.code != PROCESSING_HALTED] or list(items)
    first = useful[0] if useful else ApiErrorItem(message=f"HTTP {status}")
    cls = _classify(status, first)
    raw = " | ".join(i.message for i in useful if i.message) or first.message
    detail = _LINE_BREAK_TAG.sub(" ", first.message) if issubclass(cls, _WITH_DETAIL) else ""
    return cls(raw, error_code=first.code, fields=first.fields, detail=detail)


def error_from_body(status: int, body: Any) -> SalesforceError:
    """The typed error for a raw error body (a composite sub-response's, for instance)."""
    return error_from_items(status, parse_errors(body))


def from_exception(exc: BaseException) -> SalesforceError:
    """Map anything simple-salesforce or requests raised; unknown failures keep their text."""
    if isinstance(exc, SalesforceError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthenticationFailed(
            exc.auth_message, error_code=str(exc.code or ""), detail=exc.auth_message
        )
    if isinstance(exc, LibraryError):
        return error_from_body(exc.status, exc.content)
    if isinstance(exc, requests.exceptions.SSLError):
        return UnknownSalesforceError(
            str(exc), error_code="TLS", detail="the server certificate could not be verified"
        )
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return Transient(f"{type(exc).__name__}: {exc}", error_code="NETWORK")
    if isinstance(exc, requests.RequestException):
        return Transient(f"{type(exc).__name__}: {exc}", error_code="NETWORK")
    return UnknownSalesforceError(f"{type(exc).__name__}: {exc}", detail=str(exc))
