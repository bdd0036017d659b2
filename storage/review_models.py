"""Frozen models of access review campaigns, their lines and each reviewer's message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CampaignState(StrEnum):
    """Asked for, sent to the reviewers, or over."""

    OPENING = "opening"
    OPEN = "open"
    CLOSED = "closed"


class Decision(StrEnum):
    """What a reviewer (or the policy, at the deadline) decided about one line."""

    KEEP = "keep"
    REVOKE = "revoke"


class Outcome(StrEnum):
    """What became of a line in Salesforce."""

    KEPT = "kept"
    ADOPTED = "adopted"  # a user no grant explained, kept: now managed, with a grant
    ESCALATED = "escalated"  # unanswered, kept, and handed to the admins
    REVOKING = "revoking"  # the revocation is open; the converger is on it
    DEACTIVATED = "deactivated"
    REDUCED = "reduced"  # sets removed, the user stays active for its other grants
    RESTORED = "restored"  # an adopted user back to how it was
    BLOCKED = "blocked"  # Salesforce refused; the admins were asked
    ENDED = "ended"  # the grant ended some other way before the decision


FINAL_OUTCOMES = frozenset(set(Outcome) - {Outcome.REVOKING})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Campaign(_Frozen):
    """One review of one application."""

    id: str
    application: str
    scope: str
    unanswered: str
    state: CampaignState
    started_by: str
    created_at: datetime
    opened_at: datetime | None = None
    deadline_at: datetime | None = None
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    closed_at: datetime | None = None


class NewItem(_Frozen):
    """A line as the campaign opens (``grant_id`` None: a user no grant explains)."""

    grant_id: str | None = None
    drift: bool = False
    sf_user_id: str | None = None
    username: str
    subject_id: str | None = None
    subject_name: str = ""
    holds: str
    since: datetime | None = None
    approved_by: str | None = None
    last_login: datetime | None = None
    reviewer: str


class ReviewItem(NewItem):
    """A stored line and its decision."""

    id: str
    campaign_id: str
    position: int
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    revocation_id: str | None = None
    effect: str | None = None
    outcome: Outcome | None = None


class ReviewMessage(_Frozen):
    """A reviewer's one message of a campaign; ``ts`` None until Slack took it."""

    campaign_id: str
    reviewer: str
    channel: str | None = None
    ts: str | None = None
    page: int = 0
