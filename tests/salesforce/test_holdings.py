"""Counting what users hold: grouped COUNT(Id) queries in composites of five, against the
simulated org over HTTPS; and the count queries the org answers or refuses as Salesforce does."""

from __future__ import annotations

import pytest
from simple_salesforce.format import format_soql

from bot.sandbox.salesforce_org import SimulatedOrg
from salesforce.client import SalesforceClient
from salesforce.errors import SalesforceError
from salesforce.gateway import SalesforceGateway
from salesforce.holdings import (
    DEFAULT_OBJECTS,
    HeldCount,
    Holdings,
    holdings_from_counts,
)


def give_maria_work(org: SimulatedOrg) -> str:
    maria = org.id_of("User", "maria.garcia@acme.com")
    chris = org.id_of("User", "chris.wu@acme.com")
    org.add_records("Account", maria, 300)
    org.add_records("Opportunity", maria, 40)
    org.add_records("Opportunity", maria, 7, IsClosed=True)  # closed ones do not count
    org.add_records("Lead", maria, 5, IsConverted=True)  # nor converted leads
    org.add_records("Case", chris, 4)  # nor somebody else's
    org.add_pending_approval(maria, org.add_records("Opportunity", chris, 1)[0])
    org.add_queue("Support Queue", maria, chris)
    org.add_public_group("Sales Team", maria)
    org.admin_update("User", chris, ManagerId=maria, DelegatedApproverId=maria)
    return maria


async def test_everything_is_counted_in_two_calls(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    maria = give_maria_work(org)
    org.reset_counters()
    held = (await gateway.read_holdings([maria], DEFAULT_OBJECTS))[maria]
    assert org.api_calls == 2  # a composite carries at most 5 queries; there are 10
    parts = [p for call in org.calls for p in call.json["compositeRequest"]]
    assert len(parts) == 10 and all("COUNT%28Id%29" in p["url"] for p in parts)
    assert {c.api_name: c.count for c in held.owned} == {
        "Account": 300,
        "Contact": 0,
        "Opportunity": 40,
        "Lead": 0,
        "Case": 0,
        "Campaign": 0,
    }
    assert (held.approvals, held.queues, held.groups) == (1, 1, 1)
    assert (held.reports, held.delegators) == (1, 1)
    assert held.unread == ()
    assert held.counts() == {
        "Account": 300,
        "Opportunity": 40,
        "ProcessInstanceWorkitem": 1,
        "Queue": 1,
        "Group": 1,
        "ManagerOf": 1,
        "DelegatedApproverOf": 1,
    }


async def test_custom_objects_count_and_a_missing_one_is_named(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.add_custom_object("Project__c")
    org.add_records("Project__c", maria, 12)
    held = (await gateway.read_holdings([maria], ("Account", "Project__c", "Invoice__c")))[maria]
    assert {c.api_name: c.count for c in held.owned} == {"Account": 0, "Project__c": 12}
    assert held.unread == ("Invoice__c: INVALID_TYPE",)
    assert not held.empty


async def test_many_users_cost_two_calls_per_two_hundred(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    many = org.add_profile("Many User", org.add_license("Many", 300, key="MANY"))
    ids = [org.add_user(f"u{n}@acme.com", many, last_name=f"U{n}") for n in range(250)]
    for n, user_id in enumerate(ids[:5]):
        org.add_records("Account", user_id, n)
    org.add_records("Case", ids[249], 2)
    org.reset_counters()
    held = await gateway.read_holdings(ids, DEFAULT_OBJECTS)
    assert org.api_calls == 4  # two chunks of users, 10 queries each, 5 a composite
    assert [held[i].counts().get("Account", 0) for i in ids[:5]] == [0, 1, 2, 3, 4]
    assert held[ids[249]].counts() == {"Case": 2} and held[ids[100]].empty


def test_a_count_answers_the_number_and_no_records(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.add_records("Account", maria, 3)
    soql = format_soql("SELECT COUNT() FROM Account WHERE OwnerId = {}", maria)
    answer = client.call(lambda sf: sf.query(soql))
    assert dict(answer) == {"totalSize": 3, "done": True, "records": []}


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT COUNT() FROM Invoice__c", "INVALID_TYPE", "sObject type 'Invoice__c'"),
        ("SELECT COUNT() FROM Account WHERE IsClosed = false", "INVALID_FIELD", "No such column"),
        ("SELECT COUNT(), Id FROM Account", "MALFORMED_QUERY", "unexpected token: ,"),
        ("SELECT COUNT() FROM Account ORDER BY Name", "MALFORMED_QUERY", "unexpected token"),
        (
            "SELECT Name, COUNT(Id) FROM Account GROUP BY OwnerId",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        ("SELECT OwnerId, COUNT(Id) FROM Lead GROUP BY IsClosed", "INVALID_FIELD", "No such"),
    ],
)
def test_the_org_refuses_what_salesforce_refuses(
    client: SalesforceClient, soql: str, code: str, words: str
) -> None:
    with pytest.raises(SalesforceError) as refused:
        client.query(soql)
    assert refused.value.error_code == code and words in refused.value.raw_message


def test_the_counts_the_audit_recorded_read_back_as_the_same_holdings() -> None:
    held = Holdings(
        user_id="005JANE",
        owned=(
            HeldCount(api_name="Account", one="Account", many="Accounts", count=300),
            HeldCount(
                api_name="Project__c", one="Project__c record", many="Project__c records", count=2
            ),
        ),
        approvals=1,
        queues=2,
        reports=3,
    )
    back = holdings_from_counts("005JANE", held.counts())
    assert back == held
    # a name the bot does not know (an older policy's object) is left out, not guessed
    assert holdings_from_counts("005JANE", {"Nonsense": 4}).counts() == {}
