"""Reads the access policy YAML, names the field that is wrong, and reloads it when it changes."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import ValidationError

from handlers.policy import Policy

log = logging.getLogger(__name__)


class PolicyError(Exception):
    """The policy file is missing or invalid; the message names the file and the field."""


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate policy YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"{source} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source} must be a mapping with an 'applications' list")
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(f"{source} is invalid:\n{_describe(error)}") from None


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the policy file {path}: {error.strerror}") from None
    return parse_policy(text, str(path))


class PolicyFile:
    """The current policy; a changed file is picked up on the next read, a broken one is logged."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._policy = load_policy(path)
        self._mtime = path.stat().st_mtime_ns

    def __call__(self) -> Policy:
        """The policy as of the file's last valid version."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except OSError:
            return self._policy
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self._policy = load_policy(self._path)
                log.info("policy reloaded from %s", self._path)
            except PolicyError as error:
                log.error("keeping the previous policy: %s", error)
        return self._policy
