"""Admins manage what can be requested from their Home tab; the next request offers it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import cli
from bot.policy_export import policy_yaml
from bot.policy_file import parse_policy
from bot.sandbox import slack_payloads as payloads
from bot.sandbox.render import render_view
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import ADA, JANE, OMAR, Stage
from handlers.ids import ActionId, BlockId
from handlers.views.catalog_values import (
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    position_value,
    toggle_value,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    approval_message,
    confirmed,
    dm_texts,
    fill_request,
    open_request_form,
)

JsonDict = dict[str, Any]
NEW_PROFILE = "Deal Desk"


@pytest.fixture
async def stage(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """The demo org plus a custom profile the policy file does not offer."""
    org = SimulatedOrg()
    org.seed_demo()
    org.add_profile(NEW_PROFILE, org.id_of("UserLicense", "Salesforce"))
    running = await open_stage(org=org)
    try:
        yield running
    finally:
        await running.close()


async def _home(stage: Stage, user_id: str, check: str = "") -> JsonDict:
    def ready() -> JsonDict | None:
        home = stage.slack.home(user_id)
        return home if home and check in render_view(home) else None

    return await stage.slack.wait_for(ready)


def _toggle_for(home: JsonDict, name: str) -> JsonDict:
    for block in home["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == ActionId.TOGGLE_REQUESTABLE and accessory[
            "value"
        ].endswith("|" + name):
            return dict(accessory)
    raise AssertionError(f"no toggle for {name}")


async def _home_with_toggle(stage: Stage, user_id: str, name: str) -> JsonDict:
    def ready() -> JsonDict | None:
        home = stage.slack.home(user_id)
        try:
            return home if home and _toggle_for(home, name) else None
        except AssertionError:
            return None

    return await stage.slack.wait_for(ready)


def _entry_text(home: JsonDict, name: str) -> str:
    for block in home["blocks"]:
        if block.get("type") == "section" and f"*{name}*" in block["text"]["text"]:
            return str(block["text"]["text"])
    raise AssertionError(f"{name} is not listed")


async def _profiles_offered(stage: Stage, user_id: str) -> list[str]:
    view_id = await open_request_form(stage, user_id)
    before = stage.slack.view(view_id)
    assert before is not None
    await stage.workspace.pick(user_id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    view = await stage.slack.wait_for(
        lambda: (v := stage.slack.view(view_id)) and v["hash"] != before["hash"] and v
    )
    block = next(b for b in view["blocks"] if b.get("block_id") == BlockId.PROFILE)
    await stage.workspace.close(user_id, view_id)
    return [o["value"] for o in block["element"]["options"]]


async def test_a_new_profile_is_requestable_in_two_clicks(stage: Stage) -> None:
    assert NEW_PROFILE not in await _profiles_offered(stage, JANE.id)
    # click one: open the Home tab; the org's new profile is listed, not offered
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, ADA.id, NEW_PROFILE)
    assert "Not offered" in _entry_text(home, NEW_PROFILE)
    toggle = _toggle_for(home, NEW_PROFILE)
    assert toggle["text"]["text"] == "Make requestable" and "confirm" not in toggle
    # click two: make it requestable
    reply = await stage.workspace.press(
        ADA.id, home["id"], ActionId.TOGGLE_REQUESTABLE, value=toggle["value"]
    )
    assert reply.status == 200
    home = await stage.slack.wait_for(
        lambda: (h := stage.slack.home(ADA.id)) and "Offered" in _entry_text(h, NEW_PROFILE) and h
    )
    assert _toggle_for(home, NEW_PROFILE)["text"]["text"] == "Stop offering"
    assert NEW_PROFILE in stage.runtime.deps.policy().default_application.profiles
    entries = [e async for e in stage.runtime.deps.repo.audit.entries()]
    offered = [e for e in entries if e.action == "catalog_offered"]
    assert len(offered) == 1 and offered[0].actor == ADA.id
    assert offered[0].detail == {"application": "sales", "kind": "profiles", "name": NEW_PROFILE}

    # the next request offers it, and the user is set up with it
    assert NEW_PROFILE in await _profiles_offered(stage, JANE.id)
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id, profile=NEW_PROFILE)
    await stage.workspace.submit(JANE.id, view_id)
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
    assert request.profile == NEW_PROFILE
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    user = stage.org.user_by_username(JANE.email)
    assert user is not None and user.profile_id == stage.org.id_of("Profile", NEW_PROFILE)


async def test_stop_offering_takes_it_out_of_the_next_request(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, ADA.id, "Support User")
    toggle = _toggle_for(home, "Support User")
    assert toggle["text"]["text"] == "Stop offering"
    assert toggle["confirm"]["title"]["text"] == "Stop offering it?"
    await stage.workspace.press(
        ADA.id, home["id"], ActionId.TOGGLE_REQUESTABLE, value=toggle["value"]
    )
    await stage.slack.wait_for(
        lambda: (h := stage.slack.home(ADA.id)) and "Not offered" in _entry_text(h, "Support User")
    )
    assert "Support User" not in await _profiles_offered(stage, JANE.id)
    actions = [e.action async for e in stage.runtime.deps.repo.audit.entries()]
    assert actions.count("catalog_withdrawn") == 1


async def test_the_admin_turns_to_other_kinds_and_pages(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, ADA.id, "What Sales Cloud offers")
    roles = position_value(CatalogPosition(application="sales", kind=CatalogKind.ROLES))
    await stage.workspace.pick(ADA.id, home["id"], ActionId.CATALOG_KIND, roles)
    home = await _home(stage, ADA.id, "Sales Manager")
    assert "Support Agent" in render_view(home) and "Deal Desk" not in render_view(home)
    # the place is kept when the tab is published again after a change
    await stage.workspace.open_home(ADA.id)
    await stage.settle()
    assert "Sales Manager" in render_view(await _home(stage, ADA.id))
    # permission sets named by their label in the policy are recognised as offered
    sets = position_value(CatalogPosition(application="sales", kind=CatalogKind.PERMISSION_SETS))
    await stage.workspace.pick(ADA.id, home["id"], ActionId.CATALOG_KIND, sets)
    home = await _home(stage, ADA.id, "Sales Operations")
    assert "Offered" in _entry_text(home, "Sales Operations")


async def test_only_admins_change_what_is_offered(stage: Stage) -> None:
    await stage.workspace.open_home(OMAR.id)
    home = await _home(stage, OMAR.id, "Salesforce access")
    assert "What Sales Cloud offers" not in render_view(home)
    forged = toggle_value(
        ToggleRequest(
            position=CatalogPosition(application="sales", kind=CatalogKind.PROFILES),
            name=NEW_PROFILE,
            requestable=True,
        )
    )
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    user = slack.user(OMAR.id)
    assert user is not None
    action = {"type": "button", "action_id": ActionId.TOGGLE_REQUESTABLE, "value": forged}
    payload = payloads.view_actions(team, user, home, action, trigger_id="1.2")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    reply = await stage.workspace.post_raw(body, content_type="application/x-www-form-urlencoded")
    assert reply.status == 200
    said = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, OMAR.id) if "Only the admins" in t]
    )
    assert said
    await stage.settle()
    assert stage.runtime.deps.overrides.snapshot == ()
    assert NEW_PROFILE not in stage.runtime.deps.policy().default_application.profiles


async def test_the_last_license_cannot_be_withdrawn(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, ADA.id, "What Sales Cloud offers")
    licenses = position_value(CatalogPosition(application="sales", kind=CatalogKind.LICENSES))
    await stage.workspace.pick(ADA.id, home["id"], ActionId.CATALOG_KIND, licenses)
    for name in ("Salesforce Platform", "Salesforce"):
        # The licenses page itself (a profile's line names its license too), with its toggle.
        home = await _home_with_toggle(stage, ADA.id, name)
        toggle = _toggle_for(home, name)
        await stage.workspace.press(
            ADA.id, home["id"], ActionId.TOGGLE_REQUESTABLE, value=toggle["value"]
        )
        await stage.settle()
    said = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, ADA.id) if "at least one license" in t]
    )
    assert said
    assert stage.runtime.deps.policy().default_application.licenses == ("Salesforce",)


async def test_policy_export_prints_the_effective_policy(
    stage: Stage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, ADA.id, NEW_PROFILE)
    toggle = _toggle_for(home, NEW_PROFILE)
    await stage.workspace.press(
        ADA.id, home["id"], ActionId.TOGGLE_REQUESTABLE, value=toggle["value"]
    )
    await stage.slack.wait_for(lambda: stage.runtime.deps.overrides.snapshot)
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(policy_yaml(stage.policy), encoding="utf-8")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy_file))
    monkeypatch.setenv("ACCESSBOT_DATABASE", stage.runtime.settings.database)
    monkeypatch.chdir(tmp_path)

    # the command runs its own event loop, so it runs beside this test's
    assert await asyncio.to_thread(cli.main, ["policy", "export"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Effective access policy")
    exported = parse_policy(printed, "export")
    assert exported == stage.runtime.deps.policy()
    assert NEW_PROFILE in exported.default_application.profiles
    assert NEW_PROFILE not in parse_policy(policy_file.read_text(), "file").applications[0].profiles
    # the file alone exports as itself when no database exists yet
    monkeypatch.setenv("ACCESSBOT_DATABASE", str(tmp_path / "none.sqlite3"))
    out = tmp_path / "exported.yml"
    assert await asyncio.to_thread(cli.main, ["policy", "export", "-o", str(out)]) == 0
    assert parse_policy(out.read_text(), "export") == stage.policy
    assert not (tmp_path / "none.sqlite3").exists()
