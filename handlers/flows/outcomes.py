"""What the flows decide, as frozen models the Slack side renders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from handlers.flows.people import Ineligibility
from salesforce.holdings import Holdings
from salesforce.models import DeactivationBlocked, ProvisionResult
from storage.models import AccessRequest, ManagedUser
from storage.transfers import Transfer


class _Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)


class Submitted(_Outcome):
    """The request is stored; ``created`` is False for a repeated submission."""

    request: AccessRequest
    created: bool


class Rejected(_Outcome):
    """The form has errors to show beside its fields; nothing was stored."""

    errors: dict[str, str]


class Ineligible(_Outcome):
    """The person the request is for cannot hold a Salesforce user; nothing was stored."""

    subject_id: str
    reason: Ineligibility
    admins: tuple[str, ...]


class RefusalReason(StrEnum):
    """Why a click on a decision button did nothing."""

    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    OWN_REQUEST = "own_request"
    ALREADY_DECIDED = "already_decided"
    NOT_ADMIN = "not_admin"
    NOT_ALLOWED = "not_allowed"
    NOTHING_TO_DO = "nothing_to_do"
    GRANT_ENDED = "grant_ended"  # an extension of access that was revoked or expired
    OWN_ESCALATION = "own_escalation"  # an admin pressing a button on their own request
    OWN_CHANGE = "own_change"  # an owner approving the change they made as admin
    NOT_APPROVER = "not_approver"  # not among the approvers of the stage the request is at
    STAGE_DONE = "stage_done"  # the clicker's stage was completed by others a moment before


class Refused(_Outcome):
    """The actor may not do this, or someone else already did."""

    reason: RefusalReason
    request: AccessRequest | None = None
    decided_by: str | None = None
    helpers: tuple[str, ...] = ()  # who can do it instead


class Decided(_Outcome):
    """The first decision on a request: approved or denied.

    ``provisioning``: the grant as the approval's own transaction started provisioning it
    (``request`` stays the approved one the messages show); ``leased``: its user, leased for
    the converger in that transaction (None when another worker held it).
    """

    request: AccessRequest
    approved: bool
    provisioning: AccessRequest | None = None
    leased: ManagedUser | None = None


class Provisioned(_Outcome):
    """The user holds the requested access in Salesforce."""

    request: AccessRequest
    result: ProvisionResult
    # Older grants whose profile and role no longer apply while this one lasts.
    supersedes: tuple[AccessRequest, ...] = ()


class NeedsAdmin(_Outcome):
    """A person has to step in; ``problem`` names the kind, ``human`` and ``fix`` say what."""

    request: AccessRequest
    problem: str
    human: str
    fix: str
    raw: str = ""
    suggested_username: str | None = None
    existing_user_id: str | None = None  # a user of this org the admins may adopt


class WillRetry(_Outcome):
    """A passing failure; the scheduler tries again at ``at``."""

    request: AccessRequest
    attempt: int
    at: datetime
    human: str


class RevokedAccess(_Outcome):
    """The grant is closed and Salesforce holds only what the remaining grants give.

    ``deactivated``: the user the bot made is inactive now; ``restored``: an adopted user is
    back to how it was before; otherwise ``kept_active_for`` names the grants still active
    and ``removed_assignments`` counts what was taken away.
    """

    revocation: AccessRequest
    grant: AccessRequest | None
    already_inactive: bool = False
    kept_active_for: tuple[str, ...] = ()
    removed_assignments: int = 0
    deactivated: bool = True
    restored: bool = False
    removed: tuple[str, ...] = ()  # permission set names taken away (when the user stays)
    holdings: Holdings | None = None  # what the deactivated user still owns, when counted
    transfer: Transfer | None = None  # the work handed over first (offboarding.transfer_to)

    @property
    def effect(self) -> str:
        """What happened to the Salesforce user, in one sentence (sets by their API names)."""
        return self.effect_in(str)

    def effect_in(self, label: Callable[[str], str]) -> str:
        """What happened to the Salesforce user, in one sentence; ``label`` names the sets."""
        if self.deactivated:
            return "The Salesforce user is deactivated."
        if self.restored:
            return "The Salesforce user is back to how it was before the bot changed it."
        if self.removed:
            names = ", ".join(label(n) for n in self.removed)
            return f"{names} was removed; the rest of the access stays."
        return "Other access keeps the Salesforce user as it is."


class RevocationBlocked(_Outcome):
    """Salesforce kept the user active; they are frozen and the admins are told."""

    revocation: AccessRequest
    grant: AccessRequest | None
    blocked: DeactivationBlocked
    holdings: Holdings | None = None  # what points at the user, when it could be counted


class HandingOver(_Outcome):
    """The policy's transfer of the leaver's work started; the user stays frozen and is
    deactivated when it is done (``offboarding.transfer_to``)."""

    revocation: AccessRequest
    transfer: Transfer
    holdings: Holdings | None = None  # what the user held when the transfer started
    started: bool = True  # False: found still running by a later round (nothing to tell)


class Skipped(_Outcome):
    """Nothing to do: another process holds or already finished the work."""

    request_id: str
    why: str


GrantOutcome = Provisioned | NeedsAdmin | WillRetry | Skipped
RevokeOutcome = RevokedAccess | RevocationBlocked | HandingOver | WillRetry | NeedsAdmin | Skipped
