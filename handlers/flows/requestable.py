"""What may be requested: the policy file with the admins' changes from Slack laid on top."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from handlers.flows.ports import SalesforceGateway
from handlers.flows.powerful import too_powerful
from handlers.policy import Application, Policy
from salesforce.models import Catalog
from storage.policy_overrides import PolicyOverride, PolicyOverrides

# Catalog kind (as the admin's Home tab names it) -> the Application field listing its names.
KIND_FIELDS: dict[str, str] = {
    "licenses": "licenses",
    "profiles": "profiles",
    "roles": "roles",
    "permission_sets": "permission_sets",
    "groups": "permission_set_groups",
}
# An application must offer at least one of these, or nobody could ask for anything.
_NEVER_EMPTY = {"licenses": "license", "profiles": "profile"}


class CatalogChanged(BaseModel):
    """The record is now offered (or not); ``changed`` is False when it already was."""

    model_config = ConfigDict(frozen=True)

    application: str
    kind: str
    name: str
    requestable: bool
    changed: bool


class CatalogRefused(BaseModel):
    """Nothing was changed; ``why`` says so in plain words."""

    model_config = ConfigDict(frozen=True)

    why: str
    # Set when the refusal is a security decision the audit log keeps.
    reasons: tuple[str, ...] = ()


def _overlay(app: Application, overrides: Sequence[PolicyOverride]) -> Application:
    updates: dict[str, tuple[str, ...]] = {}
    for override in overrides:
        field = KIND_FIELDS.get(override.kind)
        if field is None:
            continue
        current = updates.get(field, getattr(app, field))
        names = {override.name, *override.aliases}
        if override.requestable:
            if not names.intersection(current):
                current = (*current, override.name)
        else:
            current = tuple(n for n in current if n not in names)
        updates[field] = current
    for field in (KIND_FIELDS[kind] for kind in _NEVER_EMPTY):
        # Should every license or profile have been taken out, the file's list stays in force.
        if field in updates and not updates[field]:
            del updates[field]
    return app.model_copy(update=updates) if updates else app


def apply_overrides(policy: Policy, overrides: Sequence[PolicyOverride]) -> Policy:
    """``policy`` with each application's overrides applied, oldest first."""
    applications = tuple(
        _overlay(app, [o for o in overrides if o.application == app.name])
        for app in policy.applications
    )
    return policy.model_copy(update={"applications": applications})


class EffectivePolicy:
    """``deps.policy``: the file policy plus overrides, rebuilt only when either changes."""

    def __init__(self, source: Callable[[], Policy], overrides: PolicyOverrides) -> None:
        self._source = source
        self._overrides = overrides
        self._base: Policy | None = None
        self._version = -1
        self._effective: Policy | None = None

    def __call__(self) -> Policy:
        """The effective policy; cheap when nothing changed since the last call."""
        base = self._source()
        version = self._overrides.version
        # Identity, not equality: the source hands out the same object until the file changes.
        if self._effective is None or base is not self._base or version != self._version:
            self._effective = apply_overrides(base, self._overrides.snapshot)
            self._base, self._version = base, version
        return self._effective


def record_names(catalog: Catalog, kind: str, name: str) -> tuple[str, ...] | None:
    """The record's name and the other names the org gives it; None when the org lacks it."""
    if kind == "licenses":
        lic = catalog.license_named(name)
        return (lic.name, lic.master_label) if lic else None
    if kind == "profiles":
        profile = catalog.profile_named(name)
        return (profile.name,) if profile else None
    if kind == "roles":
        role = catalog.role_named(name)
        return (role.developer_name, role.name) if role else None
    if kind == "permission_sets":
        ps = catalog.permission_set_named(name)
        return (ps.name, ps.label) if ps else None
    if kind == "groups":
        group = catalog.group_named(name)
        return (group.developer_name, group.label) if group else None
    return None


def _file_lists(file_policy: Policy, application: str, field: str, names: tuple[str, ...]) -> bool:
    app = file_policy.application(application)
    listed: tuple[str, ...] = getattr(app, field) if app else ()
    return any(n and n in listed for n in names)


async def set_requestable(
    overrides: PolicyOverrides,
    policy: Policy,
    catalog: Catalog,
    *,
    gateway: SalesforceGateway,
    file_policy: Policy,
    actor: str,
    application: str,
    kind: str,
    name: str,
    requestable: bool,
) -> CatalogChanged | CatalogRefused:
    """Offer (or stop offering) one record of the org in ``application``; admins only.

    What hands over the org (or is the bot's own access) is offered only by the policy file.
    """
    app = policy.application(application)
    if app is None:
        return CatalogRefused(why="That application is no longer in the access policy.")
    if not app.is_admin(actor):
        return CatalogRefused(why=f"Only the admins of {app.title} can change what it offers.")
    field = KIND_FIELDS.get(kind)
    names = record_names(catalog, kind, name) if field else None
    if field is None or names is None:
        return CatalogRefused(why=f"{name} is not in the Salesforce org any more.")
    canonical, aliases = names[0], tuple(n for n in names[1:] if n)
    current: tuple[str, ...] = getattr(app, field)
    offered = any(n in current for n in names if n)
    if offered == requestable:
        return CatalogChanged(
            application=app.name, kind=kind, name=canonical, requestable=requestable, changed=False
        )
    left = [n for n in current if n not in names]
    if not requestable and kind in _NEVER_EMPTY and not left:
        return CatalogRefused(
            why=f"{app.title} has to offer at least one {_NEVER_EMPTY[kind]}, so "
            f"{canonical} stays. Offer another one first."
        )
    if requestable and not _file_lists(file_policy, app.name, field, names):
        title = next((n for n in names[1:] if n), canonical)
        refused = await too_powerful(
            catalog=catalog, gateway=gateway, kind=kind, name=canonical, title=title
        )
        if refused is not None:
            await overrides.refuse(
                application=app.name,
                kind=kind,
                name=canonical,
                reasons=refused.reasons,
                actor=actor,
            )
            return CatalogRefused(why=refused.why, reasons=refused.reasons)
    await overrides.set(
        application=app.name,
        kind=kind,
        name=canonical,
        aliases=aliases,
        requestable=requestable,
        actor=actor,
    )
    return CatalogChanged(
        application=app.name, kind=kind, name=canonical, requestable=requestable, changed=True
    )
