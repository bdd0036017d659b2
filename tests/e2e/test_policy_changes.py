"""Policy edits take effect on the next request, without a restart."""

from __future__ import annotations

from bot.sandbox.stage import JANE, Stage, demo_policy
from handlers.ids import ActionId, BlockId
from tests.e2e.steps import open_request_form


def _profiles_offered(stage: Stage, view_id: str) -> set[str]:
    view = stage.slack.view(view_id)
    assert view is not None
    block = next(b for b in view["blocks"] if b.get("block_id") == BlockId.PROFILE)
    return {option["value"] for option in block["element"]["options"]}


async def test_a_profile_added_to_the_policy_is_offered_next_time(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    await stage.workspace.pick(JANE.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await stage.slack.wait_for(lambda: BlockId.PROFILE in str(stage.slack.view(view_id)))
    assert "System Administrator" not in _profiles_offered(stage, view_id)

    base = stage.policy.applications[0]
    stage.set_policy(demo_policy(profiles=(*base.profiles, "System Administrator")))
    view_id = await open_request_form(stage, JANE.id)
    old_hash = (stage.slack.view(view_id) or {}).get("hash")
    await stage.workspace.pick(JANE.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await stage.slack.wait_for(lambda: (stage.slack.view(view_id) or {}).get("hash") != old_hash)
    assert "System Administrator" in _profiles_offered(stage, view_id)


async def test_a_name_missing_from_the_org_never_breaks_a_request(stage: Stage) -> None:
    base = stage.policy.applications[0]
    stage.set_policy(demo_policy(profiles=(*base.profiles, "Ghost Profile"), roles=("NoSuchRole",)))
    view_id = await open_request_form(stage, JANE.id)
    old_hash = (stage.slack.view(view_id) or {}).get("hash")
    await stage.workspace.pick(JANE.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await stage.slack.wait_for(lambda: (stage.slack.view(view_id) or {}).get("hash") != old_hash)
    assert "Ghost Profile" not in _profiles_offered(stage, view_id)
    assert "Sales User" in _profiles_offered(stage, view_id)
