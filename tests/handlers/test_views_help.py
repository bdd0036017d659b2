"""The ``/salesforce help`` answer."""

from __future__ import annotations

import json

from handlers.views.help import build_help, build_unknown_command


def test_help_lists_every_subcommand() -> None:
    msg = build_help()
    listing = msg.blocks[0]["text"]["text"]
    for usage in (
        "/salesforce request`",
        "/salesforce request @person`",
        "/salesforce status`",
        "/salesforce revoke`",
        "/salesforce revoke @person`",
        "/salesforce pending`",
        "/salesforce help`",
    ):
        assert usage in listing
    assert msg.text.startswith("/salesforce commands: request")


def test_unknown_subcommand_is_named_safely_then_helped() -> None:
    msg = build_unknown_command("frobnicate <!channel> now")
    assert msg.blocks[0]["text"]["text"] == "I don't know `frobnicate`. Here is what I can do:"
    assert msg.blocks[1:] == build_help().blocks
    hostile = build_unknown_command("<!channel>")
    assert "<!channel>" not in json.dumps(hostile.blocks) + hostile.text
    assert build_unknown_command("   ").blocks[0]["text"]["text"] == "Here is what I can do:"
