"""``python -m bench.transfer``: hand 50,000 records over, the bot's way and the naive ways.

The bot's way is the transfer flow itself (``run_transfer`` with a real SQLite file): one Bulk
API 2.0 query job lists what the leaver owns, one ingest job moves it. The baselines move the
same kind of records with one PATCH per record (simple-salesforce's ``sf.Account.update``) and
with sObject Collections of 200. Each runs against the simulated org over HTTPS in this
process, and counts the Salesforce API calls the org answered. The per-record baseline runs on
a sample (``--naive-records``) and its time is scaled to the full count, said as such.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests
from simple_salesforce.api import Salesforce

from bot.sandbox.salesforce_org import OrgServer, SimulatedOrg
from handlers.flows.transfer import run_transfer
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway
from storage.db import Database
from storage.transfers import Transfer, Transfers

CALL_TARGET = 20


@dataclass(frozen=True)
class Row:
    """One way of moving the records."""

    how: str
    records: int
    calls: int
    seconds: float
    note: str = ""


@contextlib.contextmanager
def _trusting(server: OrgServer) -> Iterator[None]:
    """requests trusts the simulated org's CA while the block runs (REQUESTS_CA_BUNDLE)."""
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca_bundle_path
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved


def _org() -> tuple[SimulatedOrg, str, str]:
    org = SimulatedOrg()
    org.seed_demo()
    return org, org.id_of("User", "sam.patel@acme.com"), org.id_of("User", "maria.garcia@acme.com")


async def _quiet(_transfer: Transfer) -> None:
    return None


async def bot_way(records: int, directory: Path) -> Row:
    """The transfer flow: list with a Bulk query job, move with one ingest job."""
    org, leaver, successor = _org()
    org.add_records("Account", leaver, records)
    with contextlib.ExitStack() as stack, OrgServer(org) as server:
        stack.enter_context(_trusting(server))
        gateway = SalesforceGateway(
            SalesforceAuth(instance_url=server.instance_url, access_token=server.access_token)
        )
        async with Database(directory / "bench-transfer.sqlite3") as db:
            transfers = Transfers(db)
            transfer = await transfers.create(
                username="sam.patel@acme.com",
                from_user_id=leaver,
                to_user_id=successor,
                objects=("Account",),
                decided_by="bench",
                worker="bench",
                lease=timedelta(minutes=10),
            )
            org.reset_counters()
            started = time.perf_counter()
            done = await run_transfer(gateway, transfers, transfer, progress=_quiet)
            seconds = time.perf_counter() - started
        await gateway.aclose()
        if done.moved != records or org.owned_by("Account", successor) != records:
            raise RuntimeError(f"moved {done.moved} of {records}")
        return Row("bot: Bulk API 2.0 (query job + ingest job)", records, org.api_calls, seconds)


def _client(server: OrgServer) -> Salesforce:
    return Salesforce(
        instance_url=server.instance_url,
        session_id=server.access_token,
        version="62.0",
        session=requests.Session(),
    )


def naive_collections(records: int) -> Row:
    """List with REST query pages, then PATCH 200 records a call."""
    org, leaver, successor = _org()
    ids = org.add_records("Account", leaver, records)
    with contextlib.ExitStack() as stack, OrgServer(org) as server:
        stack.enter_context(_trusting(server))
        sf = _client(server)
        org.reset_counters()
        started = time.perf_counter()
        listed = sf.query_all(f"SELECT Id FROM Account WHERE OwnerId = '{leaver}'")  # noqa: S608
        assert len(listed["records"]) == len(ids)
        for n in range(0, records, 200):
            batch = [
                {"attributes": {"type": "Account"}, "id": i, "OwnerId": successor}
                for i in ids[n : n + 200]
            ]
            sf.restful(
                "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": batch}
            )
        seconds = time.perf_counter() - started
        return Row("naive: sObject Collections, 200 a call", records, org.api_calls, seconds)


def naive_per_record(records: int, sample: int) -> Row:
    """One PATCH per record on a sample; calls and time scaled to ``records``."""
    org, leaver, successor = _org()
    ids = org.add_records("Account", leaver, sample)
    with contextlib.ExitStack() as stack, OrgServer(org) as server:
        stack.enter_context(_trusting(server))
        sf = _client(server)
        org.reset_counters()
        started = time.perf_counter()
        for record_id in ids:
            sf.Account.update(record_id, {"OwnerId": successor})  # type: ignore[operator]
        seconds = time.perf_counter() - started
    scale = records / sample
    note = f"measured on {sample:,} records, scaled" if sample != records else ""
    return Row(
        "naive: one PATCH per record", records, round(org.api_calls * scale), seconds * scale, note
    )


def table(rows: list[Row]) -> str:
    """Markdown rows: how, records, Salesforce calls, wall time."""
    lines = [
        "| how | records | Salesforce API calls | wall time |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        note = f" ({row.note})" if row.note else ""
        lines.append(
            f"| {row.how}{note} | {row.records:,} | {row.calls:,} | {row.seconds:,.1f} s |"
        )
    return "\n".join(lines)


async def transfer_rows(records: int, sample: int, directory: Path) -> list[Row]:
    """The bot's way, then sObject Collections, then one PATCH per record (on ``sample``)."""
    rows = [await bot_way(records, directory)]
    rows.append(await asyncio.to_thread(naive_collections, records))
    rows.append(await asyncio.to_thread(naive_per_record, records, min(sample, records)))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the three ways and print the table; fail when the bot's way costs too many calls."""
    parser = argparse.ArgumentParser(prog="python -m bench.transfer")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--naive-records", type=int, default=5_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        rows = asyncio.run(transfer_rows(args.records, args.naive_records, Path(tmp)))
    print(table(rows))
    if rows[0].calls > CALL_TARGET:
        print(f"bench: the bot used {rows[0].calls} calls (> {CALL_TARGET})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
