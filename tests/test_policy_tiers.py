"""Risk tiers, approval rules and break-glass in the policy: read, refused, exported, listed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.check import approval_lines
from bot.policy_export import policy_yaml
from bot.policy_file import PolicyError, parse_policy
from handlers.approval_rules import Tier

BASE = """
applications:
  - name: sales
    owners: [U0OMAR, U0OLIVIA]
    admins: [U0ADA]
    licenses: [Salesforce]
"""
FULL = (
    BASE
    + """    profiles:
      - {name: Standard User, tier: low}
      - Sales User
    roles: [SalesRep]
    permission_sets:
      - {name: Reports_Export, tier: low, requesters: [S0SALES]}
      - {name: Sales_Ops, tier: high}
    high_if_powerful: true
    durations: [PT4H, P1D, P7D]
    tiers:
      low: {auto_approve: true, max_duration: P7D}
      standard: {required: 2}
      high:
        max_duration: P1D
        stages:
          - {name: owners}
          - {name: security, approvers: [S0SECURITY, U0BOB], required: 1}
    break_glass:
      group: [S0ONCALL]
      max_duration: PT2H
      review_within: PT8H
      security_channel: C0SECURITY
"""
)


def test_every_new_key_is_read() -> None:
    app = parse_policy(FULL).applications[0]
    assert app.tier_of("profiles", "Standard User") is Tier.LOW
    assert app.tier_of("profiles", "Sales User") is Tier.STANDARD
    assert app.tier_of("permission_sets", "Sales_Ops") is Tier.HIGH
    assert app.requesters_of("permission_sets", "Reports_Export") == ("S0SALES",)
    assert app.rule_for(Tier.LOW).auto_approve
    assert app.rule_for(Tier.LOW).max_duration == timedelta(days=7)
    assert [(s.name, s.approvers, s.required) for s in app.stages_for(Tier.STANDARD)] == [
        ("owners", None, 2)
    ]
    assert [(s.name, s.approvers) for s in app.stages_for(Tier.HIGH)] == [
        ("owners", None),
        ("security", ("S0SECURITY", "U0BOB")),
    ]
    assert app.break_glass is not None
    assert app.break_glass.max_duration == timedelta(hours=2)
    assert app.break_glass.review_within == timedelta(hours=8)


def test_export_round_trips_every_new_key() -> None:
    policy = parse_policy(FULL)
    exported = policy_yaml(policy)
    assert parse_policy(exported) == policy
    for text in (
        "  - name: Standard User\n    tier: low\n",
        "tier: high",
        "high_if_powerful: true",
        "auto_approve: true",
        "max_duration: PT2H",
        "review_within: PT8H",
        "security_channel: C0SECURITY",
        "stages:\n      - name: owners\n      - name: security\n        approvers:\n",
    ):
        assert text in exported, text
    assert "tier" not in policy_yaml(parse_policy(BASE + "    profiles: [Sales User]\n"))


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("    profiles: [{name: Sales User, tier: urgent}]\n", "profiles[0].tier: 'urgent'"),
        (
            "    profiles: [Sales User]\n    tiers: {high: {auto_approve: true}}\n",
            "tiers.high.auto_approve: only low may be auto-approved",
        ),
        (
            "    profiles: [Sales User]\n    tiers: {medium: {required: 2}}\n",
            "applications.0.tiers.medium.[key]",
        ),
        (
            "    profiles: [Sales User]\n    tiers: {standard: {required: 3}}\n",
            "tiers.standard.required: 3 approvers needed but only 2 listed",
        ),
        (
            "    profiles: [Sales User]\n    tiers:\n      high:\n        required: 2\n"
            "        stages: [{name: owners}]\n",
            "give required or stages",
        ),
        (
            "    profiles: [Sales User]\n"
            "    tiers: {high: {stages: [{name: x, approvers: [bob]}]}}\n",
            "approvers[0]: 'bob' is not a Slack member id",
        ),
        (
            "    profiles: [Sales User]\n    tiers: {low: {max_duration: soon}}\n",
            "applications.0.tiers.low.max_duration",
        ),
        (
            "    profiles: [Sales User]\n    break_glass: {group: [oncall]}\n",
            "applications.0.break_glass.group",
        ),
        (
            "    profiles: [Sales User]\n    break_glass: {group: [S0ONCALL], "
            "security_channel: '#security'}\n",
            "applications.0.break_glass.security_channel",
        ),
        (
            "    profiles: [Sales User]\n    break_glass: {group: [S0ONCALL], wait: PT1H}\n",
            "applications.0.break_glass.wait",
        ),
    ],
)
def test_a_wrong_field_is_named(extra: str, named: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(BASE + extra)
    assert named in str(raised.value)


def test_every_wrong_item_is_named_at_once() -> None:
    text = BASE + (
        "    profiles: [{name: Sales User, tier: urgent}, {name: Standard User, tier: hi}]\n"
        "    permission_sets: [{name: Sales_Ops, requesters: [sales]}]\n"
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    said = str(raised.value)
    assert "profiles[0].tier: 'urgent'" in said and "profiles[1].tier: 'hi'" in said
    assert "permission_sets[0].requesters[0]: 'sales'" in said


def test_every_wrong_field_is_named_at_once() -> None:
    text = (
        BASE
        + "    profiles: [Sales User]\n    tiers: {low: {max_duration: soon}}\n"
        + "    break_glass: {group: [oncall]}\n"
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    assert "tiers.low.max_duration" in str(raised.value)
    assert "break_glass.group" in str(raised.value)


def test_check_lists_the_tiers_and_who_approves_them() -> None:
    lines = approval_lines(parse_policy(FULL).applications[0])
    assert lines == [
        "Tier low: Standard User (profile), Reports_Export (permission set)",
        "  approved by: approved automatically; at most 7 days",
        "Tier standard: everything not listed under another tier",
        "  approved by: 2 of owners (U0OMAR, U0OLIVIA)",
        "Tier high: Sales_Ops (permission set), any permission set granting org-wide powers",
        "  approved by: 1 of owners (U0OMAR, U0OLIVIA) [owners]; then 1 of S0SECURITY, U0BOB "
        "[security]; at most 1 day",
        "Break-glass (high tier): S0ONCALL for at most 2 hours, reviewed within 8 hours, "
        "security channel C0SECURITY",
    ]
