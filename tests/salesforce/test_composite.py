"""Composite calls through the real client: references, all-or-none, typed sub-request errors."""

from __future__ import annotations

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import Subrequest, query_subrequest
from salesforce.errors import DuplicateUsername, LicenseLimitExceeded


def _user(username: str, profile_id: str) -> dict[str, object]:
    return {
        "Username": username,
        "LastName": "Composite",
        "Email": username,
        "Alias": "comp",
        "TimeZoneSidKey": "Europe/Paris",
        "LocaleSidKey": "fr_FR",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "fr",
        "ProfileId": profile_id,
    }


def test_references_chain_subrequests_in_one_api_call(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    profile = org.id_of("Profile", "Sales User")
    reports = org.id_of("PermissionSet", "Reports_Export")
    result = client.composite(
        [
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="newUser",
                body=_user("c1@acme.com", profile),
            ),
            Subrequest(
                method="POST",
                path="sobjects/PermissionSetAssignment",
                reference_id="assign",
                body={"AssigneeId": "@{newUser.id}", "PermissionSetId": reports},
            ),
            query_subrequest("login", soql.logins_named("c1@acme.com")),
            Subrequest(
                method="PATCH",
                path="sobjects/UserLogin/@{login.records[0].Id}",
                reference_id="freeze",
                body={"IsFrozen": True},
            ),
        ],
        all_or_none=True,
    )
    assert result.failure() is None
    assert [r.status for r in result.responses] == [201, 201, 200, 204]
    user_id = result.get("newUser").body["id"]
    assert org.assignments_of(user_id) == ("Reports_Export",)
    assert org.is_frozen(user_id)
    assert org.api_calls == 1


def test_a_failing_subrequest_raises_its_typed_error_and_rolls_back(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    org.take_username_elsewhere("c2@acme.com")
    profile = org.id_of("Profile", "Sales User")
    result = client.composite(
        [
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="ok",
                body=_user("c3@acme.com", profile),
            ),
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="dup",
                body=_user("c2@acme.com", profile),
            ),
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="after",
                body=_user("c4@acme.com", profile),
            ),
        ],
        all_or_none=True,
    )
    failed = result.failure()
    assert failed is not None and failed.reference_id == "dup"
    assert result.get("ok").halted and result.get("after").halted
    with pytest.raises(DuplicateUsername):
        result.raise_for_failure()
    assert org.user_by_username("c3@acme.com") is None  # rolled back


def test_without_all_or_none_the_others_still_apply(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    platform = org.id_of("Profile", "Standard Platform User")
    org.add_user("p2@acme.com", platform)
    org.add_user("p3@acme.com", platform)
    sales = org.id_of("Profile", "Sales User")
    result = client.composite(
        [
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="full",
                body=_user("c5@acme.com", platform),
            ),
            Subrequest(
                method="POST",
                path="sobjects/User",
                reference_id="fine",
                body=_user("c6@acme.com", sales),
            ),
        ],
        all_or_none=False,
    )
    with pytest.raises(LicenseLimitExceeded):
        result.raise_for_failure()
    assert result.get("fine").ok and org.user_by_username("c6@acme.com") is not None
