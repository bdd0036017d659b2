"""Owners decide on what they read: messages name roles and permission sets by their labels.

A request stores API names (``SalesRep``, ``Sales_Ops``); the request form shows labels, and so
must every message about the request. Admins also see the API name they act on in Setup.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.render import render_blocks, render_view
from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, lifecycle_policy, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, current, submit_request
from tests.e2e.test_access_integrity import active_grant, in_state, owner_revokes
from tests.e2e.test_escalation import escalation
from tests.e2e.test_revocation import until_state


def _shown(blocks: object) -> str:
    """The blocks' text as read (names are escaped with zero-width spaces around ``_``)."""
    return json.dumps(blocks, ensure_ascii=False).replace("\u200b", "")


async def test_the_approval_message_shows_labels(stage: Stage) -> None:
    request = await submit_request(
        stage, JANE.id, role="SalesRep", permission_sets=("Sales_Ops", "Reports_Export")
    )
    assert request.permission_sets == ("Sales_Ops", "Reports_Export")
    ask = await approval_message(stage, OMAR.id, request.id)
    shown = _shown(ask.blocks)
    assert "Sales Rep" in shown and "Sales Operations, Export Reports" in shown
    assert "Sales_Ops" not in shown and "SalesRep" not in shown
    # the decided message keeps the labels
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: "Approved" in _shown(current(stage, ask).blocks))
    decided = _shown(current(stage, ask).blocks)
    assert "Sales Operations" in decided and "Sales_Ops" not in decided


async def test_the_revocation_notice_names_the_removed_set_by_its_label(stage: Stage) -> None:
    await active_grant(
        stage, profile="Standard User", role=None, permission_sets=("Sales_Ops",), duration=None
    )
    short = await active_grant(
        stage, profile="Sales User", role="SalesRep", permission_sets=("Reports_Export",)
    )
    await owner_revokes(stage, OMAR.id, JANE.id, "The quarter is closed")
    await in_state(stage, short.id, State.REVOKED)
    told = await stage.slack.wait_for(
        lambda: [m for m in stage.slack.dms(JANE.id) if "removed" in m.text]
    )
    shown = _shown(told[-1].blocks)
    assert "Export Reports was removed; the rest of the access stays." in shown
    assert "Reports_Export" not in shown


async def test_the_admin_s_escalation_shows_labels_and_api_names(stage: Stage) -> None:
    request = await submit_request(
        stage,
        JANE.id,
        license="Salesforce Platform",
        profile="Standard Platform User",
        role="SalesRep",
        permission_sets=("Sales_Ops",),
    )
    platform = stage.org.id_of("Profile", "Standard Platform User")
    for name in ("kim", "lee"):
        stage.org.add_user(f"{name}@acme.com", platform, last_name=name)
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    await until_state(stage, request.id, State.NEEDS_ADMIN)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    shown = _shown(dm.blocks)
    assert "Sales Operations (Sales_Ops)" in shown and "Sales Rep (SalesRep)" in shown


async def test_status_and_the_home_tab_show_labels(stage: Stage) -> None:
    await active_grant(stage, role="SalesRep", permission_sets=("Sales_Ops",))
    before = len(stage.slack.responses(JANE.id))
    assert (await stage.workspace.slash(JANE.id, "status")).status == 200
    posts = await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id)[before:])
    status = render_blocks(posts[-1].blocks, posts[-1].text)
    assert "Sales Rep" in status and "Sales Operations" in status
    assert "Sales_Ops" not in status and "SalesRep" not in status
    await stage.workspace.open_home(JANE.id)
    home = await stage.slack.wait_for(
        lambda: (
            (h := stage.slack.home(JANE.id)) and "Your Salesforce access" in render_view(h) and h
        )
    )
    shown = render_view(home)
    assert "Sales Operations" in shown and "Sales_Ops" not in shown


async def test_the_ends_soon_dm_names_what_goes_by_its_label(open_stage: StageOpener) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=lifecycle_policy(expiry_warning_before="PT2H"))
    try:
        await active_grant(
            stage, profile="Standard User", role=None, permission_sets=("Sales_Ops",), duration=None
        )
        short = await active_grant(
            stage, profile="Sales User", permission_sets=("Reports_Export",), duration="P1D"
        )
        assert short.expires_at is not None
        clock.advance(short.expires_at - clock() - timedelta(hours=1))
        await tick(stage)
        notice = await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(JANE.id) if ":alarm_clock:" in m.text]
        )
        shown = _shown(notice[-1].blocks)
        assert "Export Reports is removed; the rest of the access stays." in shown
        assert "Reports_Export" not in shown
    finally:
        await stage.close()
