"""Frozen models the repositories return."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """A request either grants access or takes it away."""

    GRANT = "grant"
    REVOKE = "revoke"


class State(StrEnum):
    """Every state a request can be in (see DESIGN.md, the request lifecycle)."""

    # grant
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    NEEDS_ADMIN = "needs_admin"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # revoke
    REQUESTED = "requested"
    DEPROVISIONING = "deprovisioning"
    BLOCKED = "blocked"
    DONE = "done"


TERMINAL_STATES = frozenset(
    {State.DENIED, State.CANCELLED, State.EXPIRED, State.REVOKED, State.DONE}
)
# A request in these states carries its own Salesforce step: the scheduler claims it when
# due (and takes it back when its holder's lease ran out), converging its user with it.
CARRIED_STATES = (State.APPROVED, State.PROVISIONING, State.REQUESTED, State.DEPROVISIONING)


class AccessRequest(BaseModel):
    """One grant or revocation and everything known about it."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    application: str
    state: State
    requester_id: str
    subject_id: str
    subject_email: str = ""
    subject_name: str = ""
    license: str | None = None
    profile: str | None = None
    role: str | None = None
    permission_sets: tuple[str, ...] = ()
    duration: timedelta | None = None  # None: permanent
    reason: str = ""
    grant_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    sf_user_id: str | None = None
    sf_username: str | None = None
    username_override: str | None = None
    needs_admin_reason: str | None = None
    last_error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    claimed_by: str | None = None
    expires_at: datetime | None = None
    reminders_sent: int = 0
    created_at: datetime
    updated_at: datetime
    version: int = 0
    pending_since: datetime | None = None  # sent back to the owners at; None: since created_at
    tier: str = "standard"  # low, standard or high: what the policy's approval rules go by
    approval_stage: int = 0  # the approval stage it waits at (0: the first)
    review_due_at: datetime | None = None  # break-glass: an owner's review is due by then
    review_escalated: bool = False  # nobody reviewed in time: the admins were asked


class RequestChange(BaseModel):
    """A request just created or moved, with who did it and the action its audit row names."""

    model_config = ConfigDict(frozen=True)

    request: AccessRequest
    actor: str
    action: str
    from_state: State | None = None

    @property
    def moved(self) -> bool:
        """Whether the state changed (a request created counts as moved)."""
        return self.from_state != self.request.state


class AuditEntry(BaseModel):
    """One row of the append-only, hash-chained audit log."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    request_id: str | None
    actor: str
    action: str
    from_state: str | None = None
    to_state: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


class ApprovalVote(BaseModel):
    """One approver's approval of a request at one stage."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    stage: int
    approver: str
    at: datetime


class MessageRef(BaseModel):
    """A Slack message the bot posted about a request, kept so it can be updated later."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    purpose: str
    channel: str
    ts: str
    recipient: str | None = None


class NewRequest(BaseModel):
    """What is known when a request is first stored."""

    model_config = ConfigDict(frozen=True)

    kind: Kind = Kind.GRANT
    application: str
    state: State
    requester_id: str
    subject_id: str
    subject_email: str = ""
    subject_name: str = ""
    license: str | None = None
    profile: str | None = None
    role: str | None = None
    permission_sets: tuple[str, ...] = ()
    duration: timedelta | None = None  # None: permanent
    reason: str = ""
    grant_id: str | None = None
    sf_user_id: str | None = None
    sf_username: str | None = None
    needs_admin_reason: str | None = None
    next_attempt_at: datetime | None = None
    tier: str = "standard"

    @classmethod
    def following(cls, grant: AccessRequest, **changes: Any) -> NewRequest:
        """A request about the same person and access as ``grant`` (its revocation, extension)."""
        carried = grant.model_dump(
            include={
                "application",
                "subject_id",
                "subject_email",
                "subject_name",
                "license",
                "profile",
                "role",
                "permission_sets",
                "sf_user_id",
                "sf_username",
            }
        )
        return cls.model_validate({**carried, "grant_id": grant.id, **changes})


class ManagedOrigin(StrEnum):
    """How the bot came to manage a Salesforce user."""

    PENDING = "pending"  # a create was (maybe) sent; nobody knows yet whether it landed
    CREATED = "created"
    ADOPTED = "adopted"


class Baseline(BaseModel):
    """An adopted user as it was before the bot changed anything: what it goes back to."""

    model_config = ConfigDict(frozen=True)

    is_active: bool
    frozen: bool = False
    profile_id: str | None = None
    role_id: str | None = None
    assignments: tuple[str, ...] = ()


class ManagedUser(BaseModel):
    """A Salesforce user the bot manages, and how far Salesforce has caught up with its grants."""

    model_config = ConfigDict(frozen=True)

    username: str
    sf_user_id: str | None = None
    subject_id: str
    origin: ManagedOrigin
    baseline: Baseline | None = None
    added: tuple[str, ...] = ()
    frozen_by_bot: bool = False
    create_sent_at: datetime | None = None
    wanted_gen: int = 1
    converged_gen: int = 0
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    claimed_by: str | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def dirty(self) -> bool:
        """True while Salesforce may not match the user's grants yet."""
        return self.wanted_gen > self.converged_gen
