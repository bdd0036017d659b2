"""Why a person has to step in, as the escalation and the requester's notice describe it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from salesforce.errors import (
    DuplicateUsername,
    InsufficientAccess,
    LicenseLimitExceeded,
    ProfileLicenseMismatch,
    SalesforceError,
    SessionExpired,
    ValidationRule,
)
from salesforce.holdings import Holdings
from salesforce.models import Blocker, DeactivationBlocked
from storage.transfers import Transfer


class EscalationKind(StrEnum):
    """What the application admin is asked to fix."""

    INCOMPLETE = "incomplete"
    NO_FREE_SEAT = "no_free_seat"
    USERNAME_TAKEN = "username_taken"
    PROFILE_LICENSE_MISMATCH = "profile_license_mismatch"
    INSUFFICIENT_ACCESS = "insufficient_access"
    VALIDATION_RULE = "validation_rule"
    SESSION_EXPIRED = "session_expired"
    REPEATED_FAILURE = "repeated_failure"
    BLOCKED_DEACTIVATION = "blocked_deactivation"
    EXISTING_USER = "existing_user"
    OTHER = "other"

    @classmethod
    def parse(cls, problem: str | None) -> EscalationKind:
        """A kind from a stored reason such as ``incomplete: missing Profile``; OTHER if unknown."""
        head = (problem or "").split(":", 1)[0].strip().lower()
        return next((kind for kind in cls if kind.value == head), cls.OTHER)


_ERROR_KINDS: tuple[tuple[type[SalesforceError], EscalationKind], ...] = (
    (DuplicateUsername, EscalationKind.USERNAME_TAKEN),
    (LicenseLimitExceeded, EscalationKind.NO_FREE_SEAT),
    (ProfileLicenseMismatch, EscalationKind.PROFILE_LICENSE_MISMATCH),
    (InsufficientAccess, EscalationKind.INSUFFICIENT_ACCESS),
    (ValidationRule, EscalationKind.VALIDATION_RULE),
    (SessionExpired, EscalationKind.SESSION_EXPIRED),
)

TITLES: dict[EscalationKind, str] = {
    EscalationKind.INCOMPLETE: "The request is incomplete",
    EscalationKind.NO_FREE_SEAT: "No free seat on the User License",
    EscalationKind.USERNAME_TAKEN: "The username is taken in another Salesforce org",
    EscalationKind.PROFILE_LICENSE_MISMATCH: "The profile does not match the license",
    EscalationKind.INSUFFICIENT_ACCESS: "The bot's Salesforce user lacks a permission",
    EscalationKind.VALIDATION_RULE: "A validation rule rejected the user",
    EscalationKind.SESSION_EXPIRED: "The bot's Salesforce session expired",
    EscalationKind.REPEATED_FAILURE: "Setting up the user keeps failing",
    EscalationKind.BLOCKED_DEACTIVATION: "Salesforce blocked the deactivation",
    EscalationKind.EXISTING_USER: "A user the bot did not make already has this username",
    EscalationKind.OTHER: "Salesforce refused the change",
}

# What the requester reads: the situation in plain words, never the technical detail.
PLAIN_WORDS: dict[EscalationKind, str] = {
    EscalationKind.INCOMPLETE: "a few details of the request are still missing",
    EscalationKind.NO_FREE_SEAT: "there is no free Salesforce seat of this kind right now",
    EscalationKind.USERNAME_TAKEN: "the usual username is already taken in Salesforce",
    EscalationKind.PROFILE_LICENSE_MISMATCH: "the chosen profile does not fit the license",
    EscalationKind.INSUFFICIENT_ACCESS: "the bot is missing a permission in Salesforce",
    EscalationKind.VALIDATION_RULE: "Salesforce needs some more details about you",
    EscalationKind.SESSION_EXPIRED: "the bot lost its connection to Salesforce",
    EscalationKind.REPEATED_FAILURE: "Salesforce keeps refusing the change",
    EscalationKind.BLOCKED_DEACTIVATION: "a Salesforce setting must change before the user can go",
    EscalationKind.EXISTING_USER: "a Salesforce user with your username already exists",
    EscalationKind.OTHER: "Salesforce refused the change",
}


class Escalation(BaseModel):
    """The problem an admin is told about, with everything the message shows."""

    model_config = ConfigDict(frozen=True)

    kind: EscalationKind
    summary: str = ""
    fix: str = ""
    raw_message: str = ""
    missing: tuple[str, ...] = ()
    suggested_username: str | None = None
    attempts: int = 0
    blocker: Blocker | None = None
    sf_user_id: str | None = None
    sf_username: str | None = None
    instance_url: str | None = None
    setup: tuple[str, ...] = ()  # Setup pages where a blocked deactivation's setting changes
    holdings: Holdings | None = None  # what the user owns and what points at them
    transfer: Transfer | None = None  # the latest hand-over of their work, if any

    @classmethod
    def from_error(
        cls,
        error: SalesforceError,
        *,
        attempts: int = 0,
        suggested_username: str | None = None,
    ) -> Escalation:
        """From a typed Salesforce failure; unknown or passing ones count as repeated failures."""
        kind = next(
            (k for typ, k in _ERROR_KINDS if isinstance(error, typ)),
            EscalationKind.REPEATED_FAILURE,
        )
        return cls(
            kind=kind,
            summary=error.human,
            fix=error.fix,
            raw_message=error.raw_message,
            attempts=attempts,
            suggested_username=suggested_username,
        )

    @classmethod
    def from_blocked(
        cls,
        blocked: DeactivationBlocked,
        *,
        instance_url: str | None = None,
        sf_username: str | None = None,
        holdings: Holdings | None = None,
    ) -> Escalation:
        """From a deactivation Salesforce refused, with what the user holds when counted."""
        return cls(
            kind=EscalationKind.BLOCKED_DEACTIVATION,
            summary=blocked.explanation,
            fix=blocked.fix,
            raw_message=blocked.raw_message,
            blocker=blocked.blocker,
            sf_user_id=blocked.user_id,
            sf_username=sf_username,
            instance_url=instance_url,
            setup=blocked.setup,
            holdings=holdings,
        )

    @classmethod
    def from_problem(
        cls,
        problem: str,
        *,
        human: str = "",
        fix: str = "",
        raw: str = "",
        suggested_username: str | None = None,
    ) -> Escalation:
        """From a flow's ``NeedsAdmin`` fields (``problem`` is an ``EscalationKind`` value)."""
        kind = EscalationKind.parse(problem)
        missing: tuple[str, ...] = ()
        if kind is EscalationKind.INCOMPLETE and "missing" in problem:
            listed = problem.split("missing", 1)[1]
            missing = tuple(part.strip() for part in listed.split(",") if part.strip())
        return cls(
            kind=kind,
            summary=human,
            fix=fix,
            raw_message=raw,
            missing=missing,
            suggested_username=suggested_username,
        )


class Resolution(BaseModel):
    """How an escalation was closed: shown instead of its buttons."""

    model_config = ConfigDict(frozen=True)

    text: str
    by: str | None = None
    at: datetime | None = None
    success: bool = True
