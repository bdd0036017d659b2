"""Typed Salesforce failures: each carries a sentence a person understands and the raw message."""

from __future__ import annotations

from typing import ClassVar


class SalesforceError(Exception):
    """Base of every expected failure from the Salesforce layer."""

    retryable: ClassVar[bool] = False
    needs_admin: ClassVar[bool] = True
    summary: ClassVar[str] = "Salesforce refused the change"
    fix: ClassVar[str] = "Check the request in Salesforce Setup and retry."

    def __init__(
        self,
        raw_message: str = "",
        *,
        error_code: str = "",
        fields: tuple[str, ...] = (),
        detail: str = "",
    ) -> None:
        self.raw_message = raw_message
        self.error_code = error_code
        self.fields = fields
        self.detail = detail
        super().__init__(self.human)

    @property
    def human(self) -> str:
        """One sentence for the person who has to act."""
        return f"{self.summary}: {self.detail}" if self.detail else f"{self.summary}."


class DuplicateUsername(SalesforceError):
    """The username is taken in another Salesforce org (usernames are global)."""

    summary = "The username is already taken in another Salesforce org"
    fix = "Pick another username (for example add a suffix) and retry."


class LicenseLimitExceeded(SalesforceError):
    """No free seat of the profile's license."""

    summary = "No free seat is left on this User License"
    fix = "Free a seat (deactivate someone) or buy more licenses, then retry."


class ProfileLicenseMismatch(SalesforceError):
    """The profile belongs to another license than the user's."""

    summary = "The profile is not compatible with the user's license"
    fix = "Choose a profile of the user's license, then retry."


class InsufficientAccess(SalesforceError):
    """The integration user lacks a permission."""

    summary = "The integration user lacks a Salesforce permission"
    fix = "Give the integration user the permission named in the message, then retry."


class ValidationRule(SalesforceError):
    """A validation rule or required field rejected the record."""

    summary = "A Salesforce validation rule rejected the user"
    fix = "Add the field the rule needs (policy extra_user_fields) or relax the rule, then retry."


class SessionExpired(SalesforceError):
    """The access token expired and cannot be renewed from the configured credentials."""

    summary = "Salesforce session expired"
    fix = "Give the bot renewable credentials (JWT or client credentials) or a fresh token."


class ApiBudgetExhausted(SalesforceError):
    """The org's rolling 24 h API allocation is used up."""

    retryable = True
    needs_admin = False
    summary = "The org's daily API limit is used up"
    fix = "Wait for the rolling 24-hour window to free requests, or raise the allocation."


class Transient(SalesforceError):
    """A 5xx, a timeout or a dropped connection: worth trying again."""

    retryable = True
    needs_admin = False
    summary = "Salesforce could not be reached"
    fix = "Nothing to do: the bot retries by itself."


class UnknownSalesforceError(SalesforceError):
    """Any other refusal; the raw message says what it was."""

    summary = "Salesforce refused the change"


class AuthenticationFailed(SalesforceError):
    """Salesforce refused the configured credentials (bad key, secret, user or grant)."""

    summary = "Salesforce refused the bot's credentials"
    fix = "Check the connected app, the integration user and the configured credentials."


class RecordNotFound(SalesforceError):
    """The record (usually a user Id) does not exist in this org."""

    summary = "The Salesforce record does not exist"
    fix = "Check that the request points at this org and at an existing user."
