"""What people read for the names a request stores: the org's labels, from the cached catalog.

A request stores API names (``Sales_Ops``, ``SalesRep``) because Salesforce and the policy
file use them; owners and requesters read labels (``Sales Operations``, ``Sales Rep``), and
admins read both where they act in Setup.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from salesforce.models import Catalog
from storage.models import AccessRequest


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ShownAccess(_Frozen):
    """The access a request asks for, in the words its reader reads."""

    license: str | None = None
    profile: str | None = None
    role: str | None = None
    permission_sets: tuple[str, ...] = ()

    @classmethod
    def names_of(cls, req: AccessRequest) -> ShownAccess:
        """The stored names as they are (no catalog at hand)."""
        return cls(
            license=req.license,
            profile=req.profile,
            role=req.role,
            permission_sets=req.permission_sets,
        )


def _labelled(table: dict[str, str], name: str, *, with_name: bool) -> str:
    label = table.get(name) or name
    return f"{label} ({name})" if with_name and label != name else label


class Labels(_Frozen):
    """Each name a request may store (API name or label) -> the label, one table per kind."""

    licenses: dict[str, str] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)
    # Permission sets and groups: a request lists both in one field.
    permission_sets: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, catalog: Catalog) -> Labels:
        """The labels of ``catalog`` (a profile's Name is already what people read)."""
        sets: dict[str, str] = {}
        for ps in catalog.permission_sets:
            sets[ps.name] = sets[ps.label] = ps.label
        for group in catalog.permission_set_groups:
            sets[group.developer_name] = sets[group.label] = group.label
        licenses: dict[str, str] = {}
        for lic in catalog.licenses:
            label = lic.master_label or lic.name
            licenses[lic.name] = licenses[label] = label
        roles: dict[str, str] = {}
        for role in catalog.roles:
            roles[role.developer_name] = roles[role.name] = role.name
        return cls(licenses=licenses, roles=roles, permission_sets=sets)

    def permission_set(self, name: str, *, with_name: bool = False) -> str:
        """``Sales Operations`` (or ``Sales Operations (Sales_Ops)`` ``with_name``)."""
        return _labelled(self.permission_sets, name, with_name=with_name)

    def shown(self, req: AccessRequest, *, with_names: bool = False) -> ShownAccess:
        """``req``'s access as people read it; ``with_names`` adds the API names for admins."""
        return ShownAccess(
            license=_labelled(self.licenses, req.license, with_name=with_names)
            if req.license
            else None,
            profile=req.profile,
            role=_labelled(self.roles, req.role, with_name=with_names) if req.role else None,
            permission_sets=tuple(
                self.permission_set(n, with_name=with_names) for n in req.permission_sets
            ),
        )
