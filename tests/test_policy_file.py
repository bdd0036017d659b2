"""The policy file: validated with field names, reloaded when it changes."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.policy_export import policy_yaml
from bot.policy_file import PolicyError, PolicyFile, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[1]
GOOD = """
applications:
  - name: sales
    owners: [U0OMAR]
    admins: [U0ADA]
    licenses: [Salesforce]
    profiles: [Sales User]
"""


def test_the_example_policy_is_valid() -> None:
    policy = load_policy(ROOT / "policy.example.yml")
    assert policy.applications[0].name == "sales"
    assert policy.applications[0].durations == (
        timedelta(hours=4),
        timedelta(days=1),
        timedelta(days=7),
        timedelta(days=30),
        None,
    )


def test_durations_in_days_still_read_as_before() -> None:
    policy = parse_policy(GOOD + "    durations_days: [1, 30, null]\n")
    assert policy.applications[0].durations == (timedelta(days=1), timedelta(days=30), None)


def test_durations_read_iso_8601_and_export_the_same() -> None:
    policy = parse_policy(GOOD + "    durations: [PT1H, PT4H, P1D, P30D, null]\n")
    assert policy.applications[0].durations == (
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=1),
        timedelta(days=30),
        None,
    )
    exported = policy_yaml(policy)
    assert "durations" not in policy_yaml(parse_policy(GOOD))  # the default is left out
    assert "  durations:\n  - PT1H\n  - PT4H\n  - P1D\n  - P30D\n  - null\n" in exported
    assert parse_policy(exported) == policy


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("applications: []", "applications"),
        (GOOD.replace("U0OMAR", "omar"), "applications.0.owners.0"),
        (GOOD + "    approval_channel: '#sales'\n", "applications.0.approval_channel"),
        (GOOD + "    durations_days: [0]\n", "applications.0.durations_days"),
        (
            GOOD + "    durations: [PT1H, P1D, P1X]\n",
            "applications.0.durations: Value error, durations[2]: 'P1X' is not an ISO 8601",
        ),
        (GOOD + "    durations: [P1M]\n", "durations[0]: 'P1M' is not an ISO 8601 duration"),
        (GOOD + "    durations: [3600]\n", "durations[0]: 3600 is not an ISO 8601 duration"),
        (GOOD + "    durations: [PT10S]\n", "durations[0]: 'PT10S' is shorter than one minute"),
        (
            GOOD + "    durations: [P1D]\n    durations_days: [1]\n",
            "give durations or durations_days, not both",
        ),
        (
            GOOD + "    requesters: [U0JANE, sales-team]\n",
            "applications.0.requesters: Value error, requesters[1]: 'sales-team' is not a Slack",
        ),
        (
            GOOD.replace("[Sales User]", "[{name: Sales User, requesters: [C0SALES]}]"),
            "profiles[0].requesters[0]: 'C0SALES' is not a Slack member id (U…/W…) or user group",
        ),
        (
            GOOD.replace("[Sales User]", "[{name: Sales User, who: [S0SALES]}]"),
            "profiles[0]: write a name, or {name: …, requesters: […]} (unknown: who)",
        ),
        (GOOD + "    colour: blue\n", "applications.0.colour"),
        (
            GOOD + "    offboarding:\n      objects: [Account, Acount]\n",
            "applications.0.offboarding.objects: Value error, unknown object 'Acount'",
        ),
        (GOOD + "timings:\n  first_reminder_after: soon\n", "timings.first_reminder_after"),
        ("- just a list", "mapping"),
        ("applications: [", "not valid YAML"),
    ],
)
def test_errors_name_the_field(text: str, named: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(named)):
        parse_policy(text)


def test_offboarding_objects_default_to_the_standard_ones_and_take_custom_ones() -> None:
    plain = parse_policy(GOOD).applications[0].offboarding.objects
    assert plain == ("Account", "Contact", "Opportunity", "Lead", "Case", "Campaign")
    custom = parse_policy(GOOD + "    offboarding:\n      objects: [account, Project__c]\n")
    assert custom.applications[0].offboarding.objects == ("Account", "Project__c")


def test_requesters_read_per_application_and_per_item_and_export_the_same() -> None:
    policy = parse_policy(
        GOOD.replace("[Sales User]", "[Standard User, {name: Sales User, requesters: [S0SALES]}]")
        + "    requesters: [S0STAFF, U0JANE]\n"
    )
    app = policy.applications[0]
    assert app.profiles == ("Standard User", "Sales User")
    assert app.requesters == ("S0STAFF", "U0JANE")
    assert app.requesters_of("profiles", "Sales User") == ("S0SALES",)
    assert app.requesters_of("profiles", "Standard User") is None
    exported = policy_yaml(policy)
    assert "  - name: Sales User\n    requesters:\n    - S0SALES\n" in exported
    assert parse_policy(exported) == policy
    assert "requesters" not in policy_yaml(parse_policy(GOOD))


def test_changes_are_picked_up_and_broken_edits_keep_the_last_good_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(GOOD)
    source = PolicyFile(path)
    assert source().applications[0].profiles == ("Sales User",)

    path.write_text(GOOD.replace("[Sales User]", "[Sales User, Standard User]"))
    os.utime(path, ns=(1, 10**18))
    assert source().applications[0].profiles == ("Sales User", "Standard User")

    path.write_text("applications: [")
    os.utime(path, ns=(1, 2 * 10**18))
    assert source().applications[0].profiles == ("Sales User", "Standard User")
    assert "keeping the previous policy" in caplog.text
