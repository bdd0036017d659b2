"""The options of each request-modal select, shared by the modal and the options handler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from handlers.durations import duration_label, iso_duration, parse_iso_duration
from handlers.flows.choices import LicenseChoice, RequestChoices
from handlers.ids import ActionId
from handlers.views.options import OptionItem

GROUP_PREFIX = "group:"
PERMANENT = "permanent"


def seats_suffix(lic: LicenseChoice) -> str:
    """`` — 4 of 10 seats free`` or `` — no free seat (10 used)``."""
    if lic.free <= 0:
        return f" — no free seat ({lic.total} of {lic.total} used)"
    seats = "seat" if lic.total == 1 else "seats"
    return f" — {lic.free} of {lic.total} {seats} free"


def application_items(applications: Sequence[tuple[str, str]]) -> list[OptionItem]:
    """Applications as (name, title) pairs."""
    return [OptionItem(name=name, label=title or name) for name, title in applications]


def license_items(choices: RequestChoices) -> list[OptionItem]:
    """Licenses with their free seats; one without a free seat is still listed, marked so."""
    return [
        OptionItem(name=lic.name, label=lic.label or lic.name, suffix=seats_suffix(lic))
        for lic in choices.licenses
    ]


def profile_items(choices: RequestChoices, license_name: str | None) -> list[OptionItem]:
    """Profiles of ``license_name`` (none before a license is chosen)."""
    if license_name is None:
        return []
    return [OptionItem(name=p.name, label=p.name) for p in choices.profiles_of(license_name)]


def role_items(choices: RequestChoices) -> list[OptionItem]:
    """Roles by their label."""
    return [OptionItem(name=r.name, label=r.label or r.name) for r in choices.roles]


def permission_set_items(choices: RequestChoices) -> list[OptionItem]:
    """Permission sets and groups; groups say so."""
    return [
        OptionItem(
            name=ps.name,
            label=ps.label or ps.name.removeprefix(GROUP_PREFIX),
            suffix=" (group)" if ps.name.startswith(GROUP_PREFIX) else "",
        )
        for ps in choices.permission_sets
    ]


def duration_value(duration: timedelta | None) -> str:
    """The option name of a duration: ``permanent`` or its ISO 8601 text (``PT4H``, ``P30D``)."""
    return PERMANENT if duration is None else iso_duration(duration)


def parse_duration(value: str | None) -> tuple[bool, timedelta | None]:
    """(chosen, duration) from a duration option value; None means permanent."""
    if value == PERMANENT:
        return True, None
    if value is not None and len(value) <= 40:
        duration = parse_iso_duration(value)
        if duration is not None and duration > timedelta(0):
            return True, duration
    return False, None


def duration_items(choices: RequestChoices) -> list[OptionItem]:
    """The policy's durations in its order, readable: ``1 hour``, ``30 days``, ``Permanent``."""
    return [
        OptionItem(name=duration_value(duration), label=duration_label(duration))
        for duration in dict.fromkeys(choices.durations)
    ]


def items_for_action(
    choices: RequestChoices,
    action_id: str,
    *,
    license_name: str | None = None,
    applications: Sequence[tuple[str, str]] = (),
) -> list[OptionItem]:
    """What an external select with ``action_id`` offers (for the options handler)."""
    if action_id == ActionId.REQUEST_APPLICATION:
        return application_items(applications)
    if action_id == ActionId.REQUEST_PROFILE:
        return profile_items(choices, license_name)
    if action_id == ActionId.REQUEST_ROLE:
        return role_items(choices)
    if action_id == ActionId.REQUEST_PERMISSION_SETS:
        return permission_set_items(choices)
    if action_id == ActionId.REQUEST_LICENSE:
        return license_items(choices)
    return []
