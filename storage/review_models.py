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
# The key of an admin's message of a campaign's escalated lines (a reviewer's key is their id).
ESCALATED_TO = "escalated:"


def escalation_key(admin: str) -> str:
    """The ``review_messages`` key of ``admin``'s message of escalated lines."""
    return ESCALATED_TO + admin


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

    def escalated_in(self, campaign: Campaign) -> bool:
        """Whether nobody answered for the line and the admins were handed it (decided or not).

        An admin decides it after the campaign closed; a reviewer or the policy before.
        """
        if self.outcome is Outcome.ESCALATED:
            return True
        closed = campaign.closed_at
        if campaign.unanswered != "escalate" or closed is None or self.decided_at is None:
            return False
        return self.decided_at > closed


class ReviewMessage(_Frozen):
    """A reviewer's one message of a campaign; ``ts`` None until Slack took it.

    ``reviewer`` is the reviewer's member id, or ``escalation_key(admin)`` for an admin's
    message of the lines nobody answered.
    """

    campaign_id: str
    reviewer: str
    channel: str | None = None
    ts: str | None = None
    page: int = 0

    @property
    def escalated(self) -> bool:
        """Whether this is an admin's message of escalated lines."""
        return self.reviewer.startswith(ESCALATED_TO)

    @property
    def member(self) -> str:
        """Whom the message goes to."""
        return self.reviewer.removeprefix(ESCALATED_TO)
