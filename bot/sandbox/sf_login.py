"""Point Salesforce login hosts (login/test/My Domain .salesforce.com) at a simulated org."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class LoginRedirect(HTTPAdapter):
    """Sends requests for one host to ``target`` (scheme, host and port) instead, path kept."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the URL to the simulated org and send it there (TLS still verified)."""
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(
            (self.target.scheme, self.target.netloc, parts.path, parts.query, parts.fragment)
        )
        return super().send(request, **kwargs)


def route_logins(
    session: requests.Session, instance_url: str, domains: tuple[str, ...] = ("login", "test")
) -> requests.Session:
    """Mount redirects so OAuth and SOAP logins for ``domains`` reach ``instance_url``."""
    for domain in domains:
        session.mount(f"https://{domain}.salesforce.com/", LoginRedirect(instance_url))
    return session
