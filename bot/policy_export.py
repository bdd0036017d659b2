"""``accessbot policy export``: the effective policy (file plus changes made in Slack) as YAML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml

from handlers.flows.requestable import apply_overrides
from handlers.policy import Policy
from storage.db import Database, is_postgres
from storage.policy_overrides import PolicyOverrides


def _has_database(database: Path | str) -> bool:
    # Exporting must not create a database where there is none (a typo in the path, say).
    return is_postgres(database) or Path(database).is_file()


async def effective_policy(policy: Policy, database: Path | str) -> Policy:
    """``policy`` with the overrides stored in ``database`` (none when it does not exist yet)."""
    if not _has_database(database):
        return policy
    async with Database(database) as db:
        overrides = await PolicyOverrides(db).load()
    return apply_overrides(policy, overrides)


def policy_yaml(policy: Policy, *, source: str = "", at: datetime | None = None) -> str:
    """YAML that reads back to ``policy``; settings left at their defaults are not written."""
    data = policy.model_dump(mode="json", exclude_defaults=True)
    header = ["# Effective access policy: the policy file plus the changes admins made in Slack."]
    if source:
        header.append(f"# Policy file: {source}")
    if at is not None:
        header.append(f"# Exported {at.isoformat(timespec='seconds')}")
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


async def export_policy(
    policy: Policy, database: Path | str, *, source: str = "", at: datetime | None = None
) -> str:
    """The effective policy as YAML, ready to commit in place of the policy file."""
    return policy_yaml(await effective_policy(policy, database), source=source, at=at)
