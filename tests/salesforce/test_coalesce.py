"""Concurrent bulk calls share rounds; each caller still gets exactly its own answers."""

from __future__ import annotations

import asyncio

import pytest

from salesforce.coalesce import Coalescer
from salesforce.errors import Transient


class Recorder:
    """An action that records each round and can be held open or made to fail."""

    def __init__(self) -> None:
        self.rounds: list[list[str]] = []
        self.gate = asyncio.Event()
        self.fail_next = False

    async def __call__(self, keys: list[str]) -> dict[str, str]:
        self.rounds.append(keys)
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise Transient("Salesforce is busy")
        return {key: f"done:{key}" for key in keys}


async def test_a_lone_call_runs_at_once_with_its_own_keys() -> None:
    action = Recorder()
    action.gate.set()
    assert await Coalescer(action).run(["a", "b"]) == {"a": "done:a", "b": "done:b"}
    assert action.rounds == [["a", "b"]]


async def test_calls_made_while_one_runs_share_the_next_round() -> None:
    action = Recorder()
    bulk = Coalescer(action)
    first = asyncio.create_task(bulk.run(["a"]))
    await asyncio.sleep(0)
    later = [asyncio.create_task(bulk.run([key])) for key in ("b", "c", "b")]
    await asyncio.sleep(0)
    action.gate.set()
    assert await first == {"a": "done:a"}
    assert [await task for task in later] == [{"b": "done:b"}, {"c": "done:c"}, {"b": "done:b"}]
    assert action.rounds == [["a"], ["b", "c"]]


async def test_a_failed_round_fails_only_its_callers() -> None:
    action = Recorder()
    bulk = Coalescer(action)
    action.fail_next = True
    first = asyncio.create_task(bulk.run(["a"]))
    await asyncio.sleep(0)
    second = asyncio.create_task(bulk.run(["b"]))
    await asyncio.sleep(0)
    action.gate.set()
    with pytest.raises(Transient):
        await first
    assert await second == {"b": "done:b"}


async def test_a_caller_that_gives_up_leaves_the_round_running() -> None:
    action = Recorder()
    bulk = Coalescer(action)
    impatient = asyncio.create_task(bulk.run(["a"]))
    await asyncio.sleep(0)
    patient = asyncio.create_task(bulk.run(["b"]))
    await asyncio.sleep(0)
    impatient.cancel()
    action.gate.set()
    assert await patient == {"b": "done:b"}
    assert action.rounds == [["a"], ["b"]]
