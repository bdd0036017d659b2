"""The checks Slack's client makes before it sends a view submission at all."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_blocks import choice_of


def _label(block: dict[str, Any]) -> str:
    label = block.get("label") or {}
    return str(label.get("text") or block.get("block_id") or "an input")


def missing_inputs(view: dict[str, Any]) -> list[str]:
    """Why Slack would refuse to submit ``view``: empty required inputs, text of the wrong size."""
    problems: list[str] = []
    values = view.get("state", {}).get("values", {})
    for block in view.get("blocks", []):
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        entry = values.get(block.get("block_id"), {}).get(element.get("action_id"), {})
        choice = choice_of(entry) if entry else None
        if not choice:
            if not block.get("optional"):
                problems.append(f"{_label(block)} is required")
            continue
        if isinstance(choice, str) and element.get("type") == "plain_text_input":
            low, high = element.get("min_length"), element.get("max_length")
            if low is not None and len(choice) < int(low):
                problems.append(f"{_label(block)} needs at least {low} characters")
            if high is not None and len(choice) > int(high):
                problems.append(f"{_label(block)} takes at most {high} characters")
    return problems
