"""The simulated org over HTTPS: real REST shapes, error bodies, composite and collections."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import trustme
from simple_salesforce.format import format_soql as soql

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_errors import SfApiError

Api = Callable[..., requests.Response]
NEW_USER = {
    "Username": "new@acme.com",
    "LastName": "New",
    "Email": "new@acme.com",
    "Alias": "new",
    "TimeZoneSidKey": "Europe/Paris",
    "LocaleSidKey": "fr_FR",
    "EmailEncodingKey": "UTF-8",
    "LanguageLocaleKey": "fr",
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def org() -> SimulatedOrg:
    sim = SimulatedOrg(batch_size=3)
    sim.seed_demo()
    return sim


@pytest.fixture
def server(
    org: SimulatedOrg, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OrgServer]:
    with OrgServer(org, ca) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        yield running


@pytest.fixture
def api(server: OrgServer) -> Iterator[Api]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.access_token}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return session.request(
            method, f"{server.instance_url}/services/data/v62.0/{path}", **kwargs
        )

    yield call
    session.close()


def new_user(org: SimulatedOrg, **changes: Any) -> dict[str, Any]:
    return {**NEW_USER, "ProfileId": org.id_of("Profile", "Sales User"), **changes}


def test_every_data_response_carries_the_usage_and_counts_once(api: Api, org: SimulatedOrg) -> None:
    first = api("GET", "limits")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert first.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99999}
    refused = api("GET", "sobjects/User/005000000000000AAA")
    assert refused.status_code == 404
    assert refused.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert org.api_calls == 2
    org.expire_sessions()
    expired = api("GET", "limits")
    assert expired.status_code == 401
    assert expired.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert org.api_calls == 2 and len(org.calls) == 3


def test_user_insert_rules(api: Api, org: SimulatedOrg) -> None:
    missing = api("POST", "sobjects/User/", json={"Username": "a@acme.com", "LastName": "A"})
    assert missing.status_code == 400
    body = missing.json()[0]
    assert body["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert body["fields"] == [
        "Email",
        "Alias",
        "TimeZoneSidKey",
        "LocaleSidKey",
        "EmailEncodingKey",
        "LanguageLocaleKey",
        "ProfileId",
    ]
    created = api("POST", "sobjects/User/", json=new_user(org))
    assert created.status_code == 201 and created.json()["success"] is True
    assert created.headers["Location"].endswith(created.json()["id"])
    again = api("POST", "sobjects/User/", json=new_user(org, Username="NEW@acme.com"))
    assert again.json()[0]["errorCode"] == "DUPLICATE_USERNAME" and again.json()[0]["fields"] == [
        "Username"
    ]
    unknown = api(
        "POST", "sobjects/User/", json=new_user(org, Username="b@acme.com", Shoe_Size__c=9)
    )
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    record = api(
        "GET", f"sobjects/User/{created.json()['id']}", params={"fields": "Username,IsActive"}
    )
    assert record.json()["Username"] == "new@acme.com" and record.json()["IsActive"] is True
    login = api(
        "GET",
        "query",
        params={
            "q": soql("SELECT IsFrozen FROM UserLogin WHERE UserId = {}", created.json()["id"])
        },
    )
    assert login.json()["records"][0]["IsFrozen"] is False


def test_seats_follow_activation_and_profiles_must_fit_the_license(
    api: Api, org: SimulatedOrg
) -> None:
    platform = org.id_of("Profile", "Standard Platform User")
    org.add_user("p2@acme.com", platform)
    org.add_user("p3@acme.com", platform)
    fourth = org.add_user("p4@acme.com", platform, active=False)
    full = api("POST", "sobjects/User/", json=new_user(org, ProfileId=platform))
    assert full.json() == [
        {"message": "License Limit Exceeded", "errorCode": "LICENSE_LIMIT_EXCEEDED", "fields": []}
    ]
    assert api("PATCH", f"sobjects/User/{fourth}", json={"IsActive": True}).status_code == 400
    pat = org.id_of("User", "pat.jones@acme.com")
    assert api("PATCH", f"sobjects/User/{pat}", json={"IsActive": False}).status_code == 204
    seats = org.license("Salesforce Platform")
    assert seats is not None and seats.used == 2
    assert api("PATCH", f"sobjects/User/{fourth}", json={"IsActive": True}).status_code == 204
    seats = org.license("Salesforce Platform")
    assert seats is not None and seats.used == 3
    community = org.id_of("Profile", "Customer Community User")
    mismatch = api("PATCH", f"sobjects/User/{fourth}", json={"ProfileId": community})
    assert mismatch.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert mismatch.json()[0]["fields"] == ["ProfileId"]
    insert = api("POST", "sobjects/User/", json=new_user(org, ProfileId=community))
    assert insert.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def seats_used(org: SimulatedOrg, name: str) -> int:
    """Seats of the license called ``name`` in use (its UsedLicenses)."""
    found = org.license(name)
    assert found is not None
    return found.used


def test_seats_move_with_the_profile_and_stay_counted_exactly(api: Api, org: SimulatedOrg) -> None:
    platform = org.id_of("Profile", "Standard Platform User")
    sales = org.id_of("Profile", "Sales User")
    org.add_user("p2@acme.com", platform)
    org.add_user("p3@acme.com", platform)
    mover = org.add_user("mover@acme.com", sales)
    before = seats_used(org, "Salesforce")
    assert seats_used(org, "Salesforce Platform") == 3  # full
    # a profile on a full license is refused, whatever the user held before
    refused = api("PATCH", f"sobjects/User/{mover}", json={"ProfileId": platform})
    assert refused.json()[0]["errorCode"] == "LICENSE_LIMIT_EXCEEDED"
    p2 = org.id_of("User", "p2@acme.com")
    assert api("PATCH", f"sobjects/User/{p2}", json={"IsActive": False}).status_code == 204
    # a seat freed: the move takes it, and gives its old seat back
    assert api("PATCH", f"sobjects/User/{mover}", json={"ProfileId": platform}).status_code == 204
    assert seats_used(org, "Salesforce Platform") == 3
    assert seats_used(org, "Salesforce") == before - 1
    # an inactive user moving takes no seat; renaming changes nothing
    assert api("PATCH", f"sobjects/User/{p2}", json={"ProfileId": sales}).status_code == 204
    assert api("PATCH", f"sobjects/User/{p2}", json={"Username": "p2b@acme.com"}).status_code == 204
    assert seats_used(org, "Salesforce") == before - 1
    assert org.id_of("User", "p2b@acme.com") == p2
    # the kept counts are what a count of every user gives
    kept = {lic["Id"]: lic["UsedLicenses"] for lic in org.store.rows("UserLicense")}
    org.store.recount_seats()
    assert kept == {lic["Id"]: lic["UsedLicenses"] for lic in org.store.rows("UserLicense")}


def test_thousands_of_users_are_added_without_recounting_every_seat(org: SimulatedOrg) -> None:
    seats = org.id_of("UserLicense", "Salesforce")
    org.admin_update("UserLicense", seats, TotalLicenses=seats_used(org, "Salesforce") + 3000)
    sales = org.id_of("Profile", "Sales User")
    started = time.perf_counter()
    for n in range(3000):
        org.add_user(f"many{n:05d}@acme.com", sales, last_name=f"Many{n}")
    # one count of every user per insert took about 50 s for 2,000 users; now well under one
    assert time.perf_counter() - started < 15
    full_license = org.license("Salesforce")
    assert full_license is not None and full_license.used == full_license.total
    with pytest.raises(SfApiError) as full:
        org.add_user("one-too-many@acme.com", sales)
    assert full.value.error_code == "LICENSE_LIMIT_EXCEEDED"
    with pytest.raises(SfApiError) as taken:
        org.add_user("MANY00042@acme.com", sales, active=False)
    assert taken.value.error_code == "DUPLICATE_USERNAME"


def test_blocked_deactivation_and_login_rules(api: Api, org: SimulatedOrg) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    org.block_deactivation(maria, "The user is the Default Workflow User.")
    blocked = api("PATCH", f"sobjects/User/{maria}", json={"IsActive": False})
    assert blocked.status_code == 400
    assert blocked.json() == [
        {
            "message": "The user is the Default Workflow User.",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": [],
        }
    ]
    login = api(
        "GET", "query", params={"q": soql("SELECT Id FROM UserLogin WHERE UserId = {}", maria)}
    ).json()["records"][0]["Id"]
    assert api("PATCH", f"sobjects/UserLogin/{login}", json={"IsFrozen": True}).status_code == 204
    assert org.is_frozen(maria)
    assert (
        api("PATCH", f"sobjects/UserLogin/{login}", json={"IsPasswordLocked": True}).status_code
        == 400
    )
    assert (
        api("POST", "sobjects/UserLogin/", json={"UserId": maria}).json()[0]["errorCode"]
        == "METHOD_NOT_ALLOWED"
    )
    assert api("DELETE", f"sobjects/User/{maria}").status_code == 405


def test_duplicate_assignment(api: Api, org: SimulatedOrg) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    body = {"AssigneeId": maria, "PermissionSetId": org.id_of("PermissionSet", "Sales_Ops")}
    duplicate = api("POST", "sobjects/PermissionSetAssignment/", json=body)
    assert duplicate.json() == [
        {
            "message": "Duplicate PermissionSetAssignment",
            "errorCode": "DUPLICATE_VALUE",
            "fields": [],
        }
    ]


def test_composite_all_or_none_rolls_back_and_halts_the_others(api: Api, org: SimulatedOrg) -> None:
    org.take_username_elsewhere("taken@acme.com")
    requests_ = [
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/User",
            "referenceId": "a",
            "body": new_user(org, Username="a@acme.com"),
        },
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/PermissionSetAssignment",
            "referenceId": "psa",
            "body": {
                "AssigneeId": "@{a.id}",
                "PermissionSetId": org.id_of("PermissionSet", "Sales_Ops"),
            },
        },
        {
            "method": "POST",
            "url": "/services/data/v62.0/sobjects/User",
            "referenceId": "b",
            "body": new_user(org, Username="taken@acme.com"),
        },
        {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "c"},
    ]
    response = api("POST", "composite", json={"allOrNone": True, "compositeRequest": requests_})
    assert response.status_code == 200 and org.api_calls == 1
    results = response.json()["compositeResponse"]
    assert [r["referenceId"] for r in results] == ["a", "psa", "b", "c"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400, 400]
    assert results[2]["body"][0]["errorCode"] == "DUPLICATE_USERNAME"
    for other in (results[0], results[1], results[3]):
        assert other["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert org.user_by_username("a@acme.com") is None


def test_composite_limits_and_bad_references(api: Api, org: SimulatedOrg) -> None:
    limits = {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "x"}
    too_many = api("POST", "composite", json={"compositeRequest": [limits] * 26})
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    query = {
        "method": "GET",
        "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+User",
        "referenceId": "q",
    }
    six = api("POST", "composite", json={"compositeRequest": [query] * 6})
    assert six.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    dangling = {
        "method": "GET",
        "url": "/services/data/v62.0/sobjects/User/@{nobody.id}",
        "referenceId": "d",
    }
    result = api("POST", "composite", json={"compositeRequest": [dangling]}).json()[
        "compositeResponse"
    ][0]
    assert result["httpStatusCode"] == 400 and result["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_collections_report_per_record_with_status_codes(api: Api, org: SimulatedOrg) -> None:
    maria, sam = org.id_of("User", "maria.garcia@acme.com"), org.id_of("User", "sam.patel@acme.com")
    org.block_deactivation(sam, "Case Assignment or Escalation rules")
    records = [
        {"attributes": {"type": "User"}, "id": maria, "IsActive": False},
        {"attributes": {"type": "User"}, "id": sam, "IsActive": False},
    ]
    results = api(
        "PATCH", "composite/sobjects", json={"allOrNone": False, "records": records}
    ).json()
    assert results[0] == {"id": maria, "success": True, "errors": []}
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "FIELD_INTEGRITY_EXCEPTION",
                "message": "Case Assignment or Escalation rules",
                "fields": [],
            }
        ],
    }
    chris = org.id_of("User", "chris.wu@acme.com")
    records = [{"attributes": {"type": "User"}, "id": chris, "IsActive": False}, records[1]]
    rolled = api("PATCH", "composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    user = org.user(chris)
    assert user is not None and user.is_active
    over = api("PATCH", "composite/sobjects", json={"records": records * 101})
    assert over.status_code == 400 and over.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    retrieved = api(
        "POST",
        "composite/sobjects/User",
        json={"ids": [maria, "005000000000000AAA"], "fields": ["IsActive"]},
    )
    assert retrieved.json()[0]["IsActive"] is False and retrieved.json()[1] is None
    psa = api(
        "GET",
        "query",
        params={
            "q": soql(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} "
                "AND PermissionSet.IsOwnedByProfile = false",
                maria,
            )
        },
    )
    ids = [r["Id"] for r in psa.json()["records"]]
    deleted = api(
        "DELETE", "composite/sobjects", params={"ids": ",".join(ids), "allOrNone": "false"}
    )
    assert deleted.json() == [{"id": ids[0], "success": True, "errors": []}]
    assert org.assignments_of(maria) == ()


def test_large_results_are_paged(api: Api) -> None:
    first = api("GET", "query", params={"q": "SELECT Username FROM User ORDER BY Username"}).json()
    assert first["done"] is False and first["totalSize"] == 7 and len(first["records"]) == 3
    nxt = first["nextRecordsUrl"]
    assert nxt.startswith("/services/data/v62.0/query/")
    second = api("GET", nxt.removeprefix("/services/data/v62.0/")).json()
    assert len(second["records"]) == 3 and second["done"] is False
    bad = api("GET", "query", params={"q": "SELECT Id FROM User HAVING"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
