"""A transfer the policy runs by itself (``offboarding.transfer_to``), over signed HTTP: the
leaver's work goes to their Salesforce Manager (or a named member) before the deactivation,
and the admins get the summary."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.sandbox.stage import ADA, JANE, OMAR, Stage, demo_policy
from handlers.policy import Offboarding
from storage.models import State
from tests.e2e.test_revocation import active_grant, dms_saying, revocation_of, until_state
from tests.e2e.test_transfer import _omar_in_salesforce


async def test_the_policy_hands_the_work_to_the_manager_then_deactivates(stage: Stage) -> None:
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    org = stage.org
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.admin_update("User", uid, ManagerId=maria)
    org.add_records("Account", uid, 300)
    org.add_records("Opportunity", uid, 40)
    org.add_pending_approval(uid, org.add_records("Opportunity", maria, 1)[0])

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert revocation.state is State.DONE
    assert org.owned_by("Account", maria) == 300
    assert org.owned_by("Opportunity", maria) == 41
    user = org.user(uid)
    assert user is not None and not user.is_active
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "work handed over"))
    shown = json.dumps(summary[0].blocks)
    assert "by the policy" in shown and "300 Accounts, 40 open Opportunities" in shown
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    moved = [e for e in entries if e.action == "transfer_moved"]
    assert {e.detail["object"] for e in moved} == {
        "Account",
        "Opportunity",
        "ProcessInstanceWorkitem",
    }
    assert all(e.actor == "policy" and e.detail["to"] == maria for e in moved)


async def test_a_named_member_takes_the_work_and_no_manager_means_no_transfer(
    stage: Stage,
) -> None:
    omar = _omar_in_salesforce(stage)
    stage.set_policy(demo_policy(offboarding={"transfer_to": OMAR.id}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    stage.org.add_records("Account", uid, 12)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert stage.org.owned_by("Account", omar) == 12


async def test_without_a_manager_the_user_is_deactivated_and_the_skip_is_audited(
    stage: Stage,
) -> None:
    stage.set_policy(demo_policy(offboarding={"transfer_to": "manager"}))
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    stage.org.add_records("Account", uid, 5)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.DONE)

    assert stage.org.owned_by("Account", uid) == 5
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    skipped = [e.detail for e in entries if e.action == "transfer_skipped"]
    assert skipped == [{"to": "manager", "why": "they have no Manager in Salesforce"}]


@pytest.mark.parametrize("wrong", ["boss", "u0omar", "#general", ""])
def test_the_policy_names_a_wrong_transfer_target(wrong: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Offboarding(transfer_to=wrong)
    assert f"transfer_to is {wrong!r}" in str(refused.value)
