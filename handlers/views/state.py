"""Reading ``view.state.values`` as Slack sends it, without trusting its shape.

Slack lists every input of the view, unset ones as ``selected_option: null``,
``selected_options: []`` or ``value: null``. These readers never raise: a missing block,
a wrong type or an oversized value reads as "unset".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Our option values are at most 75 characters; text inputs are capped by the caller.
_VALUE_MAX = 150
_TEXT_MAX = 12000


def _element(state_values: object, block_id: str, action_id: str) -> Mapping[str, Any]:
    if not isinstance(state_values, Mapping):
        return {}
    block = state_values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    element = block.get(action_id)
    return element if isinstance(element, Mapping) else {}


def _option_value(option: object) -> str | None:
    if not isinstance(option, Mapping):
        return None
    value = option.get("value")
    if isinstance(value, str) and 0 < len(value) <= _VALUE_MAX:
        return value
    return None


def selected_value(state_values: object, block_id: str, action_id: str) -> str | None:
    """The value of a single select's chosen option."""
    return _option_value(_element(state_values, block_id, action_id).get("selected_option"))


def selected_values(state_values: object, block_id: str, action_id: str) -> tuple[str, ...]:
    """The values of a multi select's chosen options, in order, without repeats."""
    options = _element(state_values, block_id, action_id).get("selected_options")
    if not isinstance(options, list):
        return ()
    values = (_option_value(option) for option in options)
    return tuple(dict.fromkeys(v for v in values if v is not None))


def text_value(state_values: object, block_id: str, action_id: str) -> str:
    """The text typed in a plain_text_input ("" when unset)."""
    value = _element(state_values, block_id, action_id).get("value")
    return value[:_TEXT_MAX] if isinstance(value, str) else ""
