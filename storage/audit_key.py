"""The secret that signs the audit log: each row's HMAC, and the key's fingerprint."""

from __future__ import annotations

import hashlib
import hmac

MAC_ALGORITHM = "hmac-sha256"


class AuditKeyMismatch(ValueError):
    """The configured audit key is not the one the log was signed with."""


def row_mac(key: bytes, digest: str) -> str:
    """The HMAC-SHA256 of a row's chain hash (which covers every row before it)."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it, so a wrong key is told apart from a rewritten log."""
    return hmac.new(key, b"accessbot audit key", hashlib.sha256).hexdigest()[:16]


def same_mac(expected: str, found: str | None) -> bool:
    """Constant-time comparison of two MACs."""
    return found is not None and hmac.compare_digest(expected, found)
