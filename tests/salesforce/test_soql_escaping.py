"""Every value that reaches SOQL is escaped: quotes, backslashes and keywords stay data."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_schema import build_schema
from bot.sandbox.sf_soql import parse
from bot.sandbox.sf_soql_ast import BoolOp, Comparison, InList
from salesforce import soql
from salesforce.gateway import SalesforceGateway
from salesforce.models import ProvisionAction, UserSpec

NASTY = [
    "o'brien@acme.com",
    "back\\slash@acme.com",
    "x' OR Username != '@acme.com",
    "quote\"and\\'mix@acme.com",
    "SELECT Id FROM User WHERE@acme.com",
    "tab\tnew\nline@acme.com",
]
SCHEMA = build_schema()


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_any_text_round_trips_through_escaping_and_parsing(username: str, federation: str) -> None:
    query = parse(soql.users_named(username, federation), SCHEMA)
    assert isinstance(query.where, BoolOp) and query.where.op == "OR"
    values = [c.value for c in query.where.parts if isinstance(c, Comparison)]
    assert values == [username, federation]
    ids = parse(soql.logins_of([username, federation]), SCHEMA)
    assert isinstance(ids.where, InList) and ids.where.values == (username, federation)


def test_every_value_taking_query_parses_with_hostile_values() -> None:
    for value in NASTY:
        for text in (
            soql.users_named(value),
            soql.users_named(value, value),
            soql.logins_named(value, value),
            soql.assignments_named(value, value),
            soql.user_by_id(value),
            soql.logins_of([value]),
            soql.removable_assignments([value, value]),
            soql.active_users([value]),
            soql.permissions_of(value),
        ):
            parse(text, SCHEMA)  # raises the org's MALFORMED_QUERY if escaping were wrong


async def test_hostile_values_through_the_gateway_find_nothing_or_exactly_one(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    for value in NASTY:
        assert await gateway.find_user(value, value) is None
        assert await gateway.get_user(value) is None
        assert await gateway.active_users([value]) == []
    assert await gateway.find_user("maria.garcia@acme.com' OR Username != '") is None
    profile = org.id_of("Profile", "Sales User")
    obrien = org.add_user("o'brien\\x@acme.com", profile, federation_id="fed' OR 'x")
    found = await gateway.find_user("O'BRIEN\\X@acme.com")
    assert found is not None and found.id == obrien
    found_by_fed = await gateway.find_user("nobody@acme.com", "fed' OR 'x")
    assert found_by_fed is not None and found_by_fed.id == obrien
    assert (await gateway.get_user(obrien)) == found
    assert [u.id for u in await gateway.active_users([profile]) if u.id == obrien] == [obrien]


async def test_provisioning_a_quoted_username_twice_finds_it_again(
    gateway: SalesforceGateway, make_spec: Callable[..., UserSpec]
) -> None:
    spec = make_spec("d'arcy\\o@acme.com", federation_id="d'arcy")
    first = await gateway.create_user(spec)
    found = await gateway.find_user_state(spec.username)
    assert first.action is ProvisionAction.CREATED
    assert found is not None and found.id == first.user_id and found.username == spec.username


def test_the_wire_form_escapes_quotes_and_backslashes() -> None:
    text = soql.users_named("a'b\\c@acme.com")
    assert "Username = 'a\\'b\\\\c@acme.com'" in text
