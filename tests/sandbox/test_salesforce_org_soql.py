"""The simulated org's SOQL subset: what it answers and what it refuses, as a real org does."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_errors import SfApiError
from bot.sandbox.sf_query import aggregate, count_rows, execute
from bot.sandbox.sf_soql import parse


@pytest.fixture(scope="module")
def org() -> SimulatedOrg:
    sim = SimulatedOrg()
    sim.seed_demo()
    return sim


def run(org: SimulatedOrg, text: str) -> list[dict[str, Any]]:
    return execute(org.store, parse(text, org.store.schema), "62.0")


def test_relationship_fields_are_nested_records(org: SimulatedOrg) -> None:
    rows = run(org, "SELECT Id, Name, UserLicense.Name FROM Profile WHERE Name = 'Sales User'")
    assert len(rows) == 1
    row = rows[0]
    assert row["attributes"] == {
        "type": "Profile",
        "url": f"/services/data/v62.0/sobjects/Profile/{row['Id']}",
    }
    assert row["UserLicense"]["Name"] == "Salesforce"
    assert row["UserLicense"]["attributes"]["type"] == "UserLicense"


def test_an_empty_lookup_is_null(org: SimulatedOrg) -> None:
    rows = run(
        org, "SELECT Username, UserRole.Name FROM User WHERE Username = 'pat.jones@acme.com'"
    )
    assert rows[0]["UserRole"] is None


def test_filters_order_and_limit(org: SimulatedOrg) -> None:
    rows = run(
        org,
        "select username from user where isactive = true and (profile.name = 'Sales User' "
        "or profile.name = 'Support User') order by username desc limit 2",
    )
    assert [r["Username"] for r in rows] == ["sam.patel@acme.com", "maria.garcia@acme.com"]
    none_role = run(org, "SELECT Username FROM User WHERE UserRoleId = null ORDER BY Username")
    assert [r["Username"] for r in none_role] == ["accessbot@acme.com", "pat.jones@acme.com"]
    not_in = run(
        org,
        "SELECT Name FROM UserRole WHERE DeveloperName NOT IN ('CEO', 'SalesRep') ORDER BY Name",
    )
    assert [r["Name"] for r in not_in] == ["Sales Manager", "Support Agent"]
    nulls_last = run(org, "SELECT DeveloperName FROM UserRole ORDER BY ParentRoleId ASC NULLS LAST")
    assert nulls_last[-1]["DeveloperName"] == "CEO"
    seats = run(org, "SELECT Name FROM UserLicense WHERE TotalLicenses >= 10 AND UsedLicenses < 2")
    assert [r["Name"] for r in seats] == ["Customer Community"]
    negated = run(org, "SELECT Username FROM User WHERE NOT IsActive = true")
    assert [r["Username"] for r in negated] == ["jordan.lee@acme.com"]


def test_strings_compare_case_insensitively_and_unescape(org: SimulatedOrg) -> None:
    assert run(org, "SELECT Id FROM User WHERE Username = 'MARIA.GARCIA@ACME.COM'")
    assert run(org, "SELECT Id FROM User WHERE Username = 'it\\'s\\\\\\n'") == []


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        # GROUP BY is answered (test_grouped_counts_...); an ungrouped field is refused
        (
            "SELECT Name FROM Profile GROUP BY UserLicenseId",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        # COUNT() stands alone in a real org (it is counted in test_count_queries below)
        ("SELECT COUNT(), Id FROM User", "MALFORMED_QUERY", "unexpected token: ,"),
        (
            "SELECT Id FROM User WHERE Username LIKE 'a%'",
            "MALFORMED_QUERY",
            "unexpected token: LIKE",
        ),
        ("SELECT Id FROM User LIMIT 5 OFFSET 2", "MALFORMED_QUERY", "unexpected token: OFFSET"),
        (
            "SELECT Id FROM User WHERE IsActive = true AND Id = 'x' OR Id = 'y'",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        (
            "SELECT Id, (SELECT Id FROM UserLogins) FROM User",
            "MALFORMED_QUERY",
            "unexpected token: (",
        ),
        (
            "SELECT Id FROM User WHERE Username = 'open",
            "MALFORMED_QUERY",
            "unexpected token: 'open",
        ),
        (
            "SELECT Id FROM User WHERE Username = 'a\\qb'",
            "MALFORMED_QUERY",
            "Illegal escape sequence",
        ),
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT Id, id FROM User", "MALFORMED_QUERY", "duplicate field selected"),
        ("SELECT Nope FROM User", "INVALID_FIELD", "No such column 'Nope' on entity 'User'"),
        ("SELECT Boss.Name FROM User", "INVALID_FIELD", "Didn't understand relationship 'Boss'"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE", "sObject type 'Widget__c' is not supported"),
        ("SELECT Id FROM User WHERE IsActive = 'true'", "INVALID_FIELD", "must be of type boolean"),
        ("SELECT Id FROM User WHERE Username = 5", "INVALID_FIELD", "should be enclosed in quotes"),
    ],
)
def test_anything_else_is_refused_with_the_real_error(
    org: SimulatedOrg, text: str, code: str, detail: str
) -> None:
    with pytest.raises(SfApiError) as refused:
        parse(text, org.store.schema)
    body = refused.value.body()
    assert refused.value.status == 400
    assert body[0]["errorCode"] == code and detail in body[0]["message"]
    assert "fields" not in body[0]
    assert "ERROR at Row:1:Column:" in body[0]["message"]


def test_count_queries(org: SimulatedOrg) -> None:
    query = parse("SELECT COUNT() FROM User WHERE IsActive = true", org.store.schema)
    assert query.count and count_rows(org.store, query) == 6
    limited = parse("select count() from User limit 2", org.store.schema)
    assert count_rows(org.store, limited) == 2


def test_grouped_counts_are_aggregate_results(org: SimulatedOrg) -> None:
    text = "SELECT IsActive, COUNT(Id) n FROM User GROUP BY IsActive"
    rows = aggregate(org.store, parse(text, org.store.schema))
    assert {r["IsActive"]: r["n"] for r in rows} == {True: 6, False: 1}
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in rows)
    (none,) = aggregate(org.store, parse("SELECT COUNT(ManagerId) FROM User", org.store.schema))
    assert none == {"attributes": {"type": "AggregateResult"}, "expr0": 0}
    assert run(org, "SELECT Id FROM Group") == []  # Group is an object as well as a keyword
