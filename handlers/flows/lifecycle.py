"""What the scheduled lifecycle steps decide, as frozen models the Slack side renders."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from storage.models import AccessRequest


class _Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reminded(_Outcome):
    """The owners were reminded of an undecided request (``number`` counts from 1)."""

    request: AccessRequest
    number: int


class AskedAdmins(_Outcome):
    """Reminders did not help: the admins are asked to step in."""

    request: AccessRequest
    reminders: int


class Superseded(_Outcome):
    """A grant reached its end while an approved extension already holds the same access."""

    grant: AccessRequest
    extension: AccessRequest


class DriftKind(StrEnum):
    """How the org and the grants the bot knows disagree."""

    ACTIVE_AGAIN = "active_again"
    DEACTIVATED_BY_HAND = "deactivated_by_hand"
    NOT_GRANTED = "not_granted"


class Drift(_Outcome):
    """One user on whom the org and the bot's records disagree."""

    kind: DriftKind
    application: str
    user_id: str
    username: str
    grant_id: str | None = None
    subject_id: str | None = None
    fixed: bool = False


class DriftReport(_Outcome):
    """One application's reconciliation: what differs, and whether it was corrected."""

    application: str
    checked_users: int
    drifts: tuple[Drift, ...] = ()

    def of_kind(self, kind: DriftKind) -> tuple[Drift, ...]:
        """The drifts of one kind."""
        return tuple(d for d in self.drifts if d.kind is kind)


def with_drift(reports: Iterable[DriftReport]) -> list[DriftReport]:
    """Only the reports that found something."""
    return [r for r in reports if r.drifts]
