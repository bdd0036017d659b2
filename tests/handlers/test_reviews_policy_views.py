"""The ``reviews:`` policy, who reviews which line, and the review message within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from handlers.flows.review_decide import ReviewRefusal
from handlers.flows.review_open import Assigner
from handlers.policy import Application
from handlers.review_policy import Reviews, ReviewScope, Unanswered
from handlers.views.message import MESSAGE_BLOCKS_MAX
from handlers.views.review import (
    PAGE_SIZE,
    build_review_message,
    build_review_refusal,
    build_review_summary,
)
from storage.review_models import Campaign, CampaignState, Decision, Outcome, ReviewItem

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BASE = {
    "name": "sales",
    "owners": ["U0OMAR", "U0OLIVIA"],
    "admins": ["U0ADA"],
    "licenses": ["Salesforce"],
    "profiles": ["Sales User"],
}


def _app(**reviews: object) -> Application:
    return Application.model_validate({**BASE, "reviews": reviews})


def test_a_whole_reviews_section_reads() -> None:
    app = _app(
        every="P90D",
        reviewers=["U0JORDAN", "S0AUDIT"],
        scope="high",
        deadline="P14D",
        unanswered="revoke",
    )
    assert app.reviews == Reviews(
        every=timedelta(days=90),
        reviewers=("U0JORDAN", "S0AUDIT"),
        scope=ReviewScope.HIGH,
        deadline=timedelta(days=14),
        unanswered=Unanswered.REVOKE,
    )
    assert _app(reviewers="owners").reviews is not None
    assert _app(reviewers="owners").reviews.by_owners  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reviews", "named"),
    [
        ({"every": "P3M"}, "every: 'P3M' is not an ISO 8601 duration"),
        ({"deadline": "two weeks"}, "deadline: 'two weeks' is not an ISO 8601 duration"),
        ({"scope": "some"}, "reviews.scope"),
        ({"unanswered": "drop"}, "reviews.unanswered"),
        ({"reviwers": "owners"}, "reviews.reviwers"),
        ({"reviewers": ["bob"]}, "reviewers[0]: 'bob' is not a Slack member id"),
        ({"reviewers": []}, "write owners, or list Slack member ids"),
        ({"every": "P7D", "deadline": "P14D"}, "every: must be longer than the deadline"),
        ({"deadline": "PT10M"}, "deadline: give reviewers at least an hour"),
    ],
)
def test_a_wrong_field_is_named(reviews: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Application.model_validate({**BASE, "reviews": reviews})
    assert named in str(raised.value)


def test_nobody_gets_their_own_line_and_the_load_is_shared() -> None:
    app = _app()
    assigner = Assigner(["U0OMAR", "U0OLIVIA"], app)
    picks = [assigner.pick(f"U0P{n}") for n in range(10)]
    assert picks.count("U0OMAR") == picks.count("U0OLIVIA") == 5
    assert assigner.pick("U0OMAR") == "U0OLIVIA"
    alone = Assigner(["U0OMAR"], app)
    assert alone.pick("U0OMAR") == "U0ADA"  # the only reviewer's own line: the admins


def _campaign(state: CampaignState = CampaignState.OPEN) -> Campaign:
    return Campaign(
        id="RV-ABC234",
        application="sales",
        scope="all",
        unanswered="escalate",
        state=state,
        started_by="cli",
        created_at=NOW,
        opened_at=NOW,
        deadline_at=NOW + timedelta(days=7),
    )


def _items(count: int) -> list[ReviewItem]:
    return [
        ReviewItem(
            id=f"RV-ABC234-{n}",
            campaign_id="RV-ABC234",
            position=n,
            grant_id=f"R-{n}",
            username=f"person{n}@acme.com",
            subject_id=f"U0P{n}",
            subject_name="N" * 300,
            holds="Sales User · SalesRep · " + ", ".join(["Some_Long_Permission_Set"] * 40),
            since=NOW,
            approved_by="U0OMAR",
            last_login=None if n % 2 else NOW,
            reviewer="U0OLIVIA",
        )
        for n in range(1, count + 1)
    ]


def test_every_page_fits_slacks_block_limit() -> None:
    items = _items(2 * PAGE_SIZE + 3)
    for page in range(3):
        built = build_review_message(_campaign(), _app(), items, page)
        assert len(built.blocks) <= MESSAGE_BLOCKS_MAX
        shown = json.dumps(built.blocks)
        assert f"page {page + 1} of 3" in shown
    last = json.dumps(build_review_message(_campaign(), _app(), items, 2).blocks)
    assert "RV-ABC234-23" in last and 'RV-ABC234-1"' not in last
    assert "last login never" in json.dumps(
        build_review_message(_campaign(), _app(), items, 0).blocks
    )


def test_decided_lines_lose_their_buttons_and_a_closed_review_has_none() -> None:
    items = _items(2)
    items[0] = items[0].model_copy(
        update={
            "decision": Decision.REVOKE,
            "decided_by": "U0OLIVIA",
            "decided_at": NOW,
            "outcome": Outcome.DEACTIVATED,
        }
    )
    shown = json.dumps(build_review_message(_campaign(), _app(), items, 0).blocks)
    assert shown.count('"review_keep"') == 1 and "1 of 2 decided" in shown
    assert "the Salesforce user is deactivated by <@U0OLIVIA>" in shown
    closed = json.dumps(
        build_review_message(_campaign(CampaignState.CLOSED), _app(), items, 0).blocks
    )
    assert "review_keep" not in closed and "review_revoke" not in closed


def test_refusals_say_who_may_decide() -> None:
    item = _items(1)[0]
    said = build_review_refusal(ReviewRefusal.NOT_YOURS, item).text
    assert "Only <@U0OLIVIA>" in said and "nothing was changed" in said
    assert "own access" in build_review_refusal(ReviewRefusal.OWN_ACCESS, item).text


def test_the_summary_lists_what_the_admins_must_decide() -> None:
    items = _items(3)
    items[2] = items[2].model_copy(update={"outcome": Outcome.ESCALATED})
    summary = build_review_summary(_campaign(CampaignState.CLOSED), _app(), items, NOW)
    assert "3 lines" in summary.text
    assert "Nobody answered for 1 line;" in json.dumps(summary.blocks)
