"""The Slack app manifest admins paste: valid against Slack's schema and complete for the bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "app-manifest.yml"
SCHEMA = REPO.parent / "shared" / "slack" / "manifest.schema.json"
URL = "https://YOUR-HOST/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_matches_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"Slack's manifest schema is not checked out at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_manifest_has_the_scopes_events_and_command_the_bot_uses(
    manifest: dict[str, Any],
) -> None:
    assert manifest["display_information"]["name"] == "Salesforce Access"
    assert manifest["features"]["bot_user"]["display_name"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "im:write",
        "users:read",
        "users:read.email",
        "usergroups:read",
    }
    settings = manifest["settings"]
    events = settings["event_subscriptions"]
    assert set(events["bot_events"]) == {"app_home_opened", "user_change"}
    assert events["request_url"] == URL
    interactivity = settings["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == interactivity["message_menu_options_url"] == URL
    (command,) = manifest["features"]["slash_commands"]
    assert (command["command"], command["url"], command["should_escape"]) == (
        "/salesforce",
        URL,
        False,
    )
    for sub in ("request", "status", "revoke", "pending", "help"):
        assert sub in command["usage_hint"]
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True and home["messages_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_switching_to_socket_mode_is_explained_in_a_comment() -> None:
    comments = [line for line in MANIFEST.read_text(encoding="utf-8").splitlines() if "#" in line]
    joined = "\n".join(comments)
    assert "SLACK_APP_TOKEN" in joined and "connections:write" in joined
