"""A REST call and its answer, as the simulated org's dispatcher passes them around."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RestResult:
    """A status, a JSON body (None for 204; text for another content type) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class Call:
    """One REST call below /services/data/vXX.X/, made by the user ``caller``."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    version: str
    caller: str
