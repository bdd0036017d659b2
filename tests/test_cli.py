"""The operator's commands through the real entry point."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.sf_server import OrgServer
from storage.audit import AuditLog
from storage.db import Database

POLICY = """
applications:
  - name: sales
    owners: [U0OMAR]
    admins: [U0ADA]
    licenses: [Salesforce]
    profiles: [Sales User, Ghost Profile]
    permission_sets: [Sales_Ops]
"""


@pytest.fixture
def org_server() -> Iterator[OrgServer]:
    org = SimulatedOrg()
    org.seed_demo()
    with OrgServer(org) as server:
        yield server


def test_missing_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["serve"]) == 2
    assert "SLACK_BOT_TOKEN is required" in capsys.readouterr().err
    monkeypatch.setenv("ACCESSBOT_TICK_SECONDS", "soon")
    assert main(["serve"]) == 2
    assert "ACCESSBOT_TICK_SECONDS" in capsys.readouterr().err
    monkeypatch.setenv("ACCESSBOT_TICK_SECONDS", "5")
    monkeypatch.setenv("ACCESSBOT_LOG_FORMAT", "xml")
    assert main(["serve"]) == 2
    assert "ACCESSBOT_LOG_FORMAT: Input should be 'text' or 'json'" in capsys.readouterr().err


def test_missing_policy_file_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    assert main(["serve"]) == 2
    assert "cannot read the policy file policy.yml" in capsys.readouterr().err


def test_audit_refuses_a_missing_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ACCESSBOT_DATABASE", str(tmp_path / "nope.sqlite3"))
    assert main(["audit", "verify"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite3").exists()


def test_invalid_policy_names_the_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("applications:\n  - name: Bad Name\n    owners: []\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "applications.0.name" in err and "applications.0.owners" in err


def test_an_unknown_offboarding_object_is_refused_at_load_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "applications:\n  - name: sales\n    owners: [U0OMAR]\n    admins: [U0ADA]\n"
        "    licenses: [Salesforce]\n    profiles: [Sales User]\n"
        "    offboarding:\n      objects: [Account, Acount, Project__c]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "applications.0.offboarding.objects" in err and "unknown object 'Acount'" in err
    assert "Project__c" not in err  # a custom object's API name is fine


def test_check_reports_org_user_budget_rights_and_policy(
    org_server: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org_server.ca_bundle_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy))
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org_server.instance_url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", org_server.access_token)
    code = main(["check"])
    out = capsys.readouterr().out
    assert "Acme Corp" in out
    assert "accessbot@acme.com" in out
    assert "requests left today" in out
    assert "[x]" in out
    assert "not in the org: profile 'Ghost Profile'" in out
    assert code == 1  # the policy names a profile the org lacks


def test_check_warns_when_the_database_is_open_to_others(
    org_server: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY.replace(", Ghost Profile", ""))
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o755)
    database = var / "accessbot.sqlite3"
    database.touch()
    database.chmod(0o644)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org_server.ca_bundle_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy))
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org_server.instance_url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", org_server.access_token)
    monkeypatch.delenv("ACCESSBOT_DATABASE", raising=False)
    assert main(["check"]) == 0  # a warning, not a failed check
    out = capsys.readouterr().out
    assert "var is open to other users (mode 755, should be 700); fix it with: chmod 700 var" in out
    assert "fix it with: chmod 600 var/accessbot.sqlite3" in out

    var.chmod(0o700)
    database.chmod(0o600)
    assert main(["check"]) == 0
    assert "open to other users" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("b" * 64, "is not the one this database's audit log is signed with"),
        ("short", "ACCESSBOT_AUDIT_KEY must be at least 32 characters"),
    ],
)
def test_serve_refuses_an_audit_key_it_cannot_sign_with(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    key: str,
    problem: str,
) -> None:
    database = tmp_path / "accessbot.sqlite3"

    async def signed() -> None:
        async with Database(database, audit_key=b"a" * 64) as db:
            await AuditLog(db).append(request_id=None, actor="bot", action="started")

    asyncio.run(signed())
    (tmp_path / "policy.yml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "ACCESSBOT_DATABASE": str(database),
        "ACCESSBOT_AUDIT_KEY": key,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    assert problem in capsys.readouterr().err


def _run_check(
    org_server: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    policy_text: str,
) -> int:
    policy = tmp_path / "policy.yml"
    policy.write_text(policy_text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org_server.ca_bundle_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("ACCESSBOT_POLICY_FILE", str(policy))
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org_server.instance_url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", org_server.access_token)
    return main(["check"])


UNATTENDED = (
    POLICY.replace(", Ghost Profile", "") + "    offboarding:\n      transfer_to: manager\n"
)


def test_check_says_whether_the_bot_may_transfer_records_and_how_to_add_it(
    org_server: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert _run_check(org_server, monkeypatch, tmp_path, UNATTENDED) == 0
    out = capsys.readouterr().out
    assert (
        "[x] Transfer Record (or Modify All Data; needed: offboarding.transfer_to in sales)" in out
    )

    org = org_server.org
    bot_set = org.id_of("PermissionSet", "AccessBot_Integration")
    org.admin_update("PermissionSet", bot_set, PermissionsTransferAnyEntity=False)
    assert _run_check(org_server, monkeypatch, tmp_path, UNATTENDED) == 1
    out = capsys.readouterr().out
    assert "[ ] Transfer Record (needed: offboarding.transfer_to in sales). To add it: " in out
    assert "tick Transfer Record" in out

    # Without transfer_to it is only needed for Transfer to…: said, but the check passes.
    assert _run_check(org_server, monkeypatch, tmp_path, POLICY.replace(", Ghost Profile", "")) == 0
    out = capsys.readouterr().out
    assert "[ ] Transfer Record (needed for Transfer to… in the admins' DMs). To add it:" in out

    # Modify All Data covers it.
    org.admin_update("PermissionSet", bot_set, PermissionsModifyAllData=True)
    assert _run_check(org_server, monkeypatch, tmp_path, UNATTENDED) == 0
    assert "[x] Transfer Record" in capsys.readouterr().out


def test_check_lists_the_tiers_and_who_approves_them(
    org_server: OrgServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    policy_text = (
        POLICY.replace("Ghost Profile", "Standard User")
        + "    tiers:\n      standard: {required: 1}\n      high:\n        stages:\n"
        "          - {name: owners}\n          - {name: security, approvers: [S0SEC]}\n"
        "    permission_set_groups: [{name: Sales_Bundle, tier: high}]\n"
        "    break_glass: {group: [S0ONCALL]}\n"
    )
    assert _run_check(org_server, monkeypatch, tmp_path, policy_text) == 0
    out = capsys.readouterr().out
    assert "  Tier high: Sales_Bundle (permission set group)\n" in out
    assert "    approved by: 1 of owners (U0OMAR) [owners]; then 1 of S0SEC [security]\n" in out
    assert "  Break-glass (high tier): S0ONCALL for at most 4 hours, reviewed within 1 day\n" in (
        out
    )
