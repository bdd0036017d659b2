"""Handing work over through the gateway against the simulated org over HTTPS: collections for
a few records, a Bulk API 2.0 job for many, approvals and reports, refused rows with
Salesforce's message, and the calls each way costs."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway
from salesforce.transfer import APPROVALS, BULK_THRESHOLD, REPORTS, parse_bulk_error


def _people(org: SimulatedOrg) -> tuple[str, str]:
    return org.id_of("User", "sam.patel@acme.com"), org.id_of("User", "maria.garcia@acme.com")


async def test_a_few_records_move_with_collections_and_refused_ones_say_why(
    org: SimulatedOrg, gateway: SalesforceGateway
) -> None:
    leaver, successor = _people(org)
    accounts = org.add_records("Account", leaver, 250)
    org.add_records("Opportunity", leaver, 5, IsClosed=True)  # closed ones stay
    open_opps = org.add_records("Opportunity", leaver, 7)
    org.refuse_updates(accounts[:2], "Key accounts keep their owner.")
    org.reset_counters()

    ids = await gateway.held_ids("Account", leaver)
    moved = await gateway.move_records("Account", ids, successor)

    assert len(ids) == 250
    assert moved.moved == 248 and moved.failed == 2
    assert {f.record_id for f in moved.failures} == set(accounts[:2])
    assert moved.failures[0].code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert moved.failures[0].message == "Key accounts keep their owner."
    assert org.api_calls == 1 + 2  # one query, two collections of 200
    assert sorted(await gateway.held_ids("Opportunity", leaver)) == sorted(open_opps)


async def test_many_records_move_with_one_bulk_job(
    org: SimulatedOrg, gateway: SalesforceGateway
) -> None:
    leaver, successor = _people(org)
    accounts = org.add_records("Account", leaver, BULK_THRESHOLD + 500)
    org.refuse_updates(accounts[-3:], "Accounts in Legal Hold keep their owner.")
    org.reset_counters()

    job_id = await gateway.start_bulk_move("Account", accounts, successor)
    states = [(await gateway.bulk_job("Account", job_id)).state for _ in range(2)]
    failures = await gateway.bulk_failures("Account", job_id)

    assert states == ["InProgress", "JobComplete"]
    assert {f.record_id for f in failures} == set(accounts[-3:])
    assert failures[0].message == "Accounts in Legal Hold keep their owner."
    assert org.owned_by("Account", successor) == BULK_THRESHOLD + 497
    assert org.api_calls == 3 + 2 + 1  # open, upload, close; two looks; failed rows


async def test_approvals_and_reports_follow_the_successor_and_an_inactive_one_is_refused(
    org: SimulatedOrg, gateway: SalesforceGateway
) -> None:
    leaver, successor = _people(org)
    chris = org.id_of("User", "chris.wu@acme.com")
    org.add_pending_approval(leaver, org.add_records("Opportunity", chris, 1)[0])
    org.admin_update("User", chris, ManagerId=leaver)

    approvals = await gateway.move_records(
        APPROVALS, await gateway.held_ids(APPROVALS, leaver), successor
    )
    reports = await gateway.move_records(
        REPORTS, await gateway.held_ids(REPORTS, leaver), successor
    )
    inactive = org.id_of("User", INACTIVE_USERNAME)
    account = org.add_records("Account", leaver, 1)
    refused = await gateway.move_records("Account", account, inactive)

    assert (approvals.moved, reports.moved) == (1, 1)
    assert await gateway.held_ids(APPROVALS, leaver) == []
    assert await gateway.held_ids(REPORTS, leaver) == []
    user = org.user(chris)
    assert user is not None and user.fields["ManagerId"] == successor
    assert refused.failures[0].code == "INACTIVE_OWNER_OR_USER"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION:No.:--", ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "No.")),
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]"),
        ),
    ],
)
def test_a_bulk_error_reads_as_code_and_message(text: str, expected: tuple[str, str]) -> None:
    assert parse_bulk_error(text) == expected


async def test_many_records_are_listed_with_one_bulk_query_job(
    org: SimulatedOrg, gateway: SalesforceGateway
) -> None:
    leaver, _ = _people(org)
    accounts = org.add_records("Account", leaver, 4500)
    org.add_records("Opportunity", leaver, 2500, IsClosed=True)
    open_opps = org.add_records("Opportunity", leaver, 2100)
    org.reset_counters()

    found = await gateway.held_ids("Account", leaver)
    opps = await gateway.held_ids("Opportunity", leaver)

    assert sorted(found) == sorted(accounts)
    assert sorted(opps) == sorted(open_opps)  # the job keeps the query's filter
    # each: a first REST page, then create, two looks, one results page
    assert org.api_calls == 2 * (1 + 1 + 2 + 1)


async def test_fewer_than_the_threshold_are_read_with_one_rest_query(
    org: SimulatedOrg, gateway: SalesforceGateway
) -> None:
    leaver, _ = _people(org)
    org.add_records("Case", leaver, BULK_THRESHOLD - 1)
    org.reset_counters()

    assert len(await gateway.held_ids("Case", leaver)) == BULK_THRESHOLD - 1
    assert org.api_calls == 1


async def test_waiting_for_a_bulk_query_job_ties_up_no_salesforce_thread(
    org: SimulatedOrg, token_auth: SalesforceAuth
) -> None:
    """One pool thread: other calls go through while the query job is InProgress, because the
    waiting happens on the event loop between short calls."""
    leaver, _ = _people(org)
    accounts = org.add_records("Account", leaver, 2500)  # more than one REST page
    gateway = SalesforceGateway(token_auth, max_workers=1, timeout=5)
    try:
        org.hold_query_jobs()
        listing = asyncio.create_task(gateway.held_ids("Account", leaver))
        async with asyncio.timeout(5):
            while not any(c.path.endswith("/jobs/query") for c in org.calls):
                await asyncio.sleep(0.02)
        looks_before = _query_job_looks(org)
        async with asyncio.timeout(5):
            while _query_job_looks(org) < looks_before + 2:  # still waiting on Salesforce
                assert await gateway.find_user("maria.garcia@acme.com") is not None
        assert not listing.done()
        org.hold_query_jobs(False)
        async with asyncio.timeout(5):
            found = await listing
    finally:
        await gateway.aclose()
    assert sorted(found) == sorted(accounts)


def _query_job_looks(org: SimulatedOrg) -> int:
    return sum(1 for c in org.calls if c.method == "GET" and "/jobs/query/" in c.path)
