"""The transfer's Slack surfaces: which blocked DMs offer it, the modal, and the lines that
report progress, the outcome and the refused rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from handlers.flows.transfer import TransferChoice
from handlers.ids import ActionId, BlockId
from handlers.views.escalation import build_escalation
from handlers.views.problems import Escalation, EscalationKind
from handlers.views.transfer import build_transfer_modal, parse_transfer, transfer_text
from salesforce.holdings import HeldCount, Holdings
from salesforce.models import Blocker
from salesforce.transfer import APPROVALS
from storage.transfers import ObjectProgress, RefusedRow, Transfer, TransferState
from tests.handlers.test_views_escalation import APP, USER_ID, make_request

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
HELD = Holdings(
    user_id=USER_ID,
    owned=(HeldCount(api_name="Account", one="Account", many="Accounts", count=300),),
    approvals=1,
)


def _transfer(state: TransferState, refused: int = 0) -> Transfer:
    rows = tuple(
        RefusedRow(
            record_id=f"001{n:015d}", code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="No."
        )
        for n in range(refused)
    )
    return Transfer(
        id="T-1",
        revocation_id="R-1",
        username="jane.doe@acme.com",
        from_user_id=USER_ID,
        to_user_id="005000000000002AAA",
        to_slack_id="U0OMAR",
        objects=("Account", APPROVALS),
        progress={"Account": ObjectProgress(done=True, moved=300 - refused, refused=rows)},
        job_ids=(),
        state=state,
        moved=300 - refused,
        failed=refused,
        decided_by="U0ADMIN1",
        claimed_by=None,
        claimed_until=None,
        created_at=NOW,
        updated_at=NOW,
    )


def _buttons(issue: Escalation) -> list[str]:
    request = make_request(kind="revoke", state="blocked")
    blocks = build_escalation(request, APP, issue).blocks
    return [e["action_id"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    ("blocker", "offered"),
    [
        (Blocker.APPROVER, True),
        (Blocker.HIERARCHY_FIELD, True),
        (Blocker.UNKNOWN, True),
        (Blocker.DEFAULT_WORKFLOW_USER, False),  # only Setup clears it: explained, no transfer
        (Blocker.LAST_ADMIN, False),
    ],
)
def test_only_blockers_a_transfer_can_clear_offer_one(blocker: Blocker, offered: bool) -> None:
    issue = Escalation(kind=EscalationKind.BLOCKED_DEACTIVATION, blocker=blocker, holdings=HELD)
    assert (ActionId.TRANSFER_TO in _buttons(issue)) is offered
    bare = issue.model_copy(update={"holdings": Holdings(user_id=USER_ID)})
    assert ActionId.TRANSFER_TO not in _buttons(bare)  # nothing to move


def test_a_running_transfer_hides_the_buttons_and_a_failed_one_offers_the_retry() -> None:
    base = Escalation(kind=EscalationKind.BLOCKED_DEACTIVATION, blocker=Blocker.APPROVER)
    running = base.model_copy(update={"transfer": _transfer(TransferState.RUNNING)})
    failed = base.model_copy(update={"transfer": _transfer(TransferState.FAILED, refused=3)})
    assert _buttons(running) == []
    assert _buttons(failed)[0] == ActionId.RETRY_TRANSFER


def test_refused_rows_are_listed_up_to_ten_with_salesforces_message() -> None:
    text = transfer_text(_transfer(TransferState.FAILED, refused=12))
    assert "Salesforce refused 12 rows" in text
    assert text.count("FIELD_CUSTOM_VALIDATION_EXCEPTION") == 10
    assert "…and 2 more." in text
    assert "288 Accounts" in text and "<@U0OMAR>" in text and "<@U0ADMIN1>" in text


def test_the_modal_ticks_everything_and_reads_back_the_choice() -> None:
    request = make_request(kind="revoke", state="blocked", sf_username="jane.doe@acme.com")
    offered = [
        TransferChoice(what="Account", count=300),
        TransferChoice(what=APPROVALS, count=1),
    ]
    view = build_transfer_modal(request, offered).to_dict()
    shown = json.dumps(view)
    assert "300 Accounts, 1 pending approval" in shown
    values = {
        BlockId.TRANSFER_SUCCESSOR: {ActionId.TRANSFER_SUCCESSOR: {"selected_user": "U0OMAR"}},
        BlockId.TRANSFER_OBJECTS: {
            ActionId.TRANSFER_OBJECTS: {"selected_options": [{"value": "Account"}]}
        },
    }
    assert parse_transfer(values) == ("U0OMAR", ("Account",))
    assert parse_transfer({}) == (None, ())
