"""The simulated org's assignment expiration: off as in a new org; on, dates in the future only,
and the assignment gone once the org's clock passes its date."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import trustme
from simple_salesforce.format import format_soql as soql

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME

Api = Callable[..., requests.Response]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def org(clock: Clock) -> SimulatedOrg:
    sim = SimulatedOrg(clock=clock)
    sim.seed_demo()
    return sim


@pytest.fixture
def api(org: SimulatedOrg, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with OrgServer(org, trustme.CA()) as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_bundle_path)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {running.access_token}"

        def call(method: str, path: str, **kwargs: Any) -> requests.Response:
            url = f"{running.instance_url}/services/data/v62.0/{path}"
            return session.request(method, url, timeout=5, **kwargs)

        yield call
        session.close()


def assignment(org: SimulatedOrg, **fields: Any) -> dict[str, Any]:
    user = org.user_by_username(INACTIVE_USERNAME)
    assert user is not None
    return {
        "AssigneeId": user.id,
        "PermissionSetId": org.id_of("PermissionSet", "Sales_Ops"),
        **fields,
    }


def field_names(api: Api) -> list[str]:
    described = api("GET", "sobjects/PermissionSetAssignment/describe")
    assert described.status_code == 200
    return [f["name"] for f in described.json()["fields"]]


def test_off_the_field_does_not_exist(api: Api, org: SimulatedOrg) -> None:
    assert "ExpirationDate" not in field_names(api)
    refused = api(
        "POST",
        "sobjects/PermissionSetAssignment",
        json=assignment(org, ExpirationDate="2026-12-02T09:00:00.000+0000"),
    )
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD"
    assert (
        "No such column 'ExpirationDate' on sobject of type PermissionSetAssignment"
        in (refused.json()[0]["message"])
    )
    query = "SELECT Id, ExpirationDate FROM PermissionSetAssignment"
    assert api("GET", "query", params={"q": query}).json()[0]["errorCode"] == "INVALID_FIELD"


def test_on_a_future_date_is_kept_a_past_one_refused(
    api: Api, org: SimulatedOrg, clock: Clock
) -> None:
    org.turn_on_assignment_expiration()
    assert "ExpirationDate" in field_names(api)
    past = api(
        "POST",
        "sobjects/PermissionSetAssignment",
        json=assignment(org, ExpirationDate="2026-12-01T08:00:00Z"),
    )
    assert past.status_code == 400
    assert past.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    made = api(
        "POST",
        "sobjects/PermissionSetAssignment",
        json=assignment(org, ExpirationDate="2026-12-02T09:00:00.000+0000"),
    )
    assert made.status_code == 201, made.text
    record = made.json()["id"]
    query = soql("SELECT ExpirationDate FROM PermissionSetAssignment WHERE Id = {}", record)
    rows = api("GET", "query", params={"q": query}).json()["records"]
    assert rows[0]["ExpirationDate"] == "2026-12-02T09:00:00.000+0000"

    moved = api(
        "PATCH",
        f"sobjects/PermissionSetAssignment/{record}",
        json={"ExpirationDate": "2026-12-03T09:00:00.000+0000"},
    )
    assert moved.status_code == 204
    other = api("PATCH", f"sobjects/PermissionSetAssignment/{record}", json={"AssigneeId": "x"})
    assert other.status_code == 400

    clock.now += timedelta(days=1, hours=1)  # past the first date, not the moved one
    assert "Sales_Ops" in org.assignments_of(assignment(org)["AssigneeId"])
    clock.now += timedelta(days=1)
    assert "Sales_Ops" not in org.assignments_of(assignment(org)["AssigneeId"])
    gone = api("GET", f"sobjects/PermissionSetAssignment/{record}")
    assert gone.status_code == 404
