"""Failures the simulated org can be told to produce, and holds that park requests mid-call."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """The ways a real org (or the network in front of it) lets a caller down."""

    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    DROP = "drop"
    REQUEST_LIMIT = "request_limit"
    ERROR = "error"


_BODIES: dict[FaultKind, tuple[int, list[dict[str, Any]]]] = {
    FaultKind.SERVER_ERROR: (
        500,
        [
            {
                "errorCode": "UNKNOWN_EXCEPTION",
                "message": "An unexpected error occurred. Please include this ErrorId if you "
                "contact support: 1933216466-12345 (-1104624211)",
            }
        ],
    ),
    FaultKind.UNAVAILABLE: (
        503,
        [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable"}],
    ),
    FaultKind.REQUEST_LIMIT: (
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    ),
}


@dataclass(frozen=True)
class Fault:
    """What to do with one request instead of (or before) answering it."""

    kind: FaultKind
    status: int = 0
    body: Any = None
    hold_seconds: float = 0.0


@dataclass
class _Rule:
    fault: Fault
    path: str | None
    remaining: int | None
    rate: float = 1.0


class Faults:
    """Queued and random faults; the HTTP layer asks ``take(path)`` for every data request."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)

    def inject(
        self, kind: FaultKind, *, count: int = 1, path: str | None = None, hold: float = 5.0
    ) -> None:
        """Fail the next ``count`` requests (whose path contains ``path``) this way.

        A TIMEOUT holds the request ``hold`` seconds, longer than the client waits, and then
        answers normally: the change may land although the caller gave up.
        """
        self._add(_Rule(_fault(kind, hold), path, count))

    def fail_next(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        fields: tuple[str, ...] = (),
        count: int = 1,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with this REST error body."""
        body = [{"message": message, "errorCode": error_code, "fields": list(fields)}]
        self._add(_Rule(Fault(FaultKind.ERROR, status, body), path, count))

    def set_rate(
        self, kind: FaultKind, rate: float, *, path: str | None = None, hold: float = 5.0
    ) -> None:
        """Fail a seeded-random share ``rate`` (0..1) of matching requests from now on."""
        self._add(_Rule(_fault(kind, hold), path, None, rate))

    def clear(self) -> None:
        """Forget every queued and random fault."""
        with self._lock:
            self._rules.clear()

    def take(self, path: str) -> Fault | None:
        """The fault for this request, if any (consumes one queued use)."""
        with self._lock:
            for rule in self._rules:
                if rule.path is not None and rule.path not in path:
                    continue
                if rule.remaining is None:
                    if self._random.random() < rule.rate:
                        return rule.fault
                    continue
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return rule.fault
        return None

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)


def _fault(kind: FaultKind, hold: float) -> Fault:
    if kind in _BODIES:
        status, body = _BODIES[kind]
        return Fault(kind, status, body)
    if kind is FaultKind.ERROR:
        raise ValueError("use fail_next() to answer with a specific error body")
    return Fault(kind, hold_seconds=hold)


@dataclass
class Hold:
    """Parks requests whose path contains ``path`` until ``release()``.

    With ``after_apply`` the change is made first and only the answer waits: the caller can
    die after Salesforce applied the change but before it heard so. With ``body_has`` only a
    request whose JSON body contains that text is parked (one composite among several).
    """

    path: str
    after_apply: bool = False
    body_has: str | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0

    def matches(self, path: str, body: Any) -> bool:
        """Whether a request to ``path`` with ``body`` is one this hold parks."""
        if self.path not in path or self.released.is_set():
            return False
        return self.body_has is None or self.body_has in json.dumps(body)

    def release(self) -> None:
        """Let every parked (and later) matching request answer."""
        self.released.set()

    def wait_arrived(self, timeout: float = 5.0) -> bool:
        """Block until a matching request is parked; False on timeout."""
        return self.arrived.wait(timeout)
