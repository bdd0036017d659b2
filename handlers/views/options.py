"""Select menus: option values that fit Slack, unique labels, and static vs external selects.

Option values are the Salesforce names themselves when they fit in 75 characters. A longer
name (or one starting with ``~``) is sent as ``~`` + 16 hex digits of its BLAKE2b hash: a
stable short key that does not depend on the order of the choices, which ``resolve_value``
maps back by hashing the candidate names. Labels are shortened to 75 characters and kept
distinct (see ``text.unique_labels``) so people can still tell the options apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputInteractiveElement,
    Option,
    StaticMultiSelectElement,
    StaticSelectElement,
)

from handlers.views.text import OPTION_TEXT_MAX, PLACEHOLDER_MAX, shorten, unique_labels

OPTION_VALUE_MAX = 75
STATIC_OPTIONS_MAX = 100
KEY_PREFIX = "~"


class OptionItem(BaseModel):
    """One choice: the name the bot stores, what people read, and a fixed suffix (seat counts)."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    suffix: str = ""


def option_value(name: str) -> str:
    """The option value for ``name``: the name itself, or a stable hashed key when too long."""
    if 0 < len(name) <= OPTION_VALUE_MAX and not name.startswith(KEY_PREFIX):
        return name
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).hexdigest()
    return KEY_PREFIX + digest


def resolve_value(value: str | None, names: Iterable[str] | None = None) -> str | None:
    """The name behind an option value; a hashed key needs the candidate ``names``."""
    if value is None:
        return None
    if names is None:
        return None if value.startswith(KEY_PREFIX) else value
    return next((name for name in names if option_value(name) == value), None)


def option_texts(items: Sequence[OptionItem]) -> list[str]:
    """Distinct option texts of at most 75 characters, suffixes kept whole."""
    room = OPTION_TEXT_MAX - max((len(item.suffix) for item in items), default=0)
    labels = [item.label or item.name for item in items]
    # The same label on two names (two permission sets called "Sales") gets the name added.
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    labels = [
        f"{label} ({item.name})" if counts[label] > 1 and item.name != label else label
        for item, label in zip(items, labels, strict=True)
    ]
    return [
        label + item.suffix
        for item, label in zip(items, unique_labels(labels, max(room, 8)), strict=True)
    ]


def to_options(items: Sequence[OptionItem]) -> list[Option]:
    """Block Kit options for ``items``."""
    return [
        Option(value=option_value(item.name), text=text)
        for item, text in zip(items, option_texts(items), strict=True)
    ]


def select_element(
    action_id: str,
    items: Sequence[OptionItem],
    *,
    placeholder: str,
    selected: Sequence[str] = (),
    multi: bool = False,
) -> InputInteractiveElement:
    """A static select, or past 100 options an external select served by ``build_options``."""
    options = to_options(items)
    by_name = {item.name: option for item, option in zip(items, options, strict=True)}
    initial = [by_name[name] for name in dict.fromkeys(selected) if name in by_name]
    hint = shorten(placeholder, PLACEHOLDER_MAX)
    external = len(options) > STATIC_OPTIONS_MAX
    if multi and external:
        return ExternalDataMultiSelectElement(
            action_id=action_id,
            placeholder=hint,
            initial_options=initial or None,
            min_query_length=0,
        )
    if multi:
        return StaticMultiSelectElement(
            action_id=action_id, placeholder=hint, options=options, initial_options=initial or None
        )
    first = initial[0] if initial else None
    if external:
        return ExternalDataSelectElement(
            action_id=action_id, placeholder=hint, initial_option=first, min_query_length=0
        )
    return StaticSelectElement(
        action_id=action_id, placeholder=hint, options=options, initial_option=first
    )


def build_options(
    items: Sequence[OptionItem], query: str, *, limit: int = STATIC_OPTIONS_MAX
) -> list[dict[str, Any]]:
    """Options for an external select's search: case-insensitive match, prefix matches first."""
    needle = " ".join(str(query).split()).casefold()[:200]
    options = to_options(items)
    starts: list[Option] = []
    contains: list[Option] = []
    for item, option in zip(items, options, strict=True):
        haystacks = (str(option.text).casefold(), item.name.casefold(), item.label.casefold())
        if any(h.startswith(needle) for h in haystacks):
            starts.append(option)
        elif any(needle in h for h in haystacks):
            contains.append(option)
    limit = max(0, min(limit, STATIC_OPTIONS_MAX))
    return [option.to_dict() for option in (starts + contains)[:limit]]
