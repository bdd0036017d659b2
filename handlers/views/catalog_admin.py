"""The admin's App Home section: everything the org has, marked offered or not, one kind a page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.catalog_values import (
    PAGE_MAX,
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    is_plain_name,
    position_value,
    toggle_value,
)
from handlers.views.text import (
    CONFIRM_TEXT_MAX,
    HEADER_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    plain,
    safe,
    slack_date,
)
from salesforce.models import Catalog

CATALOG_PAGE_SIZE = 20
# Header, intro, navigation and page line around the entries.
CATALOG_FRAME_BLOCKS = 4

KIND_LABELS: dict[CatalogKind, str] = {
    CatalogKind.LICENSES: "User licenses",
    CatalogKind.PROFILES: "Profiles",
    CatalogKind.ROLES: "Roles",
    CatalogKind.PERMISSION_SETS: "Permission sets",
    CatalogKind.GROUPS: "Permission set groups",
}


class CatalogEntry(BaseModel):
    """One record of the org: the name the policy stores, what people read, and if offered."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str = ""
    requestable: bool = False

    @property
    def title(self) -> str:
        """What people read."""
        return self.label or self.name


class LicenseEntry(CatalogEntry):
    """A User License and its seats."""

    free: int | None = None
    total: int | None = None


class ProfileEntry(CatalogEntry):
    """A profile and the name of the license it needs."""

    license: str = ""


class CatalogAdminView(BaseModel):
    """One application's view of the org's catalog, as its admins manage it."""

    model_config = ConfigDict(frozen=True)

    application: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    title: str = ""
    licenses: tuple[LicenseEntry, ...] = ()
    profiles: tuple[ProfileEntry, ...] = ()
    roles: tuple[CatalogEntry, ...] = ()
    permission_sets: tuple[CatalogEntry, ...] = ()
    groups: tuple[CatalogEntry, ...] = ()
    refreshed_at: datetime | None = None

    def entries(self, kind: CatalogKind) -> tuple[CatalogEntry, ...]:
        """The entries of one kind."""
        by_kind: dict[CatalogKind, tuple[CatalogEntry, ...]] = {
            CatalogKind.LICENSES: self.licenses,
            CatalogKind.PROFILES: self.profiles,
            CatalogKind.ROLES: self.roles,
            CatalogKind.PERMISSION_SETS: self.permission_sets,
            CatalogKind.GROUPS: self.groups,
        }
        return by_kind[kind]

    @classmethod
    def from_catalog(cls, app: Application, catalog: Catalog) -> CatalogAdminView:
        """Everything in ``catalog``, marked requestable when ``app``'s policy names it."""

        def offered(names: tuple[str, ...], *aliases: str) -> bool:
            # The policy may name a record by either of its names, as Catalog.*_named accepts.
            return any(alias and alias in names for alias in aliases)

        license_names = {lic.id: lic.name for lic in catalog.licenses}
        return cls(
            application=app.name,
            title=app.title,
            licenses=tuple(
                LicenseEntry(
                    name=lic.name,
                    label=lic.master_label or lic.name,
                    requestable=offered(app.licenses, lic.name, lic.master_label),
                    free=lic.free,
                    total=lic.total,
                )
                for lic in catalog.licenses
            ),
            profiles=tuple(
                ProfileEntry(
                    name=p.name,
                    requestable=offered(app.profiles, p.name),
                    license=license_names.get(p.license_id, p.license_name),
                )
                for p in catalog.profiles
            ),
            roles=tuple(
                CatalogEntry(
                    name=r.developer_name,
                    label=r.name,
                    requestable=offered(app.roles, r.developer_name, r.name),
                )
                for r in catalog.roles
            ),
            permission_sets=tuple(
                CatalogEntry(
                    name=ps.name,
                    label=ps.label,
                    requestable=offered(app.permission_sets, ps.name, ps.label),
                )
                for ps in catalog.permission_sets
            ),
            groups=tuple(
                CatalogEntry(
                    name=g.developer_name,
                    label=g.label,
                    requestable=offered(app.permission_set_groups, g.developer_name, g.label),
                )
                for g in catalog.permission_set_groups
            ),
            refreshed_at=catalog.refreshed_at,
        )


def _sorted(entries: tuple[CatalogEntry, ...]) -> list[CatalogEntry]:
    return sorted(entries, key=lambda e: (e.title.casefold(), e.name))


def _page_count(total: int) -> int:
    return max(1, min(-(-total // CATALOG_PAGE_SIZE), PAGE_MAX + 1))


def _kind_menu(view: CatalogAdminView, current: CatalogKind) -> StaticSelectElement:
    options: list[Option] = []
    chosen: Option | None = None
    for kind, label in KIND_LABELS.items():
        entries = view.entries(kind)
        offered = sum(e.requestable for e in entries)
        option = Option(
            value=position_value(CatalogPosition(application=view.application, kind=kind)),
            text=f"{label} ({offered} of {len(entries)} offered)",
        )
        options.append(option)
        chosen = option if kind is current else chosen
    return StaticSelectElement(
        action_id=ActionId.CATALOG_KIND,
        placeholder="Kind",
        options=options,
        initial_option=chosen,
    )


def _nav(view: CatalogAdminView, kind: CatalogKind, page: int, pages: int) -> ActionsBlock:
    elements: list[StaticSelectElement | ButtonElement] = [_kind_menu(view, kind)]
    for target, text, action_id in (
        (page - 1, "Previous", ActionId.CATALOG_PREVIOUS),
        (page + 1, "Next", ActionId.CATALOG_NEXT),
    ):
        if 0 <= target < pages:
            position = CatalogPosition(application=view.application, kind=kind, page=target)
            elements.append(
                ButtonElement(text=text, action_id=action_id, value=position_value(position))
            )
    return ActionsBlock(block_id=BlockId.CATALOG_NAV, elements=elements)


def _detail(view: CatalogAdminView, entry: CatalogEntry) -> str:
    if isinstance(entry, LicenseEntry) and entry.total is not None:
        return f" · {entry.free or 0} of {entry.total} seats free"
    if isinstance(entry, ProfileEntry) and entry.license:
        lic = next((x for x in view.licenses if x.name == entry.license), None)
        text = f" · license {safe(lic.title if lic else entry.license, 120)}"
        if lic is None or not lic.requestable:
            # Requests only offer profiles of offered licenses, so say why this one would not show.
            text += " · :warning: license not offered, so requests won't list this profile"
        return text
    return ""


def _toggle_button(position: CatalogPosition, entry: CatalogEntry) -> ButtonElement:
    value = toggle_value(
        ToggleRequest(position=position, name=entry.name, requestable=not entry.requestable)
    )
    if not entry.requestable:
        return ButtonElement(
            text="Make requestable",
            action_id=ActionId.TOGGLE_REQUESTABLE,
            value=value,
            style="primary",
        )
    confirm = ConfirmObject(
        title="Stop offering it?",
        text=PlainTextObject(
            text=plain(
                f"New requests can no longer pick {entry.title}. "
                "Access already granted stays as it is.",
                CONFIRM_TEXT_MAX,
            )
        ),
        confirm="Stop offering",
        deny="Keep it",
        style="danger",
    )
    return ButtonElement(
        text="Stop offering",
        action_id=ActionId.TOGGLE_REQUESTABLE,
        value=value,
        confirm=confirm,
    )


def _entry_block(
    view: CatalogAdminView, position: CatalogPosition, entry: CatalogEntry
) -> SectionBlock:
    name = f" {code(entry.name, 160)}" if entry.label and entry.label != entry.name else ""
    status = ":white_check_mark: Offered" if entry.requestable else ":white_circle: Not offered"
    manageable = is_plain_name(entry.name)
    note = "" if manageable else " · _this name can't be managed from Slack_"
    text = f"*{safe(entry.title, 200)}*{name}\n{status}{_detail(view, entry)}{note}"
    return SectionBlock(
        text=clip(text, SECTION_TEXT_MAX),
        accessory=_toggle_button(position, entry) if manageable else None,
    )


def build_catalog_section(
    view: CatalogAdminView, *, page: int = 0, kind: str = CatalogKind.PROFILES
) -> list[Block]:
    """One kind of record, one page at a time, each with Make requestable or Stop offering."""
    current = CatalogKind.parse(kind) or CatalogKind.PROFILES
    entries = _sorted(view.entries(current))
    pages = _page_count(len(entries))
    page = min(max(page, 0), pages - 1)
    position = CatalogPosition(application=view.application, kind=current, page=page)
    shown = entries[page * CATALOG_PAGE_SIZE : (page + 1) * CATALOG_PAGE_SIZE]
    title = view.title or view.application
    when = f" (read {slack_date(view.refreshed_at)})" if view.refreshed_at else ""
    intro = (
        f"Everything found in the Salesforce org{when}. *Make requestable* adds it to the "
        "request form for the next request; *Stop offering* takes it out. "
        "Access already granted stays."
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"What {title} offers", HEADER_TEXT_MAX)),
        ContextBlock(elements=[MarkdownTextObject(text=intro)]),
        _nav(view, current, page, pages),
    ]
    blocks.extend(_entry_block(view, position, entry) for entry in shown)
    label = KIND_LABELS[current]
    if not entries:
        blocks.append(SectionBlock(text=f"_The org has no {label.lower()}._"))
    else:
        offered = sum(e.requestable for e in entries)
        footer = f"Page {page + 1} of {pages} · {len(entries)} {label.lower()}, {offered} offered"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return blocks
