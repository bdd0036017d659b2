"""Policy edits take effect on the next request, without a restart."""

from __future__ import annotations

from bot.sandbox.stage import JANE, Stage, demo_policy
from handlers.ids import ActionId, BlockId
from tests.e2e.steps import JsonDict, open_request_form


async def _profiles_after_license(stage: Stage, view_id: str) -> set[str]:
    """The profiles offered once picking the license has put the Profile menu in the form."""
    await stage.workspace.pick(JANE.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")

    def profile_menu() -> JsonDict | None:
        view = stage.slack.view(view_id) or {"blocks": []}
        blocks = [b for b in view["blocks"] if b.get("block_id") == BlockId.PROFILE]
        return blocks[0] if blocks else None

    block = await stage.slack.wait_for(profile_menu)
    return {option["value"] for option in block["element"]["options"]}


async def test_a_profile_added_to_the_policy_is_offered_next_time(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    assert "System Administrator" not in await _profiles_after_license(stage, view_id)

    base = stage.policy.applications[0]
    stage.set_policy(demo_policy(profiles=(*base.profiles, "System Administrator")))
    view_id = await open_request_form(stage, JANE.id)
    assert "System Administrator" in await _profiles_after_license(stage, view_id)


async def test_a_name_missing_from_the_org_never_breaks_a_request(stage: Stage) -> None:
    base = stage.policy.applications[0]
    stage.set_policy(demo_policy(profiles=(*base.profiles, "Ghost Profile"), roles=("NoSuchRole",)))
    view_id = await open_request_form(stage, JANE.id)
    offered = await _profiles_after_license(stage, view_id)
    assert "Ghost Profile" not in offered
    assert "Sales User" in offered
