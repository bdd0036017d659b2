"""The policy's approval rules: risk tiers, who approves each tier and in what stages, break-glass.

An application with no ``tiers`` behaves as before: any one owner decides every request.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from handlers.durations import parse_iso_duration

# A Slack member (U…/W…) or every member of a user group (S…).
PERSON_OR_GROUP = re.compile(r"^(?:[UW]|S)[A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(StrEnum):
    """How risky an item is; a request takes the highest tier of what it asks for."""

    LOW = "low"
    STANDARD = "standard"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Order of risk: low < standard < high."""
        return _RANKS[self]


_RANKS = {Tier.LOW: 0, Tier.STANDARD: 1, Tier.HIGH: 2}


def highest(tiers: list[Tier]) -> Tier:
    """The riskiest of ``tiers`` (standard when there are none)."""
    return max(tiers, key=lambda t: t.rank, default=Tier.STANDARD)


def people_or_groups(value: Any, where: str) -> tuple[str, ...]:
    """Slack member ids and user group ids, or an error naming the wrong one."""
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{where}: list Slack member ids (U…) or user group ids (S…)")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not PERSON_OR_GROUP.match(item):
            raise ValueError(
                f"{where}[{i}]: {item!r} is not a Slack member id (U…/W…) or user group id (S…)"
            )
    return tuple(value)


def _duration(value: Any, where: str) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    parsed = parse_iso_duration(value) if isinstance(value, str) else None
    if parsed is None or parsed <= timedelta(0):
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 duration such as PT4H or P7D")
    return parsed


class Stage(_Strict):
    """One step of an approval: ``required`` distinct approvers from ``approvers``.

    ``approvers`` absent: the application's owners.
    """

    name: Annotated[str, Field(min_length=1, max_length=40)]
    approvers: tuple[str, ...] | None = None
    required: int = Field(default=1, ge=1, le=10)

    @field_validator("approvers", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        return None if value is None else people_or_groups(value, "approvers")


class TierRule(_Strict):
    """How requests of one tier are approved, and how long they may last."""

    required: int = Field(default=1, ge=1, le=10)
    stages: tuple[Stage, ...] = ()
    max_duration: timedelta | None = None
    auto_approve: bool = False

    @field_validator("max_duration", mode="before")
    @classmethod
    def _max(cls, value: Any) -> Any:
        return _duration(value, "max_duration")

    @model_validator(mode="after")
    def _one_way(self) -> TierRule:
        if self.stages and "required" in self.model_fields_set:
            raise ValueError("give required or stages (each with its own required), not both")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        return self

    @property
    def steps(self) -> tuple[Stage, ...]:
        """The stages in order; without ``stages``, one stage of ``required`` owners."""
        return self.stages or (Stage(name="owners", required=self.required),)


class BreakGlass(_Strict):
    """Emergency access: members of ``group`` approve their own high-tier request, briefly."""

    group: tuple[str, ...]
    max_duration: timedelta = timedelta(hours=4)
    review_within: timedelta = timedelta(hours=24)
    security_channel: str | None = None

    @field_validator("group", mode="before")
    @classmethod
    def _group(cls, value: Any) -> Any:
        return people_or_groups(value, "group")

    @field_validator("max_duration", "review_within", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _duration(value, "duration")

    @field_validator("security_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL.match(value):
            raise ValueError("must be a Slack channel id such as C0123ABCD (not a #name)")
        return value


DEFAULT_RULE = TierRule()
