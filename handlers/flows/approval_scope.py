"""What an owner's approval covers, and whether an admin's change stays inside it.

An approval covers the license, profile, role, permission sets (and groups) and duration the
owner saw. A change that gives more or other access (another license, profile or role, one
filled in where the owner saw none, a permission set added, a longer duration) needs a fresh
approval; one that only takes access away (a set removed, the role dropped, a shorter
duration) does not. Names are what the owner saw: the same name is the same access, even when
Setup recreated it under another Id.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.durations import duration_label
from storage.models import AccessRequest

CHANGED_AFTER_APPROVAL = "changed_after_approval"  # the audit action of such a change


class FieldChange(BaseModel):
    """One field of a request as approved and as changed."""

    model_config = ConfigDict(frozen=True)

    label: str
    before: str | None
    after: str | None


class ScopeChange(BaseModel):
    """How an admin's change compares with what the owner approved."""

    model_config = ConfigDict(frozen=True)

    widened: tuple[FieldChange, ...] = ()  # other or more access: needs the owners again
    narrowed: tuple[FieldChange, ...] = ()  # less access: the approval still covers it
    added: tuple[str, ...] = ()  # permission sets and groups
    removed: tuple[str, ...] = ()

    @property
    def needs_approval(self) -> bool:
        """True when the change gives access the owner did not approve."""
        return bool(self.widened or self.added)

    @property
    def empty(self) -> bool:
        """True when nothing that grants access changed."""
        return not (self.widened or self.narrowed or self.added or self.removed)


def _length(value: timedelta | None) -> str:
    return "no end date" if value is None else duration_label(value)


def scope_change(
    approved: AccessRequest,
    *,
    license: str | None,
    profile: str | None,
    role: str | None,
    permission_sets: tuple[str, ...],
    duration: timedelta | None,
) -> ScopeChange:
    """Compare the access fields an admin chose with what ``approved`` grants."""
    widened: list[FieldChange] = []
    narrowed: list[FieldChange] = []
    for label, before, after in (
        ("User License", approved.license, license),
        ("Profile", approved.profile, profile),
        ("Role", approved.role, role),
    ):
        if before == after:
            continue
        change = FieldChange(label=label, before=before, after=after)
        # Dropping the role only takes access away; any other difference is other access.
        (narrowed if label == "Role" and after is None else widened).append(change)
    before_length, after_length = approved.duration, duration
    if before_length != after_length:
        change = FieldChange(
            label="Duration", before=_length(before_length), after=_length(after_length)
        )
        longer = after_length is None or (
            before_length is not None and after_length > before_length
        )
        (widened if longer else narrowed).append(change)
    had, has = set(approved.permission_sets), set(permission_sets)
    return ScopeChange(
        widened=tuple(widened),
        narrowed=tuple(narrowed),
        added=tuple(sorted(has - had)),
        removed=tuple(sorted(had - has)),
    )
