"""Every typed error, produced from the body a real org sends, through the real client."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.sandbox.salesforce_org import FaultKind, SimulatedOrg
from salesforce import errors
from salesforce.auth import SalesforceAuth
from salesforce.error_mapping import error_from_body, error_from_items, parse_errors
from salesforce.gateway import SalesforceGateway
from salesforce.models import Catalog, UserSpec


async def test_username_taken_in_another_org(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    org.take_username_elsewhere("jane@acme.com")
    with pytest.raises(errors.DuplicateUsername) as taken:
        await gateway.create_user(make_spec("jane@acme.com"))
    assert taken.value.error_code == "DUPLICATE_USERNAME"
    assert "already exists in this or another Salesforce organization" in taken.value.raw_message
    assert taken.value.fields == ("Username",)
    assert org.user_by_username("jane@acme.com") is None


async def test_no_seat_left(
    gateway: SalesforceGateway,
    org: SimulatedOrg,
    catalog: Catalog,
    make_spec: Callable[..., UserSpec],
) -> None:
    platform = catalog.profile_named("Standard Platform User")
    assert platform is not None
    org.add_user("p2@acme.com", platform.id)
    org.add_user("p3@acme.com", platform.id)
    with pytest.raises(errors.LicenseLimitExceeded) as full:
        await gateway.create_user(
            make_spec("p4@acme.com", profile_id=platform.id, permission_set_ids=())
        )
    assert full.value.raw_message == "License Limit Exceeded"
    seats = org.license("Salesforce Platform")
    assert seats is not None and seats.used == seats.total == 3


async def test_profile_of_an_incompatible_license(
    gateway: SalesforceGateway, catalog: Catalog, make_spec: Callable[..., UserSpec]
) -> None:
    community = catalog.profile_named("Customer Community User")
    assert community is not None
    with pytest.raises(errors.ProfileLicenseMismatch) as mismatch:
        await gateway.create_user(make_spec(profile_id=community.id))
    assert "compatible with the user's license" in mismatch.value.raw_message
    assert mismatch.value.fields == ("ProfileId",)


async def test_missing_permission_of_the_integration_user(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    org.admin_update(
        "PermissionSet",
        org.id_of("PermissionSet", "AccessBot_Integration"),
        PermissionsManageInternalUsers=False,
    )
    with pytest.raises(errors.InsufficientAccess) as refused:
        await gateway.create_user(make_spec())
    assert refused.value.error_code == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert "insufficient access rights" in refused.value.human


async def test_a_permission_403_is_insufficient_access(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    org.faults.fail_next(
        403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."
    )
    with pytest.raises(errors.InsufficientAccess):
        await gateway.fetch_catalog()


async def test_validation_rule_and_required_field(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    org.add_validation_rule("Cost_Center__c", "Cost center is required for every user")
    with pytest.raises(errors.ValidationRule) as rule:
        await gateway.create_user(make_spec())
    assert rule.value.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "Cost center is required" in rule.value.human
    with pytest.raises(errors.ValidationRule) as required:
        await gateway.create_user(
            make_spec("x@acme.com", last_name="", extra_fields={"Cost_Center__c": "1"})
        )
    assert required.value.error_code == "REQUIRED_FIELD_MISSING"
    assert "LastName" in required.value.fields
    created = await gateway.create_user(make_spec(extra_fields={"Cost_Center__c": "CC-42"}))
    user = org.user(created.user_id)
    assert user is not None and user.fields["Cost_Center__c"] == "CC-42"


async def test_expired_bare_token(gateway: SalesforceGateway, org: SimulatedOrg) -> None:
    org.expire_sessions()
    with pytest.raises(errors.SessionExpired) as expired:
        await gateway.fetch_catalog()
    assert expired.value.human == "Salesforce session expired."
    assert expired.value.error_code == "INVALID_SESSION_ID"


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE, FaultKind.DROP])
async def test_server_failures_are_transient(
    gateway: SalesforceGateway, org: SimulatedOrg, kind: FaultKind
) -> None:
    org.faults.inject(kind)
    with pytest.raises(errors.Transient) as failure:
        await gateway.fetch_catalog()
    assert failure.value.retryable and not failure.value.needs_admin
    assert failure.value.raw_message
    assert (await gateway.fetch_catalog()).licenses  # the next call goes through


async def test_a_timeout_is_transient(token_auth: SalesforceAuth, org: SimulatedOrg) -> None:
    gateway = SalesforceGateway(token_auth, timeout=0.3)
    org.faults.inject(FaultKind.TIMEOUT, hold=1.5)
    try:
        with pytest.raises(errors.Transient, match="could not be reached"):
            await gateway.get_user("005000000000000AAA")
    finally:
        await gateway.aclose()


async def test_request_limit_is_a_retryable_budget_error(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    org.faults.inject(FaultKind.REQUEST_LIMIT)
    with pytest.raises(errors.ApiBudgetExhausted) as limit:
        await gateway.fetch_catalog()
    assert limit.value.retryable and limit.value.raw_message == "TotalRequests Limit exceeded."


async def test_unknown_refusals_keep_the_raw_message(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    org.faults.fail_next(400, "SOMETHING_NEW", "A brand new refusal", fields=("Foo",))
    with pytest.raises(errors.UnknownSalesforceError) as unknown:
        await gateway.fetch_catalog()
    assert unknown.value.raw_message == "A brand new refusal"
    assert unknown.value.error_code == "SOMETHING_NEW" and unknown.value.fields == ("Foo",)


def test_only_transient_and_budget_errors_are_retryable() -> None:
    retryable = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.SalesforceError) and cls.retryable
    }
    assert retryable == {errors.Transient, errors.ApiBudgetExhausted}


def test_collection_status_codes_map_like_error_codes() -> None:
    items = parse_errors(
        [
            {
                "statusCode": "DUPLICATE_USERNAME",
                "message": "Duplicate Username.",
                "fields": ["Username"],
            }
        ]
    )
    assert isinstance(error_from_items(400, items), errors.DuplicateUsername)
    halted_first = [
        {"errorCode": "PROCESSING_HALTED", "message": "rolled back"},
        {"errorCode": "LICENSE_LIMIT_EXCEEDED", "message": "License Limit Exceeded"},
    ]
    assert isinstance(error_from_body(400, halted_first), errors.LicenseLimitExceeded)
    oauth = error_from_body(400, b'{"error":"invalid_grant","error_description":"expired"}')
    assert oauth.error_code == "invalid_grant" and oauth.raw_message == "expired"
    html = error_from_body(502, b"<html>Bad gateway</html>")
    assert isinstance(html, errors.Transient) and "Bad gateway" in html.raw_message


def test_line_break_tags_in_a_detail_read_as_spaces() -> None:
    body = [
        {
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "Cost center is required.<BR/>Ask Finance.<br />Then retry.<br>Thanks.",
            "fields": ["Cost_Center__c"],
        }
    ]
    error = error_from_body(400, body)
    assert isinstance(error, errors.ValidationRule)
    assert error.detail == "Cost center is required. Ask Finance. Then retry. Thanks."
    assert error.raw_message == body[0]["message"]  # Salesforce's own words are kept as they are
