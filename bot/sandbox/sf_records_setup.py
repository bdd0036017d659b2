"""Setting up what users hold in a simulated org: owned records, custom objects, queue and
group memberships, pending approvals, and the users who report to them."""

from __future__ import annotations

import re
import threading
from typing import Any

from bot.sandbox.sf_schema import owned_object
from bot.sandbox.sf_store import Store

CUSTOM_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")


class RecordSetup:
    """Admin actions that give users records and memberships (no API calls, thread-safe)."""

    store: Store
    _lock: threading.RLock

    def add_custom_object(self, api_name: str) -> None:
        """Create a custom object ``Name__c`` with an owner, as Setup > Object Manager would."""
        if not CUSTOM_OBJECT.match(api_name):
            raise ValueError(f"a custom object's API name ends in __c: {api_name!r}")
        with self._lock:
            if api_name in self.store.schema:
                return
            customs = sum(1 for name in self.store.schema if name.endswith("__c"))
            prefix = "a0" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[customs]
            self.store.schema[api_name] = owned_object(api_name, prefix)
            self.store.tables[api_name] = {}

    def add_records(self, sobject: str, owner_id: str, count: int, **fields: Any) -> list[str]:
        """``count`` records of ``sobject`` owned by ``owner_id`` (e.g. ``IsClosed=True``)."""
        with self._lock:
            if sobject not in self.store.schema:
                raise KeyError(sobject)
            known = self.store.schema[sobject].fields
            unknown = sorted(set(fields) - set(known))
            if unknown:
                raise KeyError(f"{sobject} has no field {', '.join(unknown)}")
            flags = {f: False for f in known if f.startswith("Is")}
            return [
                self.store.insert(
                    sobject, {**flags, "Name": f"{sobject} {n}", "OwnerId": owner_id, **fields}
                )
                for n in range(1, count + 1)
            ]

    def add_queue(self, name: str, *members: str) -> str:
        """A queue (a Group of Type Queue) with these users as members."""
        return self._group(name, "Queue", members)

    def add_public_group(self, name: str, *members: str) -> str:
        """A public group (a Group of Type Regular) with these users as members."""
        return self._group(name, "Regular", members)

    def _group(self, name: str, kind: str, members: tuple[str, ...]) -> str:
        with self._lock:
            group_id = self.store.insert(
                "Group", {"Name": name, "DeveloperName": name.replace(" ", "_"), "Type": kind}
            )
            for member in members:
                self.store.insert("GroupMember", {"GroupId": group_id, "UserOrGroupId": member})
            return group_id

    def add_pending_approval(self, actor_id: str, target_id: str) -> str:
        """A record submitted for approval that waits on ``actor_id``: one pending work item."""
        with self._lock:
            process = self.store.insert(
                "ProcessInstance", {"TargetObjectId": target_id, "Status": "Pending"}
            )
            return self.store.insert(
                "ProcessInstanceWorkitem",
                {"ProcessInstanceId": process, "ActorId": actor_id, "OriginalActorId": actor_id},
            )

    def owned_by(self, sobject: str, owner_id: str) -> int:
        """How many records of ``sobject`` ``owner_id`` owns (15- or 18-character Id)."""
        with self._lock:
            return sum(
                1 for row in self.store.rows(sobject) if str(row["OwnerId"])[:15] == owner_id[:15]
            )
