"""Why Salesforce refused a deactivation, in plain words, with what an admin changes in Setup."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from salesforce.models import Blocker


class BlockerInfo(BaseModel):
    """A classified blocker."""

    model_config = ConfigDict(frozen=True)

    blocker: Blocker
    explanation: str
    fix: str
    setup: tuple[str, ...] = ()  # where in Setup, the only place it can change


# Where each blocker is changed: settings only Setup can change, by their Setup path.
SETUP_PATHS: dict[Blocker, tuple[str, ...]] = {
    Blocker.LAST_ADMIN: (
        "Setup > Administration > Users > Users (activate another System Administrator)",
    ),
    Blocker.CASE_RULES: (
        "Setup > Feature Settings > Service > Case Assignment Rules",
        "Setup > Feature Settings > Service > Escalation Rules",
    ),
    Blocker.DEFAULT_CASE_OWNER: (
        "Setup > Feature Settings > Service > Support Settings > Default Case Owner",
        "Setup > Feature Settings > Service > Support Settings > Automated Case User",
    ),
    Blocker.DEFAULT_WORKFLOW_USER: (
        "Setup > Process Automation > Process Automation Settings > Default Workflow User",
    ),
    Blocker.LEAD_SETTINGS: (
        "Setup > Feature Settings > Marketing > Lead Settings > Default Lead Owner",
        "Setup > Feature Settings > Marketing > Web-to-Lead > Default Lead Creator",
        "Setup > Feature Settings > Marketing > Lead Assignment Rules",
    ),
    Blocker.HIERARCHY_FIELD: ("Setup > Administration > Users > Users (the users who name them)",),
    Blocker.PORTAL_ADMIN: ("Setup > Feature Settings > Digital Experiences > All Sites",),
    Blocker.APPROVER: ("Setup > Process Automation > Approval Processes",),
}


# (blocker, message patterns, explanation, fix); the first match wins, so specific before general.
_RULES: tuple[tuple[Blocker, tuple[str, ...], str, str], ...] = (
    (
        Blocker.LAST_ADMIN,
        (r"last (active )?admin", r"at least one active admin"),
        "They are the last active System Administrator.",
        "Activate another System Administrator first (Setup > Users), then retry.",
    ),
    (
        Blocker.CASE_RULES,
        (r"case assignment or escalation rule", r"escalation rule", r"case assignment rule"),
        "Case assignment or escalation rules send cases to them.",
        "Edit the rule entries that name them (Setup > Case Assignment Rules / Escalation "
        "Rules), then retry.",
    ),
    (
        Blocker.DEFAULT_CASE_OWNER,
        (r"default owner of cases", r"default case owner", r"automated case user"),
        "They are the default case owner or the Automated Case User.",
        "Pick someone else as Default Case Owner and Automated Case User (Setup > Support "
        "Settings), then retry.",
    ),
    (
        Blocker.DEFAULT_WORKFLOW_USER,
        (r"default workflow user",),
        "They are the Default Workflow User that time-based automation runs as.",
        "Choose another Default Workflow User (Setup > Process Automation Settings), then retry.",
    ),
    (
        Blocker.LEAD_SETTINGS,
        (r"web.to.lead", r"default lead owner", r"lead assignment", r"auto.response"),
        "Lead settings name them: Web-to-Lead default creator, default lead owner, or an "
        "assignment or auto-response rule.",
        "Change the default creator and lead owner (Setup > Lead Settings, Web-to-Lead) and "
        "edit the lead assignment or auto-response rules that name them, then retry.",
    ),
    (
        Blocker.HIERARCHY_FIELD,
        (r"hierarch",),
        "Other users point to them in a custom hierarchy field.",
        "Clear or change that field on the users who reference them (Setup > Users), then retry.",
    ),
    (
        Blocker.PORTAL_ADMIN,
        (r"portal admin",),
        "They are a portal or site administrator.",
        "Choose another administrator in the portal or Experience Cloud site settings, then retry.",
    ),
    (
        Blocker.APPROVER,
        (r"approv", r"email alert", r"workflow (email )?recipient"),
        "They are an approver, delegated approver or workflow recipient.",
        "Replace them in the approval processes and email alerts that name them, and clear "
        "Delegated Approver on other users (Setup > Approval Processes), then retry.",
    ),
)


def classify(message: str, error_code: str = "") -> BlockerInfo:
    """The blocker a refusal message describes; UNKNOWN keeps Salesforce's own words."""
    if error_code == "CANNOT_DISABLE_LAST_ADMIN":
        _, _, explanation, fix = _RULES[0]
        return BlockerInfo(
            blocker=Blocker.LAST_ADMIN,
            explanation=explanation,
            fix=fix,
            setup=SETUP_PATHS[Blocker.LAST_ADMIN],
        )
    for blocker, patterns, explanation, fix in _RULES:
        if any(re.search(p, message, re.IGNORECASE) for p in patterns):
            return BlockerInfo(
                blocker=blocker, explanation=explanation, fix=fix, setup=SETUP_PATHS[blocker]
            )
    return BlockerInfo(
        blocker=Blocker.UNKNOWN,
        explanation=f"Salesforce refused to deactivate them: {message}",
        fix="Remove what Salesforce's message names (in Setup), then retry the revocation.",
    )
