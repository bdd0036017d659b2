"""``accessbot check``: can the bot reach Salesforce, and does the org match the policy?"""

from __future__ import annotations

from bot.settings import Settings
from bot.wiring import salesforce_auth
from handlers.approval_rules import Tier
from handlers.durations import duration_label
from handlers.flows.choices import build_choices
from handlers.jobs import CATALOG_REFRESH
from handlers.policy import ITEM_LISTS, Application, Policy
from salesforce.errors import SalesforceError
from salesforce.expiration import HOW_TO_TURN_ON
from salesforce.gateway import SalesforceGateway
from salesforce.identity import TRANSFER_RECORD
from storage.db import Database
from storage.db_files import loose_paths
from storage.kv import JobLeases

HOW_TO_ADD_TRANSFER = (
    "To add it: Setup > Permission Sets > the integration user's permission set > System "
    "Permissions > Edit > tick Transfer Record (it also needs Edit on the objects handed over)"
)


async def run_check(settings: Settings, policy: Policy) -> bool:
    """Print the org, the integration user, the API budget, rights and policy names; ok?"""
    _warn_about_open_database(settings)
    try:
        auth = salesforce_auth(settings)
    except ValueError as error:
        print(f"Salesforce settings: {error}")
        return False
    gateway = SalesforceGateway(auth)
    ok = True
    try:
        identity = await gateway.identity()
        kind = "sandbox" if identity.is_sandbox else "production"
        print(f"Org:              {identity.org_name} ({identity.org_id}, {kind})")
        print(f"Integration user: {identity.integration_username}")
        catalog = await gateway.fetch_catalog()
        await _refresh_catalog_soon(settings)
        budget = gateway.budget()
        if budget is not None:
            print(f"API budget:       {budget.remaining} of {budget.total} requests left today")
        print("Permissions the bot needs:")
        for name, held in (await gateway.permission_check()).items():
            needed, note = _needed(policy, name, held)
            print(f"  [{'x' if held else ' '}] {name}{note}")
            ok = ok and (held or not needed)
        _say_assignment_expiry(catalog.assignment_expiry)
        for app in policy.applications:
            choices = build_choices(app, catalog)
            print(f"Application {app.name}: {len(choices.licenses)} licenses, "
                  f"{len(choices.profiles)} profiles, {len(choices.roles)} roles, "
                  f"{len(choices.permission_sets)} permission sets offered")  # fmt: skip
            for name in choices.missing:
                print(f"  not in the org: {name}")
            for line in approval_lines(app):
                print(f"  {line}")
            ok = ok and not choices.missing
    except SalesforceError as error:
        print(f"Salesforce: {error.human}\n  {error.raw_message}")
        return False
    finally:
        await gateway.aclose()
    print("OK" if ok else "Some checks failed: see above.")
    return ok


def _who(approvers: tuple[str, ...] | None, app: Application) -> str:
    return "owners (" + ", ".join(app.owners) + ")" if approvers is None else ", ".join(approvers)


def approval_lines(app: Application) -> list[str]:
    """Each tier: its items, who approves it and how long it may last; then break-glass."""
    lines: list[str] = []
    for tier in Tier:
        items = [
            f"{name} ({field.removesuffix('s').replace('_', ' ')})"
            for field in ITEM_LISTS
            for name in getattr(app, field)
            if app.tier_of(field, name) is tier
        ]
        if tier is Tier.HIGH and app.high_if_powerful:
            items.append("any permission set granting org-wide powers")
        if tier is Tier.STANDARD:
            items = ["everything not listed under another tier"]
        rule = app.rule_for(tier)
        if not items:
            continue
        if rule.auto_approve:
            who = "approved automatically"
        else:
            who = "; then ".join(
                f"{stage.required} of {_who(stage.approvers, app)}"
                + (f" [{stage.name}]" if rule.stages else "")
                for stage in rule.steps
            )
        cap = f"; at most {duration_label(rule.max_duration)}" if rule.max_duration else ""
        lines.append(f"Tier {tier.value}: {', '.join(items)}")
        lines.append(f"  approved by: {who}{cap}")
    glass = app.break_glass
    if glass is not None:
        channel = f", security channel {glass.security_channel}" if glass.security_channel else ""
        lines.append(
            f"Break-glass (high tier): {', '.join(glass.group)} for at most "
            f"{duration_label(glass.max_duration)}, reviewed within "
            f"{duration_label(glass.review_within)}{channel}"
        )
    return lines


def _needed(policy: Policy, name: str, held: bool) -> tuple[bool, str]:
    """Whether the policy needs the permission ``name``, and what to say beside it."""
    if name == "Manage Roles" and not any(app.roles for app in policy.applications):
        return False, " (not needed: no application assigns roles)"
    if name != TRANSFER_RECORD:
        return True, ""
    unattended = [app.name for app in policy.applications if app.offboarding.transfer_to]
    why = (
        f"needed: offboarding.transfer_to in {', '.join(unattended)}"
        if unattended
        else "needed for Transfer to… in the admins' DMs"
    )
    if held:
        return bool(unattended), f" (or Modify All Data; {why})"
    return bool(unattended), f" ({why}). {HOW_TO_ADD_TRANSFER}"


def _say_assignment_expiry(supported: bool) -> None:
    """Whether Salesforce itself ends time-bound access, and how to make it so."""
    if supported:
        print(
            "Assignment expiry: on: time-bound permission sets and groups are given with an "
            "ExpirationDate, so Salesforce removes them at the end even if the bot is down"
        )
        return
    print(
        "Assignment expiry: off: time-bound access ends only while the bot runs. To have "
        f"Salesforce end it by itself, turn on {HOW_TO_TURN_ON}; the bot sees it at its "
        "next catalog read"
    )


def _warn_about_open_database(settings: Settings) -> None:
    """The database holds who has what: others on the host should not read it."""
    if settings.database_is_postgres:
        return
    for loose in loose_paths(settings.database_path):
        print(
            f"Warning: {loose.path} is open to other users (mode {loose.mode:o}, "
            f"should be {loose.wanted:o}); fix it with: {loose.fix}"
        )


async def _refresh_catalog_soon(settings: Settings) -> None:
    """A running bot re-reads the catalog at its next tick instead of waiting for its turn."""
    if settings.database_is_postgres or settings.database_path.exists():
        async with Database(settings.database) as db:
            await JobLeases(db).make_due(CATALOG_REFRESH)
