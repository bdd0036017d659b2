"""What a requester may pick for one application: the policy's names that exist in the org."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.approval_rules import Tier
from handlers.policy import Application
from salesforce.models import Catalog


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class LicenseChoice(_Frozen):
    """A license offered in the request modal, with its free seats."""

    name: str
    label: str
    free: int
    total: int


class ProfileChoice(_Frozen):
    """A profile offered for one license."""

    name: str
    license: str
    requesters: tuple[str, ...] | None = None  # None: whoever may ask for the application
    tier: Tier = Tier.STANDARD


class NamedChoice(_Frozen):
    """A role, permission set or group: its API name and what people read."""

    name: str
    label: str
    requesters: tuple[str, ...] | None = None  # None: whoever may ask for the application
    tier: Tier = Tier.STANDARD


class RequestChoices(_Frozen):
    """The options of the request modal for one application."""

    application: str
    licenses: tuple[LicenseChoice, ...] = ()
    profiles: tuple[ProfileChoice, ...] = ()
    roles: tuple[NamedChoice, ...] = ()
    permission_sets: tuple[NamedChoice, ...] = ()
    durations: tuple[timedelta | None, ...] = (None,)
    require_role: bool = False
    missing: tuple[str, ...] = ()
    requesters: tuple[str, ...] | None = None  # None: everyone may ask for the application
    # The longest a request of a tier may last, where its rule says (tier, longest).
    duration_caps: tuple[tuple[Tier, timedelta], ...] = ()

    def profiles_of(self, license_name: str | None) -> tuple[ProfileChoice, ...]:
        """Profiles valid for ``license_name`` (all of them when no license is chosen)."""
        if license_name is None:
            return self.profiles
        return tuple(p for p in self.profiles if p.license == license_name)

    def license(self, name: str | None) -> LicenseChoice | None:
        """The license choice called ``name``."""
        return next((lic for lic in self.licenses if lic.name == name), None)


def build_choices(app: Application, catalog: Catalog) -> RequestChoices:
    """Intersect the application's policy with the org's catalog; report names the org lacks."""
    missing: list[str] = []
    licenses: list[LicenseChoice] = []
    for name in app.licenses:
        lic = catalog.license_named(name)
        if lic is None:
            missing.append(f"license {name!r}")
            continue
        licenses.append(
            LicenseChoice(
                name=lic.name, label=lic.master_label or lic.name, free=lic.free, total=lic.total
            )
        )
    known_licenses = {lic.name for lic in licenses}
    license_by_id = {lic.id: lic.name for lic in catalog.licenses}
    profiles: list[ProfileChoice] = []
    for name in app.profiles:
        prof = catalog.profile_named(name)
        if prof is None:
            missing.append(f"profile {name!r}")
            continue
        license_name = license_by_id.get(prof.license_id, prof.license_name)
        if license_name in known_licenses:
            profiles.append(
                ProfileChoice(
                    name=prof.name,
                    license=license_name,
                    requesters=app.requesters_of("profiles", name),
                    tier=app.tier_of("profiles", name),
                )
            )
    roles: list[NamedChoice] = []
    for name in app.roles:
        role = catalog.role_named(name)
        if role is None:
            missing.append(f"role {name!r}")
        else:
            roles.append(
                NamedChoice(
                    name=role.developer_name,
                    label=role.name,
                    requesters=app.requesters_of("roles", name),
                    tier=app.tier_of("roles", name),
                )
            )
    sets: list[NamedChoice] = []
    for name in app.permission_sets:
        ps = catalog.permission_set_named(name)
        if ps is None:
            missing.append(f"permission set {name!r}")
        else:
            sets.append(
                NamedChoice(
                    name=ps.name,
                    label=ps.label,
                    requesters=app.requesters_of("permission_sets", name),
                    tier=app.tier_of("permission_sets", name),
                )
            )
    for name in app.permission_set_groups:
        group = catalog.group_named(name)
        if group is None:
            missing.append(f"permission set group {name!r}")
        else:
            sets.append(
                NamedChoice(
                    name=f"group:{group.developer_name}",
                    label=group.label,
                    requesters=app.requesters_of("permission_set_groups", name),
                    tier=app.tier_of("permission_set_groups", name),
                )
            )
    return RequestChoices(
        application=app.name,
        licenses=tuple(licenses),
        profiles=tuple(profiles),
        roles=tuple(roles),
        permission_sets=tuple(sets),
        durations=app.durations,
        duration_caps=tuple(
            (tier, rule.max_duration)
            for tier, rule in sorted(app.tiers.items(), key=lambda item: item[0].rank)
            if rule.max_duration is not None
        ),
        require_role=app.require_role,
        missing=tuple(missing),
        requesters=app.requesters,
    )
