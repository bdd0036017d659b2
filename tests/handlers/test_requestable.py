"""The effective policy: the file's lists with the admins' changes from Slack laid on top."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from handlers.flows.requestable import (
    CatalogChanged,
    CatalogRefused,
    EffectivePolicy,
    apply_overrides,
    set_requestable,
)
from handlers.policy import Policy
from salesforce.errors import Transient
from salesforce.models import GrantKind, Power, RecordPowers
from storage.audit import AuditLog
from storage.db import Database
from storage.policy_overrides import PolicyOverride, PolicyOverrides
from tests.handlers.fakes import ADMIN, OWNER, FakeGateway, demo_catalog, sales_app

AT = datetime(2026, 11, 27, tzinfo=UTC)
KINDS = ("licenses", "profiles", "roles", "permission_sets", "groups")
FIELDS = ("licenses", "profiles", "roles", "permission_sets", "permission_set_groups")


def override(kind: str, name: str, requestable: bool, *aliases: str) -> PolicyOverride:
    return PolicyOverride(
        application="sales",
        kind=kind,
        name=name,
        aliases=aliases,
        requestable=requestable,
        changed_by=ADMIN,
        changed_at=AT,
    )


def test_overrides_add_and_remove_names_by_any_of_their_names() -> None:
    policy = Policy(applications=(sales_app(permission_sets=("Sales Ops",)),))
    effective = apply_overrides(
        policy,
        [
            override("profiles", "Deal Desk", True),
            override("permission_sets", "Sales_Ops", False, "Sales Ops"),
            override("roles", "SalesRep", True),  # already offered: no duplicate
            override("groups", "Bundle", True),
        ],
    )
    app = effective.default_application
    assert app.profiles == ("Standard User", "Sales User", "Standard Platform User", "Deal Desk")
    assert app.permission_sets == ()
    assert app.roles == ("SalesRep",)
    assert app.permission_set_groups == ("Bundle",)
    # the file's policy is untouched, and another application's overrides do not leak in
    assert policy.default_application.permission_sets == ("Sales Ops",)
    other = override("profiles", "X", True).model_copy(update={"application": "service"})
    assert apply_overrides(policy, [other]) == policy


def test_an_application_never_ends_up_without_a_license_or_profile() -> None:
    policy = Policy(applications=(sales_app(licenses=("Salesforce",), profiles=("Sales User",)),))
    effective = apply_overrides(
        policy,
        [override("licenses", "Salesforce", False), override("profiles", "Sales User", False)],
    )
    assert effective.default_application.licenses == ("Salesforce",)
    assert effective.default_application.profiles == ("Sales User",)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.sampled_from(["Salesforce", "Sales User", "SalesRep", "Sales_Ops", "New", "Other"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_overrides_gives_a_valid_policy(
    changes: list[tuple[str, str, bool]],
) -> None:
    policy = Policy(applications=(sales_app(),))
    effective = apply_overrides(policy, [override(k, n, r) for k, n, r in changes])
    assert Policy.model_validate(effective.model_dump()) == effective
    for field in FIELDS:
        names = getattr(effective.default_application, field)
        assert len(names) == len(set(names))
    last = {(k, n): r for k, n, r in changes}
    for (kind, name), requestable in last.items():
        names = getattr(effective.default_application, FIELDS[KINDS.index(kind)])
        if kind not in ("licenses", "profiles") or requestable:
            assert (name in names) is requestable


async def test_the_effective_policy_is_rebuilt_only_when_something_changed(db: Database) -> None:
    overrides = PolicyOverrides(db)
    holder = [Policy(applications=(sales_app(),))]
    effective = EffectivePolicy(lambda: holder[0], overrides)
    first = effective()
    assert effective() is first
    await overrides.set(
        application="sales", kind="profiles", name="Deal Desk", requestable=True, actor=ADMIN
    )
    second = effective()
    assert second is not first and "Deal Desk" in second.default_application.profiles
    holder[0] = Policy(applications=(sales_app(display_name="Renamed"),))
    third = effective()
    assert third.default_application.title == "Renamed"
    assert "Deal Desk" in third.default_application.profiles


async def test_only_admins_offer_records_the_org_has(db: Database) -> None:
    overrides = PolicyOverrides(db)
    policy = Policy(applications=(sales_app(),))
    catalog = demo_catalog()

    async def toggle(actor: str, kind: str, name: str, on: bool) -> CatalogChanged | CatalogRefused:
        return await set_requestable(
            overrides,
            policy,
            catalog,
            gateway=FakeGateway(),
            file_policy=policy,
            actor=actor,
            application="sales",
            kind=kind,
            name=name,
            requestable=on,
        )

    refused = await toggle(OWNER, "profiles", "Sales User", False)
    assert isinstance(refused, CatalogRefused) and "Only the admins" in refused.why
    missing = await toggle(ADMIN, "profiles", "Ghost", True)
    assert isinstance(missing, CatalogRefused) and "not in the Salesforce org" in missing.why
    odd = await toggle(ADMIN, "widgets", "Sales User", True)
    assert isinstance(odd, CatalogRefused)
    same = await toggle(ADMIN, "profiles", "Sales User", True)
    assert isinstance(same, CatalogChanged) and not same.changed
    # a permission set named by its label in the org is stored by its API name
    changed = await toggle(ADMIN, "permission_sets", "Sales Ops", False)
    assert isinstance(changed, CatalogChanged) and changed.changed and changed.name == "Sales_Ops"
    (row,) = overrides.snapshot
    assert (row.name, row.aliases, row.requestable) == ("Sales_Ops", ("Sales Ops",), False)
    assert overrides.snapshot[0].changed_by == ADMIN


async def test_the_last_profile_cannot_be_withdrawn(db: Database) -> None:
    overrides = PolicyOverrides(db)
    policy = Policy(applications=(sales_app(profiles=("Sales User",)),))
    refused = await set_requestable(
        overrides,
        policy,
        demo_catalog(),
        gateway=FakeGateway(),
        file_policy=policy,
        actor=ADMIN,
        application="sales",
        kind="profiles",
        name="Sales User",
        requestable=False,
    )
    assert isinstance(refused, CatalogRefused) and "at least one profile" in refused.why
    assert overrides.snapshot == ()


class PowerfulGateway(FakeGateway):
    """Salesforce says the record grants Modify All Data, or cannot be reached."""

    def __init__(self, *, holds: bool = False, down: bool = False) -> None:
        super().__init__()
        self.holds, self.down = holds, down

    async def record_powers(self, kind: GrantKind, record_id: str) -> RecordPowers:
        self.calls.append(("record_powers", record_id))
        if self.down:
            raise Transient("Salesforce did not answer.")
        powers = () if self.holds else (Power.MODIFY_ALL_DATA,)
        return RecordPowers(
            kind=kind, record_id=record_id, powers=powers, integration_user_holds=self.holds
        )


async def test_what_hands_over_the_org_is_offered_only_by_the_file(db: Database) -> None:
    overrides = PolicyOverrides(db)
    policy = Policy(applications=(sales_app(profiles=("Sales User",)),))

    async def offer(
        gateway: FakeGateway, name: str = "Standard User", file: Policy = policy
    ) -> CatalogChanged | CatalogRefused:
        return await set_requestable(
            overrides,
            policy,
            demo_catalog(),
            gateway=gateway,
            file_policy=file,
            actor=ADMIN,
            application="sales",
            kind="profiles",
            name=name,
            requestable=True,
        )

    refused = await offer(PowerfulGateway())
    assert isinstance(refused, CatalogRefused) and "Modify All Data" in refused.why
    assert refused.reasons == (Power.MODIFY_ALL_DATA,)
    bots = await offer(PowerfulGateway(holds=True))
    assert isinstance(bots, CatalogRefused) and "the bot signs in" in bots.why
    down = await offer(PowerfulGateway(down=True))
    assert isinstance(down, CatalogRefused) and "could not be asked" in down.why
    assert overrides.snapshot == ()
    # roles and licenses carry no permissions: nothing to ask
    quiet = PowerfulGateway()
    lic = await set_requestable(
        overrides,
        policy,
        demo_catalog(),
        gateway=quiet,
        file_policy=policy,
        actor=ADMIN,
        application="sales",
        kind="licenses",
        name="Salesforce Platform",
        requestable=True,
    )
    assert isinstance(lic, CatalogChanged) and quiet.calls == []
    # the file lists it: an admin with shell access chose it, so Slack does not ask again
    listed = Policy(applications=(sales_app(profiles=("Sales User", "Standard User")),))
    file_gateway = PowerfulGateway()
    offered = await offer(file_gateway, file=listed)
    assert isinstance(offered, CatalogChanged) and offered.changed and file_gateway.calls == []
    actions = [e.action async for e in AuditLog(db).entries()]
    assert actions.count("catalog_refused") == 3
