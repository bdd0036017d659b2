"""What a leaving user holds, as the admins read it: only what is not zero, singular and plural."""

from __future__ import annotations

from handlers.views.holdings import holdings_line, setup_lines
from salesforce.holdings import HeldCount, Holdings


def held(api_name: str, one: str, many: str, count: int) -> HeldCount:
    return HeldCount(api_name=api_name, one=one, many=many, count=count)


def test_only_non_zero_counts_are_shown() -> None:
    holdings = Holdings(
        user_id="005000000000001AAA",
        owned=(
            held("Account", "Account", "Accounts", 1300),
            held("Contact", "Contact", "Contacts", 0),
            held("Opportunity", "open Opportunity", "open Opportunities", 1),
            held("Project__c", "Project__c record", "Project__c records", 2),
        ),
        approvals=3,
        reports=1,
        delegators=2,
        groups=1,
    )
    assert holdings_line(holdings) == (
        "Owns 1,300 Accounts, 1 open Opportunity, 2 `Project__c` records; approver on 3 pending "
        "approvals; manager of 1 user; delegated approver for 2 users; member of 1 public group."
    )


def test_nothing_held_and_what_could_not_be_counted() -> None:
    assert holdings_line(Holdings(user_id="005000000000001AAA")) == (
        "Owns no records we count and nothing points at them."
    )
    partly = Holdings(
        user_id="005000000000001AAA", approvals=1, unread=("Invoice__c: INVALID_TYPE",)
    )
    line = holdings_line(partly)
    assert line.startswith("Approver on 1 pending approval. Could not count Invoice")
    assert "INVALID" in line


def test_setup_paths_are_bullets_with_escaped_arrows() -> None:
    assert setup_lines(("Setup > Users",)) == "• Setup &gt; Users"
