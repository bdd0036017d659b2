"""The Home tab cannot offer the keys to the kingdom: the bot's own access, org-wide powers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.render import render_view
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import ADA, Stage, demo_policy
from handlers.ids import ActionId
from handlers.views.catalog_values import (
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    position_value,
    toggle_value,
)
from salesforce.models import Power
from tests.e2e.stages import StageOpener
from tests.e2e.steps import dm_texts

JsonDict = dict[str, Any]
SETS = CatalogPosition(application="sales", kind=CatalogKind.PERMISSION_SETS)


@pytest.fixture
async def stage(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """The demo org plus sets with org-wide powers; the policy file lists one of them."""
    org = SimulatedOrg()
    org.seed_demo()
    org.add_permission_set("Apex_Dev", "Apex Developer", permissions=(Power.AUTHOR_APEX,))
    org.add_permission_set("See_All", "See Everything", permissions=(Power.VIEW_ALL_DATA,))
    org.add_permission_set(
        "Audit_Reader", "Audit Reader", permissions=(Power.VIEW_ALL_DATA, Power.MANAGE_USERS)
    )
    org.add_profile("Deal Desk", org.id_of("UserLicense", "Salesforce"))
    policy = demo_policy(
        permission_sets=("Sales_Ops", "Reports_Export", "Knowledge_Author", "Audit_Reader")
    )
    running = await open_stage(org=org, policy=policy)
    try:
        yield running
    finally:
        await running.close()


async def _home(stage: Stage, check: str) -> JsonDict:
    def ready() -> JsonDict | None:
        home = stage.slack.home(ADA.id)
        return home if home and check in render_view(home) else None

    return await stage.slack.wait_for(ready)


def _accessory(home: JsonDict, name: str) -> JsonDict:
    for block in home["blocks"]:
        accessory = block.get("accessory") or {}
        value = str(accessory.get("value", ""))
        if accessory.get("action_id") == ActionId.TOGGLE_REQUESTABLE and value.endswith("|" + name):
            return dict(accessory)
    raise AssertionError(f"no toggle for {name}")


def _toggle_for(home: JsonDict, name: str) -> str:
    return str(_accessory(home, name)["value"])


def _offers(home: JsonDict, name: str) -> bool:
    """The button next to ``name`` offers it (it is not offered now)."""
    return bool(_accessory(home, name)["text"]["text"] == "Make requestable")


async def _press(stage: Stage, home: JsonDict, name: str) -> None:
    reply = await stage.workspace.press(
        ADA.id, home["id"], ActionId.TOGGLE_REQUESTABLE, value=_toggle_for(home, name)
    )
    assert reply.status == 200


async def _told(stage: Stage, *words: str) -> str:
    said: list[str] = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, ADA.id) if all(w in t for w in words)]
    )
    return said[-1]


async def _refusals(stage: Stage) -> list[JsonDict]:
    entries = [e async for e in stage.runtime.deps.repo.audit.entries()]
    return [{"actor": e.actor, **e.detail} for e in entries if e.action == "catalog_refused"]


async def _show_sets(stage: Stage) -> JsonDict:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, "What Sales Cloud offers")
    await stage.workspace.pick(ADA.id, home["id"], ActionId.CATALOG_KIND, position_value(SETS))
    return await _home(stage, "Apex Developer")


async def test_a_profile_that_hands_over_the_org_is_refused(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, "System Administrator")
    await _press(stage, home, "System Administrator")
    said = await _told(stage, "System Administrator", "can't be made requestable")
    assert "Modify All Data, View All Data, Manage Users and Author Apex" in said
    assert "policy file" in said
    assert await _refusals(stage) == [
        {
            "actor": ADA.id,
            "application": "sales",
            "kind": "profiles",
            "name": "System Administrator",
            "reasons": [p.value for p in Power],
        }
    ]
    profiles = stage.runtime.deps.policy().default_application.profiles
    assert "System Administrator" not in profiles
    assert stage.runtime.deps.overrides.snapshot == ()
    # a profile without such powers is offered as before
    await _press(stage, home, "Deal Desk")
    await stage.slack.wait_for(
        lambda: "Deal Desk" in stage.runtime.deps.policy().default_application.profiles
    )


async def test_the_bot_s_own_profile_is_refused(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    name = "Minimum Access - API Only Integrations"
    home = await _home(stage, name)
    await _press(stage, home, name)
    said = await _told(stage, name, "the bot signs in to Salesforce with it")
    assert "can't be made requestable" in said
    (refusal,) = await _refusals(stage)
    assert refusal["name"] == name and refusal["reasons"] == ["integration_user"]
    assert name not in stage.runtime.deps.policy().default_application.profiles


async def test_sets_with_view_all_data_or_author_apex_are_refused(stage: Stage) -> None:
    home = await _show_sets(stage)
    await _press(stage, home, "Apex_Dev")
    assert "Author Apex" in await _told(stage, "Apex Developer", "can't be made requestable")
    await _press(stage, home, "See_All")
    assert "View All Data" in await _told(stage, "See Everything", "can't be made requestable")
    assert [r["name"] for r in await _refusals(stage)] == ["Apex_Dev", "See_All"]
    offered = stage.runtime.deps.policy().default_application.permission_sets
    assert "Apex_Dev" not in offered and "See_All" not in offered


async def test_what_the_policy_file_lists_stays_the_file_s_choice(stage: Stage) -> None:
    home = await _show_sets(stage)
    # the file offers Audit_Reader (View All Data, Manage Users): stop, then offer it again
    await _press(stage, home, "Audit_Reader")
    await stage.slack.wait_for(
        lambda: (
            "Audit_Reader" not in stage.runtime.deps.policy().default_application.permission_sets
        )
    )
    home = await stage.slack.wait_for(
        lambda: (h := stage.slack.home(ADA.id)) and _offers(h, "Audit_Reader") and h
    )
    await _press(stage, home, "Audit_Reader")
    await stage.slack.wait_for(
        lambda: "Audit_Reader" in stage.runtime.deps.policy().default_application.permission_sets
    )
    assert await _refusals(stage) == []


async def test_a_forged_click_for_the_bot_s_own_set_is_refused(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await _home(stage, "What Sales Cloud offers")
    # not on the page shown: someone posts the action themselves
    forged = toggle_value(
        ToggleRequest(position=SETS, name="AccessBot_Integration", requestable=True)
    )
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    user = slack.user(ADA.id)
    assert user is not None
    action = {"type": "button", "action_id": ActionId.TOGGLE_REQUESTABLE, "value": forged}
    payload = payloads.view_actions(team, user, home, action, trigger_id="1.2")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    reply = await stage.workspace.post_raw(body, content_type="application/x-www-form-urlencoded")
    assert reply.status == 200
    said = await _told(stage, "AccessBot Integration", "the bot signs in to Salesforce with it")
    assert "can't be made requestable" in said
    (refusal,) = await _refusals(stage)
    assert refusal["name"] == "AccessBot_Integration"
    assert (
        "AccessBot_Integration"
        not in stage.runtime.deps.policy().default_application.permission_sets
    )
