"""What the catalog buttons and kind menu carry in their values, written and read back.

Values are ``|``-separated with a version tag first and the free-form name last, so a name
may itself contain ``|``. Reading never trusts them: anyone can post a forged value, so
every part is checked and anything odd gives None.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.views.text import clean

BUTTON_VALUE_MAX = 2000
OPTION_VALUE_MAX = 75
NAME_MAX = 255
PAGE_MAX = 9999

_POSITION_TAG = "c1"
_TOGGLE_TAG = "t1"
_APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PAGE = re.compile(r"^(?:0|[1-9]\d{0,3})$", re.ASCII)


class CatalogKind(StrEnum):
    """The kinds of org records an application may offer."""

    LICENSES = "licenses"
    PROFILES = "profiles"
    ROLES = "roles"
    PERMISSION_SETS = "permission_sets"
    GROUPS = "groups"

    @classmethod
    def parse(cls, value: object) -> CatalogKind | None:
        """The kind named ``value``, or None."""
        return next((kind for kind in cls if kind.value == value), None)


_CODES: dict[CatalogKind, str] = {
    CatalogKind.LICENSES: "l",
    CatalogKind.PROFILES: "p",
    CatalogKind.ROLES: "r",
    CatalogKind.PERMISSION_SETS: "s",
    CatalogKind.GROUPS: "g",
}
_KINDS = {code: kind for kind, code in _CODES.items()}


class CatalogPosition(BaseModel):
    """Which application's catalog, which kind of record and which page an admin looks at."""

    model_config = ConfigDict(frozen=True)

    application: str = Field(pattern=_APP_NAME.pattern)
    kind: CatalogKind = CatalogKind.PROFILES
    page: int = Field(default=0, ge=0, le=PAGE_MAX)


class ToggleRequest(BaseModel):
    """An admin's click: offer (or stop offering) one named record of one kind."""

    model_config = ConfigDict(frozen=True)

    position: CatalogPosition
    name: str = Field(min_length=1, max_length=NAME_MAX)
    requestable: bool


def _parts(position: CatalogPosition) -> tuple[str, str, str]:
    return position.application, _CODES[position.kind], str(position.page)


def position_value(position: CatalogPosition) -> str:
    """``c1|crm|p|3``: short enough for a select option (75 characters)."""
    return "|".join((_POSITION_TAG, *_parts(position)))


def toggle_value(request: ToggleRequest) -> str:
    """``t1|crm|p|3|1|<name>``; the last part is the name as the org spells it."""
    flag = "1" if request.requestable else "0"
    return "|".join((_TOGGLE_TAG, *_parts(request.position), flag, request.name))


def is_plain_name(name: str) -> bool:
    """Whether ``name`` could be a Salesforce name: no control characters or outer spaces."""
    if not 0 < len(name) <= NAME_MAX or "\n" in name or "\t" in name:
        return False
    return name == clean(name).strip()


def _position(parts: list[str]) -> CatalogPosition | None:
    application, code, page = parts
    kind = _KINDS.get(code)
    if kind is None or not _APP_NAME.match(application) or not _PAGE.match(page):
        return None
    return CatalogPosition(application=application, kind=kind, page=int(page))


def parse_catalog_position(value: object) -> CatalogPosition | None:
    """The position a kind option or paging button carries; None for anything forged."""
    if not isinstance(value, str) or len(value) > OPTION_VALUE_MAX:
        return None
    parts = value.split("|")
    if len(parts) != 4 or parts[0] != _POSITION_TAG:
        return None
    return _position(parts[1:])


def parse_toggle_value(value: object) -> ToggleRequest | None:
    """The request a Make requestable / Stop offering button carries; None for anything forged."""
    if not isinstance(value, str) or len(value) > BUTTON_VALUE_MAX:
        return None
    parts = value.split("|", 5)
    if len(parts) != 6 or parts[0] != _TOGGLE_TAG or parts[4] not in ("0", "1"):
        return None
    position = _position(parts[1:4])
    name = parts[5]
    if position is None or not is_plain_name(name):
        return None
    try:
        return ToggleRequest(position=position, name=name, requestable=parts[4] == "1")
    except ValidationError:
        return None
