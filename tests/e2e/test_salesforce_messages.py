"""Salesforce breaks lines in its error texts with HTML; admins read lines, not `&lt;br&gt;`."""

from __future__ import annotations

from bot.sandbox.sf_rules import DUPLICATE_USERNAME_MESSAGE
from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.steps import approval_message, submit_request
from tests.e2e.test_escalation import escalation
from tests.e2e.test_revocation import active_grant, revocation_of, until_state

TAGS = ("&lt;br", "&lt;BR", "<br", "<BR")


def _texts(blocks: list[dict[str, object]]) -> list[str]:
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return found


async def _needs_admin(stage: Stage) -> list[str]:
    request = await submit_request(stage, JANE.id)
    await stage.workspace.click(
        OMAR.id, await approval_message(stage, OMAR.id, request.id), ActionId.APPROVE
    )
    await until_state(stage, request.id, State.NEEDS_ADMIN)
    dm = await stage.slack.wait_for(lambda: escalation(stage, request.id))
    return _texts(dm.blocks)


async def test_a_taken_username_reads_as_two_lines(stage: Stage) -> None:
    assert "<br>" in DUPLICATE_USERNAME_MESSAGE  # Salesforce's own body for DUPLICATE_USERNAME
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    texts = await _needs_admin(stage)
    said = next(t for t in texts if t.startswith("Salesforce said"))
    assert "Duplicate Username.\nThe username already exists" in said
    assert not any(tag in t for t in texts for tag in TAGS)


async def test_a_validation_rule_message_keeps_its_lines(stage: Stage) -> None:
    stage.org.add_validation_rule(
        "Cost_Center__c",
        "Cost center is required.<BR/>Ask Finance for the code.<br />Then retry.",
    )
    texts = await _needs_admin(stage)
    said = next(t for t in texts if t.startswith("Salesforce said"))
    assert "Cost center is required.\nAsk Finance for the code.\nThen retry." in said
    assert any("Cost center is required. Ask Finance for the code." in t for t in texts)
    assert not any(tag in t for t in texts for tag in TAGS)


async def test_an_unknown_deactivation_blocker_keeps_its_lines(stage: Stage) -> None:
    grant = await active_grant(stage, JANE.id)
    stage.org.block_deactivation(
        grant.sf_user_id or "",
        "Cannot deactivate this user.<br>They run a scheduled flow: Nightly_Sync.",
    )
    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.BLOCKED)
    dm = await stage.slack.wait_for(lambda: escalation(stage, revocation.id))
    texts = _texts(dm.blocks)
    assert any("Cannot deactivate this user.\nThey run a scheduled flow" in t for t in texts)
    assert not any(tag in t for t in texts for tag in TAGS)
