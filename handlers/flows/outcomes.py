"""What the flows decide, as frozen models the Slack side renders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from salesforce.models import DeactivationBlocked, ProvisionResult
from storage.models import AccessRequest


class _Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)


class Submitted(_Outcome):
    """The request is stored; ``created`` is False for a repeated submission."""

    request: AccessRequest
    created: bool


class Rejected(_Outcome):
    """The form has errors to show beside its fields; nothing was stored."""

    errors: dict[str, str]


class RefusalReason(StrEnum):
    """Why a click on a decision button did nothing."""

    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    OWN_REQUEST = "own_request"
    ALREADY_DECIDED = "already_decided"
    NOT_ADMIN = "not_admin"
    NOT_ALLOWED = "not_allowed"
    NOTHING_TO_DO = "nothing_to_do"


class Refused(_Outcome):
    """The actor may not do this, or someone else already did."""

    reason: RefusalReason
    request: AccessRequest | None = None
    decided_by: str | None = None


class Decided(_Outcome):
    """The first decision on a request: approved or denied."""

    request: AccessRequest
    approved: bool


class Provisioned(_Outcome):
    """The user holds the requested access in Salesforce."""

    request: AccessRequest
    result: ProvisionResult


class NeedsAdmin(_Outcome):
    """A person has to step in; ``problem`` names the kind, ``human`` and ``fix`` say what."""

    request: AccessRequest
    problem: str
    human: str
    fix: str
    raw: str = ""
    suggested_username: str | None = None


class WillRetry(_Outcome):
    """A passing failure; the scheduler tries again at ``at``."""

    request: AccessRequest
    attempt: int
    at: datetime
    human: str


class RevokedAccess(_Outcome):
    """The Salesforce user is deactivated (or needed nothing) and the grant is closed."""

    revocation: AccessRequest
    grant: AccessRequest | None
    already_inactive: bool = False
    kept_active_for: tuple[str, ...] = ()


class RevocationBlocked(_Outcome):
    """Salesforce kept the user active; they are frozen and the admins are told."""

    revocation: AccessRequest
    grant: AccessRequest | None
    blocked: DeactivationBlocked


class Skipped(_Outcome):
    """Nothing to do: another process holds or already finished the work."""

    request_id: str
    why: str


GrantOutcome = Provisioned | NeedsAdmin | WillRetry | Skipped
RevokeOutcome = RevokedAccess | RevocationBlocked | WillRetry | NeedsAdmin | Skipped
