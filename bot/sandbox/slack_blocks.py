"""Block Kit as Slack's clients treat it: interactive elements, their state, ids and limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

JsonDict = dict[str, Any]
Choice = str | list[str] | None
MAX_MESSAGE_BLOCKS = 50

# Which key of view.state.values carries each element's value, and which key presets it.
STATE_KEYS: dict[str, tuple[str, str]] = {
    "plain_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}
OPTION_KEYS = frozenset({"selected_option", "selected_options"})
LIST_KEYS = frozenset(
    {"selected_options", "selected_users", "selected_conversations", "selected_channels"}
)


@dataclass(frozen=True)
class Located:
    """An interactive element and the block holding it."""

    block_id: str
    block_type: str
    element: JsonDict
    dispatches: bool

    @property
    def action_id(self) -> str:
        """The element's action_id."""
        return str(self.element.get("action_id", ""))

    @property
    def kind(self) -> str:
        """The element type, such as ``static_select`` or ``button``."""
        return str(self.element.get("type", ""))


def iter_elements(blocks: Sequence[Mapping[str, Any]]) -> Iterator[Located]:
    """Every interactive element of ``blocks``: inputs, actions elements, section accessories."""
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        kind = str(block.get("type", ""))
        if kind == "input" and isinstance(block.get("element"), dict):
            yield Located(block_id, kind, block["element"], bool(block.get("dispatch_action")))
        elif kind == "actions":
            for element in block.get("elements", []):
                yield Located(block_id, kind, element, True)
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            accessory = block["accessory"]
            if accessory.get("type") not in ("image", None):
                yield Located(block_id, kind, accessory, True)


def find_element(
    blocks: Sequence[Mapping[str, Any]],
    action_id: str,
    *,
    block_id: str | None = None,
    value: str | None = None,
) -> Located:
    """The element with ``action_id`` (a button's ``value`` picks among equal ids)."""
    found = [
        loc
        for loc in iter_elements(blocks)
        if loc.action_id == action_id and (block_id is None or loc.block_id == block_id)
    ]
    if value is not None and len(found) > 1:
        found = [loc for loc in found if loc.element.get("value") == value] or found
    if not found:
        raise LookupError(f"no element with action_id {action_id!r} in these blocks")
    return found[0]


def options_of(element: Mapping[str, Any]) -> list[JsonDict]:
    """The element's options, flattening option groups."""
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def _option(value: str, known: Sequence[Mapping[str, Any]]) -> JsonDict:
    for option in known:
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"no option with value {value!r}")


def state_entry(
    element: Mapping[str, Any], choice: Choice, extra_options: Sequence[JsonDict] = ()
) -> JsonDict:
    """The ``view.state.values`` entry for ``element`` holding ``choice``, as Slack sends it."""
    kind = str(element.get("type", ""))
    if kind not in STATE_KEYS:
        raise ValueError(f"{kind or 'this element'} holds no value")
    key = STATE_KEYS[kind][0]
    known = options_of(element) + list(extra_options)
    entry: JsonDict = {"type": kind}
    values = [] if choice is None else [choice] if isinstance(choice, str) else list(choice)
    if key in LIST_KEYS:
        entry[key] = [_option(v, known) for v in values] if key in OPTION_KEYS else values
    elif not values:
        entry[key] = None
    elif key in OPTION_KEYS:
        entry[key] = _option_or_text(values[0], known, kind)
    else:
        entry[key] = values[0]
    return entry


def _option_or_text(value: str, known: Sequence[Mapping[str, Any]], kind: str) -> JsonDict:
    try:
        return _option(value, known)
    except LookupError:
        if kind != "external_select":
            raise
        # An external option never loaded by the driver still reaches the app as text = value.
        return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def selection_entry(element: Mapping[str, Any], choice: Choice) -> JsonDict:
    """What a message element sends when used: an overflow's option, or a select's state."""
    if element.get("type") == "overflow":
        if not isinstance(choice, str):
            raise ValueError("an overflow menu takes one option value")
        return {"type": "overflow", "selected_option": _option(choice, options_of(element))}
    return state_entry(element, choice)


def initial_entry(element: Mapping[str, Any]) -> JsonDict | None:
    """The state entry an element starts with (its ``initial_*``), or None for non-inputs."""
    kind = str(element.get("type", ""))
    if kind not in STATE_KEYS:
        return None
    key, initial_key = STATE_KEYS[kind]
    initial = element.get(initial_key)
    entry: JsonDict = {"type": kind}
    if initial is None:
        entry[key] = [] if key in LIST_KEYS else None
    else:
        entry[key] = initial
    return entry


def choice_of(entry: Mapping[str, Any]) -> Choice:
    """The plain value(s) a state entry holds: option values, ids, dates or text."""
    kind = str(entry.get("type", ""))
    key = STATE_KEYS.get(kind, ("value", ""))[0]
    raw = entry.get(key)
    if key in OPTION_KEYS:
        if isinstance(raw, list):
            return [str(o.get("value")) for o in raw]
        return None if raw is None else str(raw.get("value"))
    if isinstance(raw, list):
        return [str(v) for v in raw]
    return None if raw is None else str(raw)


def assign_ids(blocks: Sequence[Mapping[str, Any]], new_id: Callable[[], str]) -> list[JsonDict]:
    """A copy of ``blocks`` where every block and element has an id, as Slack fills them in."""
    filled: list[JsonDict] = []
    for block in blocks:
        copy = dict(block)
        if "block_id" not in copy:
            copy["block_id"] = new_id()
        if isinstance(copy.get("element"), dict):
            copy["element"] = _with_action_id(copy["element"], new_id)
        if isinstance(copy.get("accessory"), dict) and copy["accessory"].get("type") != "image":
            copy["accessory"] = _with_action_id(copy["accessory"], new_id)
        if copy.get("type") == "actions":
            copy["elements"] = [_with_action_id(e, new_id) for e in copy.get("elements", [])]
        filled.append(copy)
    return filled


def _with_action_id(element: Mapping[str, Any], new_id: Callable[[], str]) -> JsonDict:
    copy = dict(element)
    if "action_id" not in copy:
        copy["action_id"] = new_id()
    return copy


def block_problems(blocks: Sequence[Any], *, limit: int) -> list[str]:
    """Why Slack would reject ``blocks`` (limits, unknown types, repeated ids); empty if fine."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return ["blocks must be a list of objects"]
    problems = [f"no more than {limit} items allowed"] if len(blocks) > limit else []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        block_id = block.get("block_id")
        if block_id is not None and block_id in seen:
            problems.append(f"block_id {block_id!r} is repeated [json-pointer:/blocks/{index}]")
        if block_id is not None:
            seen.add(block_id)
        problems.extend(f"{p} [json-pointer:/blocks/{index}]" for p in _block_problem(block))
    return problems


def _block_problem(block: JsonDict) -> list[str]:
    parsed = Block.parse(block)
    if parsed is None:
        return [f"unsupported type {block.get('type')!r}"]
    try:
        parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [str(exc)]
    action_ids = [loc.action_id for loc in iter_elements([block]) if loc.action_id]
    if len(action_ids) != len(set(action_ids)):
        return ["action_id values must be unique within a block"]
    return []
