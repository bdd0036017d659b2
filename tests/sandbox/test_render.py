"""Block Kit rendered as plain text for the demo transcript."""

from __future__ import annotations

from typing import Any

from bot.sandbox.render import clean_mrkdwn, render_blocks, render_view

NAMES = {"U0ALICE": "Alice Martin"}.get


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def options(*labels: str) -> list[dict[str, Any]]:
    return [{"text": plain(label), "value": label.lower()} for label in labels]


def test_mrkdwn_is_cleaned() -> None:
    text = "*<@U0ALICE>* asks for _Sales Cloud_ ~old~ &amp; <https://x.example/r/1|the request>"
    assert clean_mrkdwn(text, NAMES) == (
        "@Alice Martin asks for Sales Cloud old & the request (https://x.example/r/1)"
    )


def test_mentions_without_a_known_name_keep_the_id_and_labels_win() -> None:
    assert clean_mrkdwn("<@U0BOB> <@U0X|xavier> <#C1|general> <!here>", NAMES) == (
        "@U0BOB @xavier #general @here"
    )
    assert clean_mrkdwn("<mailto:a@example.com|a@example.com> <https://x.example>") == (
        "a@example.com https://x.example"
    )


def test_emphasis_inside_words_is_left_alone() -> None:
    assert clean_mrkdwn("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"


def test_message_blocks() -> None:
    blocks = [
        {"type": "header", "text": plain("Access request")},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Alice* asks for access"},
            "fields": [
                {"type": "mrkdwn", "text": "*Profile*\nStandard User"},
                {"type": "mrkdwn", "text": "*Duration*\n30 days"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Requested by <@U0ALICE>"}]},
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": plain("Approve"), "action_id": "a", "style": "primary"},
                {"type": "button", "text": plain("Deny"), "action_id": "d"},
                {
                    "type": "static_select",
                    "action_id": "s",
                    "placeholder": plain("Reassign"),
                    "options": options("A", "B", "C", "D", "E"),
                },
            ],
        },
    ]
    assert render_blocks(blocks, "fallback", names=NAMES).splitlines() == [
        "# Access request",
        "Alice asks for access",
        "  Profile: Standard User",
        "  Duration: 30 days",
        "  (Requested by @Alice Martin)",
        "-" * 40,
        "[ Approve ]  [ Deny ]  [ Reassign v ] (A | B | C +2 more)",
    ]


def test_message_without_blocks_shows_its_text() -> None:
    assert render_blocks([], "Hi *there* <@U0ALICE>", names=NAMES) == "Hi there @Alice Martin"


def test_section_accessory_and_unknown_block() -> None:
    blocks = [
        {
            "type": "section",
            "text": plain("Alice"),
            "accessory": {"type": "button", "text": plain("Revoke"), "action_id": "r"},
        },
        {"type": "video", "title": plain("x")},
    ]
    assert render_blocks(blocks).splitlines() == ["Alice", "  [ Revoke ]", "[video]"]


def view_with_state() -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Salesforce access"),
        "submit": plain("Request"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "license",
                "label": plain("License"),
                "element": {
                    "type": "static_select",
                    "action_id": "license",
                    "options": options("CRM", "Platform"),
                },
            },
            {
                "type": "input",
                "block_id": "sets",
                "optional": True,
                "label": plain("Permission sets"),
                "element": {
                    "type": "multi_static_select",
                    "action_id": "sets",
                    "options": options("Reports", "Export", "API", "Flows"),
                },
            },
            {
                "type": "input",
                "block_id": "reason",
                "label": plain("Reason"),
                "hint": plain("Why you need it"),
                "element": {"type": "plain_text_input", "action_id": "reason"},
            },
            {
                "type": "input",
                "block_id": "manager",
                "label": plain("Manager"),
                "element": {"type": "users_select", "action_id": "manager"},
            },
        ],
        "state": {
            "values": {
                "license": {
                    "license": {
                        "type": "static_select",
                        "selected_option": {"text": plain("CRM"), "value": "crm"},
                    }
                },
                "sets": {"sets": {"type": "multi_static_select", "selected_options": []}},
                "reason": {"reason": {"type": "plain_text_input", "value": None}},
                "manager": {"manager": {"type": "users_select", "selected_user": "U0ALICE"}},
            }
        },
    }


def test_modal_with_values_blanks_and_errors() -> None:
    text = render_view(view_with_state(), names=NAMES, errors={"reason": "Say a bit more"})
    assert text.splitlines() == [
        "=== Salesforce access ===",
        "License: CRM",
        "Permission sets (optional): ____  (options: Reports | Export | API +1 more)",
        "Reason: ____",
        "  Why you need it",
        "  ! Say a bit more",
        "Manager: @Alice Martin",
        "[ Cancel ]  [ Request ]",
    ]


def test_home_tab_title_and_output_is_deterministic() -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": plain("Nothing pending")}]}
    assert render_view(home) == "=== Home ===\nNothing pending"
    assert render_view(view_with_state()) == render_view(view_with_state())
