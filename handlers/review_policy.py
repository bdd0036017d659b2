"""An application's access reviews (``reviews:`` in the policy): how often, by whom, of what.

Every duration is ISO 8601 (``P90D``, ``P14D``), read with ``handlers.durations``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from handlers.durations import parse_iso_duration

# A member (U…/W…) or every member of a user group (S…).
_REVIEWER_ID = re.compile(r"^(?:[UW]|S)[A-Z0-9]{2,}$")
OWNERS = "owners"


class ReviewScope(StrEnum):
    """What a campaign asks about."""

    ALL = "all"  # every active grant of the application
    HIGH = "high"  # grants of a profile or set powerful enough to take over the org
    DRIFT = "drift"  # active users the reconciliation finds that no grant explains


class Unanswered(StrEnum):
    """What happens to a line nobody decided by the deadline."""

    REVOKE = "revoke"
    KEEP = "keep"
    ESCALATE = "escalate"  # kept, and listed to the admins to decide


def _duration(value: Any, field: str) -> Any:
    if isinstance(value, str):
        parsed = parse_iso_duration(value)
        if parsed is None:
            raise ValueError(f"{field}: {value!r} is not an ISO 8601 duration (write P90D, P14D)")
        return parsed
    return value


class Reviews(BaseModel):
    """How an application's access is reviewed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # None: campaigns start only by hand (``accessbot review start APP``).
    every: timedelta | None = None
    # ``owners``, or Slack member ids (U…) and user group ids (S…).
    reviewers: tuple[str, ...] = (OWNERS,)
    scope: ReviewScope = ReviewScope.ALL
    deadline: timedelta = timedelta(days=14)
    unanswered: Unanswered = Unanswered.ESCALATE
    # Reviewers with lines left are reminded this long before the deadline.
    remind_before: timedelta = timedelta(days=2)

    @field_validator("every", "deadline", "remind_before", mode="before")
    @classmethod
    def _iso(cls, value: Any, info: Any) -> Any:
        return _duration(value, str(info.field_name))

    @field_validator("reviewers", mode="before")
    @classmethod
    def _reviewers(cls, value: Any) -> Any:
        if value == OWNERS:
            return (OWNERS,)
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("write owners, or list Slack member ids (U…) and user group ids (S…)")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not _REVIEWER_ID.match(item):
                raise ValueError(
                    f"reviewers[{i}]: {item!r} is not a Slack member id (U…/W…) "
                    "or user group id (S…); or write reviewers: owners"
                )
        return tuple(value)

    @model_validator(mode="after")
    def _lengths(self) -> Reviews:
        if self.deadline < timedelta(hours=1):
            raise ValueError("deadline: give reviewers at least an hour (PT1H)")
        if self.every is not None and self.every <= self.deadline:
            raise ValueError("every: must be longer than the deadline (one campaign at a time)")
        if self.remind_before >= self.deadline:
            raise ValueError("remind_before: must be shorter than the deadline")
        return self

    @property
    def by_owners(self) -> bool:
        """Whether the application's owners review."""
        return self.reviewers == (OWNERS,)
