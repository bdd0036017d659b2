"""A grant request as typed in the modal, and the checks it must pass before it is stored."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.flows.choices import RequestChoices

REASON_MAX = 2000


class RequestDraft(BaseModel):
    """What the requester has chosen so far; every field may still be missing."""

    model_config = ConfigDict(frozen=True)

    application: str | None = None
    license: str | None = None
    profile: str | None = None
    role: str | None = None
    permission_sets: tuple[str, ...] = ()
    duration: timedelta | None = None  # None: permanent
    reason: str | None = None


def check_draft(draft: RequestDraft, choices: RequestChoices) -> dict[str, str]:
    """Field name -> the message to show beside it; empty when the draft can be submitted."""
    errors: dict[str, str] = {}
    lic = choices.license(draft.license)
    if draft.license is None:
        errors["license"] = "Choose a User License."
    elif lic is None:
        errors["license"] = "This license can no longer be requested. Choose another one."
    elif lic.free <= 0:
        errors["license"] = (
            f"No free {lic.label} seat right now ({lic.total} of {lic.total} used). "
            "Choose another license or ask an admin to free a seat."
        )
    if draft.profile is None:
        errors["profile"] = "Choose a Profile."
    elif lic is not None and draft.profile not in {p.name for p in choices.profiles_of(lic.name)}:
        errors["profile"] = f"This profile does not belong to the {lic.label} license."
    elif lic is None and draft.profile not in {p.name for p in choices.profiles}:
        errors["profile"] = "This profile can no longer be requested."
    if draft.role is None and choices.require_role:
        errors["role"] = "Choose a Role: this application needs one."
    elif draft.role is not None and draft.role not in {r.name for r in choices.roles}:
        errors["role"] = "This role can no longer be requested."
    unknown = [
        p for p in draft.permission_sets if p not in {s.name for s in choices.permission_sets}
    ]
    if unknown:
        errors["permission_sets"] = "Some permission sets can no longer be requested."
    if draft.duration not in choices.durations:
        errors["duration"] = "Choose one of the offered durations."
    reason = (draft.reason or "").strip()
    if not reason:
        errors["reason"] = "Say why you need this access."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason under {REASON_MAX} characters."
    return errors


def missing_for_provisioning(
    license_name: str | None, profile: str | None, role: str | None, *, require_role: bool
) -> list[str]:
    """What Salesforce still needs before a user can be created (the Role is optional)."""
    missing = []
    if not license_name:
        missing.append("User License")
    if not profile:
        missing.append("Profile")
    if require_role and not role:
        missing.append("Role")
    return missing
