"""An org with 300 profiles and 500 roles named in 120 characters, end to end through Slack.

Past 100 options the selects become external selects answered by the options handler, and
every surface (request modal, approval message, Home tab, status) still validates and stays
within Slack's block limits; the simulated Slack refuses anything that would not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.sandbox.render import render_view
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.slack_views import MAX_VIEW_BLOCKS
from bot.sandbox.stage import ADA, JANE, OMAR, Stage, demo_policy
from handlers.ids import ActionId, BlockId
from handlers.views.catalog_values import CatalogKind, CatalogPosition, position_value
from storage.models import Kind, NewRequest, State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    approval_message,
    assert_submitting,
    confirmed,
    dm_texts,
    open_request_form,
)

JsonDict = dict[str, Any]
NAME_LENGTH = 120
PROFILES, ROLES, PLATFORM_PROFILES = 300, 500, 20


def long_name(prefix: str, index: int) -> str:
    """A 120-character name that Slack's 75-character option values cannot hold."""
    text = f"{prefix} {index:03d} Ünïcødé & <Sales> *EMEA* " + "Region Operations " * 8
    return text[: NAME_LENGTH - 1].rstrip().ljust(NAME_LENGTH - 1, "x") + "Z"


def role_developer_name(index: int) -> str:
    return (f"Region_{index:03d}_" + "Operations_" * 11)[:NAME_LENGTH]


PROFILE_NAMES = [long_name("Profile", i) for i in range(PROFILES)]
PLATFORM_NAMES = [long_name("Platform Profile", i) for i in range(PLATFORM_PROFILES)]
ROLE_NAMES = [long_name("Role", i) for i in range(ROLES)]


@pytest.fixture
async def stage(open_stage: StageOpener) -> AsyncIterator[Stage]:
    org = SimulatedOrg()
    org.seed_demo()
    sfdc = org.id_of("UserLicense", "Salesforce")
    platform = org.id_of("UserLicense", "Salesforce Platform")
    for name in PROFILE_NAMES:
        org.add_profile(name, sfdc)
    for name in PLATFORM_NAMES:
        org.add_profile(name, platform)
    for index, name in enumerate(ROLE_NAMES):
        org.add_role(name, role_developer_name(index))
    policy = demo_policy(
        profiles=("Standard User", *PROFILE_NAMES, *PLATFORM_NAMES),
        roles=tuple(role_developer_name(i) for i in range(ROLES)),
    )
    running = await open_stage(org=org, policy=policy)
    try:
        yield running
    finally:
        await running.close()


def test_the_names_are_as_long_as_the_issue_says() -> None:
    assert {len(n) for n in [*PROFILE_NAMES, *PLATFORM_NAMES, *ROLE_NAMES]} == {NAME_LENGTH}
    assert len(set(PROFILE_NAMES)) == PROFILES and len(set(ROLE_NAMES)) == ROLES


def _element(view: JsonDict, block_id: str) -> JsonDict:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return dict(block["element"])


async def _form_with_license(stage: Stage, user_id: str) -> str:
    view_id = await open_request_form(stage, user_id)
    before = stage.slack.view(view_id)
    assert before is not None
    await stage.workspace.pick(user_id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await stage.slack.wait_for(
        lambda: (v := stage.slack.view(view_id)) is not None and v["hash"] != before["hash"]
    )
    return view_id


async def test_external_selects_search_by_text_and_by_license(stage: Stage) -> None:
    view_id = await _form_with_license(stage, JANE.id)
    view = stage.slack.view(view_id)
    assert view is not None and len(view["blocks"]) <= MAX_VIEW_BLOCKS
    profile = _element(view, BlockId.PROFILE)
    role = _element(view, BlockId.ROLE)
    assert profile["type"] == role["type"] == "external_select"
    assert "options" not in profile and profile["min_query_length"] == 0

    # nothing typed: the first hundred, only profiles of the chosen license
    reply = await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_PROFILE, "")
    options = reply.json()["options"]
    assert len(options) == 100
    assert all("Platform" not in o["text"]["text"] for o in options)
    assert all(len(o["value"]) <= 75 and len(o["text"]["text"]) <= 75 for o in options)

    # typed text narrows the list, prefix matches first
    reply = await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_PROFILE, "profile 042")
    options = reply.json()["options"]
    assert [o["text"]["text"][:11] for o in options] == ["Profile 042"]
    reply = await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_ROLE, "ROLE 49")
    texts = [o["text"]["text"] for o in reply.json()["options"]]
    assert len(texts) == 10 and all(t.startswith("Role 49") for t in texts)
    nothing = await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_ROLE, "no such")
    assert nothing.json()["options"] == []

    # a platform profile's name never shows under the Salesforce license
    reply = await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_PROFILE, "platform")
    assert reply.json()["options"] == []


async def test_a_long_named_request_goes_through_end_to_end(stage: Stage) -> None:
    view_id = await _form_with_license(stage, JANE.id)
    await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_PROFILE, "profile 299")
    (picked,) = (
        await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_PROFILE, "profile 299")
    ).json()["options"]
    await stage.workspace.choose(JANE.id, view_id, ActionId.REQUEST_PROFILE, picked["value"])
    (role,) = (
        await stage.workspace.suggest(JANE.id, view_id, ActionId.REQUEST_ROLE, "role 123")
    ).json()["options"]
    await stage.workspace.choose(JANE.id, view_id, ActionId.REQUEST_ROLE, role["value"])
    await stage.workspace.type(JANE.id, view_id, ActionId.REQUEST_REASON, "Regional rollout")
    reply = await stage.workspace.submit(JANE.id, view_id)
    assert_submitting(reply.status, reply.json_or_none())
    await confirmed(stage, view_id)

    (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
    assert request.profile == PROFILE_NAMES[299]
    assert request.role == role_developer_name(123)
    message = await approval_message(stage, OMAR.id, request.id)
    assert len(message.blocks) <= 50 and "Profile 299" in json.dumps(message.blocks)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    user = stage.org.user_by_username(JANE.email)
    assert user is not None
    assert user.profile_id == stage.org.id_of("Profile", PROFILE_NAMES[299])
    assert user.role_id == stage.org.id_of("UserRole", ROLE_NAMES[123])


async def test_the_admins_home_pages_through_hundreds_of_records(stage: Stage) -> None:
    await stage.workspace.open_home(ADA.id)
    home = await stage.slack.wait_for(lambda: stage.slack.home(ADA.id))
    text = render_view(home)
    assert len(home["blocks"]) <= MAX_VIEW_BLOCKS
    catalog = await stage.runtime.deps.catalog.current()
    total = len(catalog.profiles)
    assert total >= PROFILES + PLATFORM_PROFILES
    assert f"Page 1 of {-(-total // 20)} · {total} profiles" in text

    await stage.workspace.press(ADA.id, home["id"], ActionId.CATALOG_NEXT)
    home = await stage.slack.wait_for(
        lambda: (h := stage.slack.home(ADA.id)) and "Page 2 of" in render_view(h) and h
    )
    roles = position_value(CatalogPosition(application="sales", kind=CatalogKind.ROLES))
    await stage.workspace.pick(ADA.id, home["id"], ActionId.CATALOG_KIND, roles)
    home = await stage.slack.wait_for(
        lambda: (h := stage.slack.home(ADA.id)) and "roles," in render_view(h) and h
    )
    assert f"Page 1 of {-(-len(catalog.roles) // 20)}" in render_view(home)
    assert len(home["blocks"]) <= MAX_VIEW_BLOCKS


async def test_status_and_home_stay_within_block_limits_with_many_requests(stage: Stage) -> None:
    repo = stage.runtime.deps.repo
    for index in range(70):
        await repo.create(
            NewRequest(
                kind=Kind.GRANT,
                application="sales",
                state=State.ACTIVE if index % 2 else State.PENDING_APPROVAL,
                requester_id=JANE.id,
                subject_id=JANE.id,
                license="Salesforce",
                profile=PROFILE_NAMES[index],
                role=role_developer_name(index),
                permission_sets=("Sales_Ops", "Reports_Export"),
                duration=timedelta(days=30),
                reason="x" * 500,
            ),
            actor=JANE.id,
        )
    reply = await stage.workspace.slash(JANE.id, "status")
    assert reply.status == 200
    (post,) = await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id))
    assert 0 < len(post.blocks) <= 50 and "more" in json.dumps(post.blocks)
    await stage.workspace.slash(OMAR.id, "pending")
    (pending,) = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
    assert 0 < len(pending.blocks) <= 50
    for person in (JANE.id, OMAR.id, ADA.id):
        await stage.workspace.open_home(person)
        home = await stage.slack.wait_for(lambda p=person: stage.slack.home(p))
        assert 0 < len(home["blocks"]) <= MAX_VIEW_BLOCKS
    assert all(c.ok for c in stage.slack.calls("views.publish"))
