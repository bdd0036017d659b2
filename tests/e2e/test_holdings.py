"""What a leaving user holds, shown to the admins over signed HTTP: in the DM about a blocked
deactivation (with the Setup page of the blocker) and in the offboarding summary."""

from __future__ import annotations

import json

from bot.sandbox.stage import ADA, JANE, Stage, demo_policy
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.test_escalation import BLOCKER, buttons, escalation
from tests.e2e.test_revocation import active_grant, dms_saying, revocation_of, until_state


def give_work(stage: Stage, user_id: str) -> None:
    """300 Accounts, 40 open Opportunities (and closed ones), an approval, two reports."""
    org = stage.org
    org.add_records("Account", user_id, 300)
    org.add_records("Opportunity", user_id, 40)
    org.add_records("Opportunity", user_id, 25, IsClosed=True, IsWon=True)
    maria = org.id_of("User", "maria.garcia@acme.com")
    chris = org.id_of("User", "chris.wu@acme.com")
    org.add_pending_approval(user_id, org.add_records("Opportunity", maria, 1)[0])
    org.admin_update("User", maria, ManagerId=user_id)
    org.admin_update("User", chris, ManagerId=user_id)
    org.add_queue("Support Queue", user_id)


async def test_the_blocked_deactivation_dm_shows_what_they_hold_and_the_setup_page(
    stage: Stage,
) -> None:
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    give_work(stage, uid)
    stage.org.block_deactivation(uid, BLOCKER)

    await stage.workspace.slash(JANE.id, "revoke I changed teams")
    revocation = await until_state(stage, (await revocation_of(stage, grant)).id, State.BLOCKED)
    dm = await stage.slack.wait_for(lambda: escalation(stage, revocation.id))

    shown = json.dumps(dm.blocks)
    assert (
        "Owns 300 Accounts, 40 open Opportunities; approver on 1 pending approval; "
        "manager of 2 users; member of 1 queue." in shown
    )
    setup = "Setup &gt; Process Automation &gt; Process Automation Settings &gt; Default Workflow"
    assert setup in shown
    # Only Setup clears this blocker: the DM explains it and offers no transfer.
    assert ActionId.TRANSFER_TO not in buttons(dm)
    assert ActionId.RETRY_DEACTIVATION in buttons(dm)
    entries = await stage.runtime.deps.repo.audit.for_request(revocation.id)
    blocked = [e for e in entries if e.action == "deactivation_blocked"]
    assert blocked and blocked[-1].detail["blocker"] == "default_workflow_user"


async def test_the_offboarding_summary_counts_the_policys_objects_custom_ones_too(
    stage: Stage,
) -> None:
    stage.org.add_custom_object("Project__c")
    stage.set_policy(
        demo_policy(offboarding={"objects": ["Account", "Opportunity", "Case", "Project__c"]})
    )
    grant = await active_grant(stage, JANE.id)
    uid = grant.sf_user_id or ""
    give_work(stage, uid)
    stage.org.add_records("Project__c", uid, 12)
    stage.org.add_records("Case", uid, 3, IsClosed=True)  # closed cases do not count

    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}
    await stage.workspace.event(event, event_id="EvLEFTHOLD1")

    revoked = await until_state(stage, grant.id, State.REVOKED)
    assert revoked.state is State.REVOKED
    user = stage.org.user(uid)
    assert user is not None and not user.is_active
    summary = await stage.slack.wait_for(lambda: dms_saying(stage, ADA.id, "left Slack"))
    shown = json.dumps(summary[0].blocks)
    assert (
        "deactivated. Owns 300 Accounts, 40 open Opportunities, 12 `Project__c` records; "
        "approver on 1 pending approval; manager of 2 users; member of 1 queue." in shown
    )
    assert "Cases" not in shown
