"""Block Kit turned into plain readable text, for the demo's transcript of what people see."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

NameLookup = Callable[[str], str | None]
JsonDict = Mapping[str, Any]

BLANK = "____"
RULE = "-" * 40
OPTIONS_SHOWN = 3

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_EMPHASIS = [
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"),
    re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"),
]


def clean_mrkdwn(text: str, names: NameLookup | None = None) -> str:
    """Slack mrkdwn as plain text: no emphasis marks, mentions as @name, links as label (url)."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + (label or (names(user_id) if names else None) or user_id)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            return label or "@" + special
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        return f"{label} ({target})" if label and label != target else target

    # Zero-width spaces are how the bot defuses mrkdwn in names; a reader never sees them.
    cleaned = _LINK.sub(link, text.replace("\u200b", ""))
    for pattern in _EMPHASIS:
        cleaned = pattern.sub(r"\1", cleaned)
    return html.unescape(cleaned)


def _text(obj: Any, names: NameLookup | None) -> str:
    """A text object (plain_text or mrkdwn) as plain text."""
    if not isinstance(obj, Mapping):
        return "" if obj is None else str(obj)
    raw = str(obj.get("text", ""))
    return clean_mrkdwn(raw, names) if obj.get("type") == "mrkdwn" else raw


def _options(element: JsonDict, names: NameLookup | None) -> str:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    if not options:
        return "search" if "external" in str(element.get("type")) else ""
    shown = " | ".join(_text(o.get("text"), names) for o in options[:OPTIONS_SHOWN])
    more = len(options) - OPTIONS_SHOWN
    return f"{shown} +{more} more" if more > 0 else shown


def _element(element: JsonDict, names: NameLookup | None) -> str:
    """An interactive element in a message or view outside input blocks."""
    kind = str(element.get("type", ""))
    if kind == "button":
        return f"[ {_text(element.get('text'), names)} ]"
    if kind in ("image",):
        return f"[image: {element.get('alt_text', '')}]"
    placeholder = _text(element.get("placeholder"), names) or "Select"
    if kind == "overflow":
        return f"[ ... ] ({_options(element, names)})"
    options = _options(element, names)
    return f"[ {placeholder} v ]" + (f" ({options})" if options else "")


def _chosen(entry: JsonDict | None, names: NameLookup | None) -> str:
    """What an input shows: the chosen option text(s), the typed text, or a blank."""
    if entry is None:
        return ""
    parts: list[str] = []
    for key, value in entry.items():
        if key == "type" or value in (None, [], ""):
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, Mapping):
                parts.append(_text(item.get("text"), names))
            elif key in ("selected_user", "selected_users"):
                parts.append("@" + ((names(str(item)) if names else None) or str(item)))
            else:
                parts.append(str(item))
    return ", ".join(parts)


def _input(
    block: JsonDict,
    state: JsonDict,
    errors: Mapping[str, str],
    names: NameLookup | None,
) -> list[str]:
    element = block.get("element") or {}
    block_id = str(block.get("block_id", ""))
    entry = state.get(block_id, {}).get(str(element.get("action_id", "")))
    label = _text(block.get("label"), names)
    optional = " (optional)" if block.get("optional") else ""
    shown = _chosen(entry, names)
    if not shown:
        options = _options(element, names)
        shown = BLANK + (f"  (options: {options})" if options else "")
    lines = [f"{label}{optional}: {shown}"]
    if block.get("hint"):
        lines.append(f"  {_text(block['hint'], names)}")
    if block_id in errors:
        lines.append(f"  ! {errors[block_id]}")
    return lines


def _rich_text(node: Any) -> str:
    if isinstance(node, Mapping):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "link":
            return str(node.get("text") or node.get("url", ""))
        if node.get("type") == "user":
            return "@" + str(node.get("user_id", ""))
        return "".join(_rich_text(child) for child in node.get("elements", []))
    return ""


def _field(obj: Any, names: NameLookup | None) -> str:
    lines = [line for line in _text(obj, names).splitlines() if line.strip()]
    # Fields are usually "*Label*\nvalue": read them as "Label: value".
    return ": ".join(lines) if len(lines) == 2 else " / ".join(lines)


def _block(
    block: JsonDict,
    state: JsonDict,
    errors: Mapping[str, str],
    names: NameLookup | None,
) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"# {_text(block.get('text'), names)}"]
    if kind == "divider":
        return [RULE]
    if kind == "context":
        parts = [
            _text(e, names) if e.get("type") != "image" else f"[{e.get('alt_text', 'image')}]"
            for e in block.get("elements", [])
        ]
        return [f"  ({' | '.join(p for p in parts if p)})"]
    if kind == "section":
        lines = _text(block.get("text"), names).splitlines() if block.get("text") else []
        lines += [f"  {_field(f, names)}" for f in block.get("fields", [])]
        if block.get("accessory"):
            lines.append(f"  {_element(block['accessory'], names)}")
        return lines
    if kind == "actions":
        return ["  ".join(_element(e, names) for e in block.get("elements", []))]
    if kind == "input":
        return _input(block, state, errors, names)
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "rich_text":
        return _rich_text(block).splitlines()
    return [f"[{kind}]"]


def _render(
    blocks: Sequence[JsonDict],
    state: JsonDict,
    errors: Mapping[str, str],
    names: NameLookup | None,
) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        lines.extend(_block(block, state, errors, names))
    return lines


def render_blocks(
    blocks: Sequence[JsonDict] | None, text: str = "", *, names: NameLookup | None = None
) -> str:
    """A message as plain text: its blocks, or its fallback ``text`` when it has none."""
    if not blocks:
        return clean_mrkdwn(text, names)
    return "\n".join(_render(blocks, {}, {}, names))


def render_view(
    view: JsonDict, *, names: NameLookup | None = None, errors: Mapping[str, str] | None = None
) -> str:
    """A modal or Home tab as plain text: title, blocks with their current values, buttons."""
    title = _text(view.get("title"), names) or ("Home" if view.get("type") == "home" else "")
    state = (view.get("state") or {}).get("values") or {}
    lines = [f"=== {title} ==="]
    lines.extend(_render(view.get("blocks", []), state, errors or {}, names))
    buttons = [f"[ {_text(view[k], names)} ]" for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines.append("  ".join(buttons))
    return "\n".join(lines)
