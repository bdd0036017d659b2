"""An owner's list of requests: within Slack's 50 blocks however many wait, and a tally."""

from __future__ import annotations

import json

from handlers.ids import ActionId
from handlers.views.cohort import LINES_MAX, build_cohort
from handlers.views.message import MESSAGE_BLOCKS_MAX
from storage.models import State
from tests.handlers.test_views_approval import make_app, make_request


def _actions(blocks: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [
        (str(e["action_id"]), str(e["value"]))
        for b in blocks
        for e in b.get("elements") or []  # type: ignore[attr-defined]
        if isinstance(e, dict) and "action_id" in e
    ]


def test_a_long_list_shows_what_fits_and_approve_all_counts_them_all() -> None:
    requests = [make_request(id=f"R-{n:08d}", subject_id=f"U0P{n:04d}") for n in range(500)]
    shown = build_cohort("C-1", make_app(), requests)
    assert len(shown.blocks) <= MESSAGE_BLOCKS_MAX
    actions = _actions(shown.blocks)
    assert (ActionId.APPROVE_ALL.value, "C-1") in actions
    approvable = [v for a, v in actions if a == ActionId.APPROVE]
    assert approvable == [r.id for r in requests[:LINES_MAX]]  # in the order they came
    assert {v for a, v in actions if a == ActionId.DENY} == set(approvable)
    text = json.dumps(shown.blocks)
    assert "*500* waiting" in text and f"{500 - LINES_MAX} more waiting" in text
    assert "Approve all 500" in text


def test_decided_requests_leave_the_lines_for_a_tally() -> None:
    requests = [
        make_request(id="R-00000001"),
        make_request(id="R-00000002", state=State.APPROVED, decided_by="U0OWNER1"),
        make_request(id="R-00000003", state=State.DENIED, decided_by="U0OWNER1"),
    ]
    shown = build_cohort("C-1", make_app(), requests)
    assert [v for a, v in _actions(shown.blocks) if a == ActionId.APPROVE] == ["R-00000001"]
    text = json.dumps(shown.blocks)
    assert "1 approved" in text and "1 denied" in text and "more waiting" not in text


def test_all_decided_leaves_no_button() -> None:
    requests = [make_request(id="R-00000001", state=State.DENIED, decided_by="U0OWNER1")]
    shown = build_cohort("C-1", make_app(), requests)
    assert _actions(shown.blocks) == []
    assert "all decided" in shown.text
