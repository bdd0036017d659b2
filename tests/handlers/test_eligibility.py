"""Eligibility: members and user groups, both people when asking for someone else."""

from __future__ import annotations

from handlers.flows.choices import LicenseChoice, NamedChoice, ProfileChoice, RequestChoices
from handlers.flows.drafts import RequestDraft
from handlers.flows.eligibility import Eligibility, eligible_choices, refused_picks

GROUPS = {"S0SALES": frozenset({"U0JANE", "U0BOB"})}


class Groups:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def members(self, group_id: str) -> frozenset[str]:
        self.asked.append(group_id)
        return GROUPS.get(group_id, frozenset())


CHOICES = RequestChoices(
    application="sales",
    licenses=(
        LicenseChoice(name="Salesforce", label="Salesforce", free=5, total=10),
        LicenseChoice(name="Platform", label="Platform", free=5, total=10),
    ),
    profiles=(
        ProfileChoice(name="Standard User", license="Salesforce"),
        ProfileChoice(name="Platform User", license="Platform", requesters=("U0OMAR",)),
    ),
    roles=(NamedChoice(name="SalesRep", label="Sales Rep", requesters=("S0SALES",)),),
    permission_sets=(
        NamedChoice(name="Reports", label="Run reports"),
        NamedChoice(name="Sales_Ops", label="Sales Operations", requesters=("S0SALES",)),
    ),
)


async def test_a_group_member_keeps_the_groups_items_and_a_license_goes_with_its_profiles() -> None:
    groups = Groups()
    jane = await eligible_choices(CHOICES, Eligibility({"U0JANE"}, groups))
    assert [p.name for p in jane.profiles] == ["Standard User"]
    assert [lic.name for lic in jane.licenses] == ["Salesforce"]
    assert [r.name for r in jane.roles] == ["SalesRep"]
    assert [s.name for s in jane.permission_sets] == ["Reports", "Sales_Ops"]
    assert groups.asked == ["S0SALES"]  # asked once for the role and the permission set


async def test_asking_for_someone_else_needs_both_listed() -> None:
    both = await eligible_choices(CHOICES, Eligibility({"U0JANE", "U0BOB"}, Groups()))
    assert [s.name for s in both.permission_sets] == ["Reports", "Sales_Ops"]
    mixed = await eligible_choices(CHOICES, Eligibility({"U0JANE", "U0OMAR"}, Groups()))
    assert [s.name for s in mixed.permission_sets] == ["Reports"]
    assert [p.name for p in mixed.profiles] == ["Standard User"]


async def test_an_application_not_theirs_offers_nothing_and_a_pick_is_refused_by_name() -> None:
    closed = CHOICES.model_copy(update={"requesters": ("S0SALES",)})
    omar = await eligible_choices(closed, Eligibility({"U0OMAR"}, Groups()))
    assert (omar.licenses, omar.profiles, omar.roles, omar.permission_sets) == ((), (), (), ())
    draft = RequestDraft(profile="Standard User")
    assert refused_picks(draft, closed, omar, "Sales Cloud") == {
        "profile": "You may not request Sales Cloud access. Ask its admins to add you."
    }
    bob = await eligible_choices(CHOICES, Eligibility({"U0BOB"}, Groups()))
    forged = RequestDraft(profile="Platform User", role="SalesRep", permission_sets=("Sales_Ops",))
    assert refused_picks(forged, CHOICES, bob, "Sales Cloud") == {
        "profile": "You may not request the Platform User profile."
    }
