"""Block Kit helpers: finding elements, state entries as Slack sends them, block checks."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.slack_blocks import (
    assign_ids,
    block_problems,
    choice_of,
    find_element,
    initial_entry,
    state_entry,
)


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def request_row(block_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {"type": "button", "action_id": "approve", "value": block_id, "text": plain("OK")},
            {"type": "button", "action_id": "deny", "value": block_id, "text": plain("No")},
        ],
    }


SELECT = {
    "type": "static_select",
    "action_id": "license",
    "options": [{"text": plain("CRM"), "value": "crm"}],
    "option_groups": [
        {"label": plain("More"), "options": [{"text": plain("API"), "value": "api"}]}
    ],
}


def test_find_element_by_value_or_block() -> None:
    blocks = [request_row("req-1"), request_row("req-2")]
    assert find_element(blocks, "approve").block_id == "req-1"
    assert find_element(blocks, "approve", value="req-2").block_id == "req-2"
    assert find_element(blocks, "deny", block_id="req-2").element["value"] == "req-2"
    with pytest.raises(LookupError):
        find_element(blocks, "missing")


def test_state_entries_match_slack_shapes() -> None:
    assert state_entry(SELECT, "api") == {
        "type": "static_select",
        "selected_option": {"text": plain("API"), "value": "api"},
    }
    assert state_entry(SELECT, None) == {"type": "static_select", "selected_option": None}
    multi = {**SELECT, "type": "multi_static_select"}
    assert state_entry(multi, None) == {"type": "multi_static_select", "selected_options": []}
    assert choice_of(state_entry(multi, ["crm", "api"])) == ["crm", "api"]
    users = {"type": "multi_users_select", "action_id": "u"}
    assert state_entry(users, ["U1"]) == {"type": "multi_users_select", "selected_users": ["U1"]}
    with pytest.raises(LookupError):
        state_entry(SELECT, "not-offered")


def test_initial_entry_uses_initial_values() -> None:
    element = {"type": "plain_text_input", "action_id": "r", "initial_value": "hi"}
    assert initial_entry(element) == {"type": "plain_text_input", "value": "hi"}
    assert initial_entry({"type": "button", "action_id": "b"}) is None


def test_assign_ids_fills_missing_ids_only() -> None:
    source = iter(["b1", "a1", "b2"])
    filled = assign_ids(
        [
            {"type": "actions", "elements": [{"type": "button", "text": plain("x")}]},
            {"type": "divider", "block_id": "keep"},
            {"type": "divider"},
        ],
        lambda: next(source),
    )
    assert [b["block_id"] for b in filled] == ["b1", "keep", "b2"]
    assert filled[0]["elements"][0]["action_id"] == "a1"


def test_block_problems() -> None:
    assert block_problems([{"type": "divider"}], limit=50) == []
    assert block_problems([{"type": "divider"}] * 51, limit=50)[0].startswith("no more than 50")
    repeated = [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}]
    assert "repeated" in block_problems(repeated, limit=50)[0]
    assert (
        "unique"
        in block_problems(
            [
                request_row("r")
                | {
                    "elements": [
                        {"type": "button", "action_id": "a", "text": plain("1")},
                        {"type": "button", "action_id": "a", "text": plain("2")},
                    ]
                }
            ],
            limit=50,
        )[0]
    )
    assert "unsupported" in block_problems([{"type": "nonsense"}], limit=50)[0]
    assert block_problems("not a list", limit=50) == ["blocks must be a list of objects"]
