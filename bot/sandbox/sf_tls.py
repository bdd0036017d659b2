"""TLS for the simulated org: a throwaway CA (trustme) and a server certificate for 127.0.0.1."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server-side context presenting a certificate for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def write_ca_bundle(ca: trustme.CA, directory: Path) -> Path:
    """Write the CA certificate as PEM (a REQUESTS_CA_BUNDLE value) and return its path."""
    path = directory / "simulated-salesforce-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
