"""Labels for the names a request stores, built once per catalog and never read from Salesforce."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.flows.catalog import CatalogService
from handlers.flows.desired import RevocationEffect
from handlers.flows.labels import Labels, ShownAccess
from handlers.flows.outcomes import RevokedAccess
from storage.db import Database
from storage.kv import CatalogCache
from storage.models import AccessRequest, Kind, State
from tests.handlers.fakes import FakeGateway, demo_catalog

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _request(**fields: object) -> AccessRequest:
    values: dict[str, object] = {
        "id": "R-1",
        "kind": Kind.GRANT,
        "application": "sales",
        "state": State.PENDING_APPROVAL,
        "requester_id": "U0JANE",
        "subject_id": "U0JANE",
        "license": "Salesforce",
        "profile": "Sales User",
        "role": "SalesRep",
        "permission_sets": ("Sales_Ops", "Gone_Set"),
        "created_at": AT,
        "updated_at": AT,
    }
    values.update(fields)
    return AccessRequest.model_validate(values)


def test_people_read_labels_and_admins_read_both() -> None:
    labels = Labels.of(demo_catalog())
    req = _request()
    assert labels.shown(req) == ShownAccess(
        license="Salesforce",
        profile="Sales User",
        role="Sales Rep",
        permission_sets=("Sales Ops", "Gone_Set"),  # a name the org lost shows as stored
    )
    admins = labels.shown(req, with_names=True)
    assert admins.role == "Sales Rep (SalesRep)"
    assert admins.permission_sets == ("Sales Ops (Sales_Ops)", "Gone_Set")
    # a policy that names a set by its label is read the same way
    assert labels.permission_set("Sales Ops", with_name=True) == "Sales Ops"
    assert Labels().shown(req) == ShownAccess.names_of(req)


def test_what_ending_a_grant_removes_is_named_by_label() -> None:
    labels = Labels.of(demo_catalog())
    effect = RevocationEffect(removes=("Sales_Ops",))
    assert effect.sentence(labels.permission_set).startswith("Sales Ops is removed;")
    done = RevokedAccess(
        revocation=_request(kind=Kind.REVOKE), grant=None, deactivated=False, removed=("Sales_Ops",)
    )
    assert done.effect_in(labels.permission_set).startswith("Sales Ops was removed;")


async def test_labels_come_from_the_stored_catalog_without_asking_salesforce(db: Database) -> None:
    gateway = FakeGateway()
    cache = CatalogCache(db)
    assert await CatalogService(gateway, cache, db.clock).labels() == Labels()
    await CatalogService(gateway, cache, db.clock).refresh()
    gateway.calls.clear()
    restarted = CatalogService(gateway, cache, db.clock)
    labels = await restarted.labels()
    assert labels.permission_set("Sales_Ops") == "Sales Ops"
    assert await restarted.labels() is labels
    assert gateway.calls == []
