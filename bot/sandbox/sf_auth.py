"""Sessions of the simulated org: OAuth token grants, legacy SOAP login(), userinfo."""

from __future__ import annotations

import base64
import html
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bot.sandbox.sf_store import Store

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SOAP_LOGIN_LAST_VERSION = 64.0
_SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
    "<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail>"
    '<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
    "<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail>"
    "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)
_SOAP_OK = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
    "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
    "<serverUrl>{instance}/services/Soap/u/{version}/{org}</serverUrl>"
    "<sessionId>{token}</sessionId><userId>{user}</userId></result></loginResponse>"
    "</soapenv:Body></soapenv:Envelope>"
)


@dataclass(frozen=True)
class ConnectedApp:
    """An External Client App: a key, and a secret and/or a certificate; ``run_as`` for client
    credentials."""

    consumer_key: str
    consumer_secret: str | None = None
    certificate_pem: str | None = None
    run_as: str | None = None


class OrgAuth:
    """Issues and checks access tokens; thread-safe."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self._apps: dict[str, ConnectedApp] = {}
        self._passwords: dict[str, str] = {}

    def org_id(self) -> str:
        """The org's Id (tokens start with it, as real ones do)."""
        orgs = self._store.rows("Organization")
        return str(orgs[0]["Id"]) if orgs else "00D000000000000AAA"

    def issue(self, user_id: str) -> str:
        """A fresh access token acting as ``user_id``."""
        token = f"{self.org_id()[:15]}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens[token] = user_id
        return token

    def caller(self, authorization: str | None) -> str | None:
        """The user a ``Bearer`` header acts as, or None when the session is unknown/expired."""
        if not authorization or not authorization.startswith(("Bearer ", "OAuth ")):
            return None
        with self._lock:
            return self._tokens.get(authorization.split(" ", 1)[1].strip())

    def expire_all(self) -> None:
        """Invalidate every issued token (as a session timeout or a revoked app would)."""
        with self._lock:
            self._tokens.clear()

    def register_app(self, app: ConnectedApp) -> None:
        """Allow token grants for this consumer key."""
        with self._lock:
            self._apps[app.consumer_key] = app

    def set_password(self, username: str, password_and_token: str) -> None:
        """What SOAP login() accepts for ``username``: password immediately followed by token."""
        with self._lock:
            self._passwords[username.casefold()] = password_and_token

    def _active_user(self, username: str | None) -> dict[str, Any] | None:
        user = self._store.user_by_username(username) if username else None
        return user if user is not None and user["IsActive"] else None

    def token_grant(
        self, form: Mapping[str, str], authorization: str | None, instance_url: str
    ) -> tuple[int, dict[str, Any]]:
        """POST /services/oauth2/token for the JWT bearer and client-credentials grants."""
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            user, error = self._jwt_user(form.get("assertion", ""))
        elif grant == "client_credentials":
            user, error = self._client_credentials_user(form, authorization)
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }
        if user is None:
            return 400, error
        return 200, {
            "access_token": self.issue(str(user["Id"])),
            "instance_url": instance_url,
            "id": f"https://login.salesforce.com/id/{self.org_id()}/{user['Id']}",
            "token_type": "Bearer",
            "scope": "api",
            "issued_at": "1700000000000",
        }

    def _jwt_user(self, assertion: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
        invalid = {"error": "invalid_grant", "error_description": "invalid assertion"}
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None, invalid
        app = self._apps.get(str(issuer))
        if app is None:
            return None, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            }
        if app.certificate_pem is None:
            return None, invalid
        try:
            claims = jwt.decode(
                assertion,
                _public_key(app.certificate_pem),
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError:
            return None, invalid
        if not str(claims["aud"]).startswith("https://") or not str(claims["aud"]).endswith(
            ".salesforce.com"
        ):
            return None, {"error": "invalid_grant", "error_description": "audience is invalid"}
        user = self._active_user(str(claims["sub"]))
        if user is None:
            return None, {
                "error": "invalid_grant",
                "error_description": "user hasn't approved this consumer",
            }
        return user, {}

    def _client_credentials_user(
        self, form: Mapping[str, str], authorization: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        key, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            key, _, secret = decoded.partition(":")
        app = self._apps.get(key or "")
        if (
            app is None
            or app.consumer_secret is None
            or not secrets.compare_digest(app.consumer_secret, secret or "")
        ):
            return None, {
                "error": "invalid_client",
                "error_description": "invalid client credentials",
            }
        user = self._active_user(app.run_as)
        if user is None:
            return None, {
                "error": "invalid_grant",
                "error_description": "no client credentials user enabled",
            }
        return user, {}

    def soap_login(self, envelope: str, version: str, instance_url: str) -> tuple[int, str]:
        """POST /services/Soap/u/{version}: the legacy username + password(+token) login()."""
        if float(version) > SOAP_LOGIN_LAST_VERSION:
            message = f"SOAP login() is not available in API version {version} and later"
            return 500, _SOAP_FAULT.format(code="UNSUPPORTED_API_VERSION", message=message)
        username = _element(envelope, "username")
        password = _element(envelope, "password")
        with self._lock:
            expected = self._passwords.get(username.casefold())
        user = self._active_user(username)
        if user is None or expected is None or not secrets.compare_digest(expected, password):
            message = "Invalid username, password, security token; or user locked out."
            return 500, _SOAP_FAULT.format(code="INVALID_LOGIN", message=message)
        token = self.issue(str(user["Id"]))
        return 200, _SOAP_OK.format(
            instance=instance_url, version=version, org=self.org_id(), token=token, user=user["Id"]
        )

    def userinfo(self, user_id: str) -> dict[str, Any]:
        """GET /services/oauth2/userinfo for the token's user."""
        user = self._store.get("User", user_id) or {}
        return {
            "sub": f"https://login.salesforce.com/id/{self.org_id()}/{user_id}",
            "user_id": user_id,
            "organization_id": self.org_id(),
            "preferred_username": user.get("Username"),
            "name": user.get("Name"),
            "email": user.get("Email"),
            "active": bool(user.get("IsActive")),
            "user_type": "STANDARD",
        }


def _element(envelope: str, name: str) -> str:
    match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", envelope, re.DOTALL)
    return html.unescape(match.group(1)) if match else ""


def _public_key(pem: str) -> Any:
    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)
