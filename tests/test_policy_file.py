"""The policy file: validated with field names, reloaded when it changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
    assert None in policy.applications[0].durations_days


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("applications: []", "applications"),
        (GOOD.replace("U0OMAR", "omar"), "applications.0.owners.0"),
        (GOOD + "    approval_channel: '#sales'\n", "applications.0.approval_channel"),
        (GOOD + "    durations_days: [0]\n", "applications.0.durations_days"),
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
    with pytest.raises(PolicyError, match=named.replace(".", r"\.")):
        parse_policy(text)


def test_offboarding_objects_default_to_the_standard_ones_and_take_custom_ones() -> None:
    plain = parse_policy(GOOD).applications[0].offboarding.objects
    assert plain == ("Account", "Contact", "Opportunity", "Lead", "Case", "Campaign")
    custom = parse_policy(GOOD + "    offboarding:\n      objects: [account, Project__c]\n")
    assert custom.applications[0].offboarding.objects == ("Account", "Project__c")


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
