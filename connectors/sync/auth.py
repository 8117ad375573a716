"""How a request proves who FinHub is to a source: one ``httpx.Auth`` per auth type.

Credentials travel in headers (or the OAuth2 token request's form body), never in a URL:
httpx logs URLs at INFO. The OAuth2 client-credentials token is fetched from the
connector's ``token_url`` once per run, and fetched again once when the source answers 401
(the token may have expired or been revoked); a second 401 is the source's final word.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator

import httpx

from connectors.credentials import credentials_missing
from connectors.models import Connector

from .errors import ConfigError, SourceAuthError, SourceError, TransientSourceError


class HeaderAuth(httpx.Auth):
    """A fixed header on every request (bearer token or API key)."""

    def __init__(self, name: str, value: str):
        self._name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client credentials: POST the client id and secret to the token URL, then send
    ``Authorization: Bearer <access_token>``; the token is cached until it expires."""

    requires_response_body = True
    # Refresh this long before the token's announced expiry.
    EXPIRY_MARGIN = 30.0

    def __init__(self, token_url: str, client_id: str, client_secret: str):
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._expires_at: float | None = None
        self.fetches = 0  # how many tokens were fetched (tests: cached for the run)

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
        )

    def _store_token(self, response: httpx.Response) -> None:
        self.fetches += 1
        status = response.status_code
        if status in (400, 401, 403):
            raise SourceAuthError(
                f"The source refused the credentials (HTTP {status}) at its token endpoint.",
                status_code=status,
            )
        if status == 429 or status >= 500:
            raise TransientSourceError(
                f"The token endpoint answered HTTP {status}.", status_code=status
            )
        if status != 200:
            raise SourceError(f"The token endpoint answered HTTP {status}.", status_code=status)
        try:
            body = json.loads(response.content)
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise TransientSourceError(
                "The token endpoint answered 200 without a readable access_token."
            ) from None
        if not isinstance(token, str) or not token:
            raise SourceError("The token endpoint answered an empty access_token.")
        self._token = token
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        self._expires_at = (
            time.monotonic() + float(expires_in) - self.EXPIRY_MARGIN
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else None
        )

    def _valid(self) -> bool:
        return self._token is not None and (
            self._expires_at is None or time.monotonic() < self._expires_at
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._valid():
            self._store_token((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            # Refreshed once: an expired or revoked token gets one more chance, no more.
            self._store_token((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


def auth_for(connector: Connector, credentials: dict) -> httpx.Auth | None:
    """The httpx auth for the connector's auth type; ConfigError names what is missing."""
    kind = connector.auth_type
    missing = credentials_missing(connector, credentials)
    if missing:
        raise ConfigError(
            f"Connector {connector.name!r} uses {connector.get_auth_type_display()} but its "
            f"credentials lack: {', '.join(missing)}."
        )
    if kind == Connector.AuthType.NONE:
        return None
    if kind == Connector.AuthType.BEARER:
        return HeaderAuth("Authorization", f"Bearer {credentials['token']}")
    if kind == Connector.AuthType.BASIC:
        return httpx.BasicAuth(credentials["username"], credentials["password"])
    if kind == Connector.AuthType.API_KEY:
        header = (connector.auth_header_name or "").strip()
        if not header:
            raise ConfigError(f"Connector {connector.name!r}: the API key header name is empty.")
        return HeaderAuth(header, credentials["api_key"])
    if kind == Connector.AuthType.OAUTH2:
        if not connector.token_url:
            raise ConfigError(f"Connector {connector.name!r}: OAuth2 needs a token URL.")
        return OAuth2ClientCredentials(
            connector.token_url, credentials["client_id"], credentials["client_secret"]
        )
    raise ConfigError(f"Connector {connector.name!r}: unknown auth type {kind!r}.")
