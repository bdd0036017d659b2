"""Handing records over in the simulated org: OwnerId and ActorId updates with Salesforce's
refusals, sObject Collections PATCH, and Bulk API 2.0 ingest jobs driven by simple-salesforce's
own bulk2 module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import trustme
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def org() -> SimulatedOrg:
    sim = SimulatedOrg()
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
def sf(server: OrgServer) -> Salesforce:
    return Salesforce(
        instance_url=server.instance_url,
        session_id=server.access_token,
        version="62.0",
        session=requests.Session(),
    )


def bulk2(sf: Salesforce) -> SFBulk2Handler:
    """``sf.bulk2`` with its type (the attribute is looked up dynamically)."""
    return SFBulk2Handler(sf.session_id, sf.bulk2_url, session=sf.session)


def _patch(sf: Salesforce, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"allOrNone": False, "records": records}
    result = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert isinstance(result, list)
    return result


def test_collections_move_owners_and_refuse_inactive_owners_and_rule_breakers(
    org: SimulatedOrg, sf: Salesforce
) -> None:
    ada = org.id_of("User", "admin@acme.com")
    maria = org.id_of("User", "maria.garcia@acme.com")
    jordan = org.id_of("User", INACTIVE_USERNAME)
    accounts = org.add_records("Account", ada, 4)
    org.refuse_updates([accounts[3]], "Accounts in Legal Hold keep their owner.")

    results = _patch(
        sf,
        [
            {"attributes": {"type": "Account"}, "id": accounts[0], "OwnerId": maria},
            {"attributes": {"type": "Account"}, "id": accounts[1], "OwnerId": jordan},
            {"attributes": {"type": "Account"}, "id": accounts[2], "OwnerId": "005000000000000AAA"},
            {"attributes": {"type": "Account"}, "id": accounts[3], "OwnerId": maria},
        ],
    )

    assert [r["success"] for r in results] == [True, False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert results[1]["errors"][0]["message"] == "operation performed with inactive user"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert results[3]["errors"][0] == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Accounts in Legal Hold keep their owner.",
        "fields": [],
    }
    assert org.owned_by("Account", maria) == 1
    assert org.owned_by("Account", ada) == 3


def test_an_approval_is_reassigned_by_its_actor_and_the_original_actor_stays(
    org: SimulatedOrg, sf: Salesforce
) -> None:
    ada = org.id_of("User", "admin@acme.com")
    maria = org.id_of("User", "maria.garcia@acme.com")
    item = org.add_pending_approval(ada, org.add_records("Opportunity", maria, 1)[0])

    ok = _patch(
        sf, [{"attributes": {"type": "ProcessInstanceWorkitem"}, "id": item, "ActorId": maria}]
    )
    refused = _patch(
        sf,
        [{"attributes": {"type": "ProcessInstanceWorkitem"}, "id": item, "OriginalActorId": maria}],
    )

    assert ok[0]["success"] is True
    assert refused[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    rows = sf.query(
        format_soql(
            "SELECT ActorId, OriginalActorId FROM ProcessInstanceWorkitem WHERE Id = {}", item
        )
    )
    assert rows["records"][0]["ActorId"] == maria
    assert rows["records"][0]["OriginalActorId"] == ada


def test_moving_owners_needs_the_transfer_permission(org: SimulatedOrg, server: OrgServer) -> None:
    ada = org.id_of("User", "admin@acme.com")
    maria = org.id_of("User", "maria.garcia@acme.com")
    account = org.add_records("Account", ada, 1)[0]
    org.set_password("maria.garcia@acme.com", "pw")
    weak = Salesforce(
        instance_url=server.instance_url,
        session_id=org.issue_token("maria.garcia@acme.com"),
        version="62.0",
        session=requests.Session(),
    )

    results = _patch(weak, [{"attributes": {"type": "Account"}, "id": account, "OwnerId": maria}])

    assert results[0]["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert org.owned_by("Account", ada) == 1


def test_bulk2_update_moves_every_row_and_lists_the_refused_ones(
    org: SimulatedOrg, sf: Salesforce
) -> None:
    ada = org.id_of("User", "admin@acme.com")
    maria = org.id_of("User", "maria.garcia@acme.com")
    accounts = org.add_records("Account", ada, 500)
    org.refuse_updates(accounts[:3], "Key accounts keep their owner.")

    outcome = bulk2(sf).Account.update(
        records=[{"Id": a, "OwnerId": maria} for a in accounts], wait=0
    )

    assert outcome[0]["numberRecordsProcessed"] == 500
    assert outcome[0]["numberRecordsFailed"] == 3
    job_id = str(outcome[0]["job_id"])
    failed = list(csv.DictReader(io.StringIO(bulk2(sf).Account.get_failed_records(job_id))))
    assert {row["sf__Id"] for row in failed} == set(accounts[:3])
    error = "FIELD_CUSTOM_VALIDATION_EXCEPTION:Key accounts keep their owner.:--"
    assert failed[0]["sf__Error"] == error
    assert list(failed[0])[:2] == ["sf__Id", "sf__Error"]
    assert set(list(failed[0])[2:]) == {"Id", "OwnerId"}
    done = list(csv.DictReader(io.StringIO(bulk2(sf).Account.get_successful_records(job_id))))
    assert len(done) == 497 and {r["sf__Created"] for r in done} == {"false"}
    assert org.owned_by("Account", maria) == 497
    assert org.owned_by("Account", ada) == 3


def test_a_bulk_job_walks_through_its_states_and_refuses_what_its_state_forbids(
    org: SimulatedOrg, sf: Salesforce, server: OrgServer
) -> None:
    ada = org.id_of("User", "admin@acme.com")
    maria = org.id_of("User", "maria.garcia@acme.com")
    accounts = org.add_records("Account", ada, 2)
    base = f"{server.instance_url}/services/data/v62.0/jobs/ingest"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.access_token}"
    created = session.post(
        base, json={"object": "Account", "operation": "update", "contentType": "CSV"}, timeout=5
    ).json()
    job = f"{base}/{created['id']}"
    assert created["state"] == "Open" and created["id"].startswith("750")
    assert session.get(f"{job}/successfulResults/", timeout=5).status_code == 400
    upload = "Id,OwnerId\n" + "".join(f"{a},{maria}\n" for a in accounts)
    put = session.put(
        f"{job}/batches", data=upload, headers={"Content-Type": "text/csv"}, timeout=5
    )
    assert put.status_code == 201 and put.text == ""
    org.hold_bulk_jobs()
    closed = session.patch(job, json={"state": "UploadComplete"}, timeout=5).json()
    assert closed["state"] == "UploadComplete"
    again = session.put(
        f"{job}/batches", data=upload, headers={"Content-Type": "text/csv"}, timeout=5
    )
    assert again.status_code == 409 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    states = [session.get(job, timeout=5).json()["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "InProgress"]
    assert org.owned_by("Account", maria) == 0  # nothing applied while in progress
    org.release_bulk_jobs()
    finished = session.get(job, timeout=5).json()
    assert finished["state"] == "JobComplete" and finished["numberRecordsProcessed"] == 2
    assert org.owned_by("Account", maria) == 2
    unknown = session.post(
        base, json={"object": "Nope__c", "operation": "update"}, timeout=5
    ).json()
    assert unknown[0]["errorCode"] == "INVALIDENTITY"


def test_bulk2_refuses_a_column_the_object_does_not_have(org: SimulatedOrg, sf: Salesforce) -> None:
    ada = org.id_of("User", "admin@acme.com")
    account = org.add_records("Account", ada, 1)[0]

    with pytest.raises(SalesforceError) as refused:
        bulk2(sf).Account.update(records=[{"Id": account, "Owner_Typo": ada}], wait=0)

    assert "Owner_Typo" in str(refused.value)
    assert [job["state"] for job in org.bulk_jobs()] == ["Aborted"]


def test_bulk2_query_pages_through_a_query_job_with_its_locator(
    org: SimulatedOrg, sf: Salesforce
) -> None:
    ada = org.id_of("User", "admin@acme.com")
    opps = org.add_records("Opportunity", ada, 7)
    org.add_records("Opportunity", ada, 2, IsClosed=True)
    soql = format_soql(
        "SELECT Id, Owner.Username FROM Opportunity WHERE OwnerId = {} AND IsClosed = false", ada
    )

    pages = list(bulk2(sf).Opportunity.query(soql, max_records=3, wait=0))

    rows = [row for page in pages for row in csv.DictReader(io.StringIO(str(page)))]
    assert len(pages) == 3
    assert [r["Id"] for r in rows] == opps
    assert {r["Owner.Username"] for r in rows} == {"admin@acme.com"}


def test_a_bulk_query_job_refuses_counts_and_bad_soql(server: OrgServer) -> None:
    base = f"{server.instance_url}/services/data/v62.0/jobs/query"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.access_token}"

    counted = session.post(
        base, json={"operation": "query", "query": "SELECT COUNT() FROM Account"}, timeout=5
    )
    broken = session.post(
        base, json={"operation": "query", "query": "SELECT Nope FROM Account"}, timeout=5
    )

    assert counted.status_code == 400 and counted.json()[0]["errorCode"] == "INVALIDJOB"
    assert broken.status_code == 400 and broken.json()[0]["errorCode"] == "INVALID_FIELD"
