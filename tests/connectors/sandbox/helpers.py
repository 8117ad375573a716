"""A tiny real HTTP client for the sandbox tests (stdlib http.client: no retries, no magic)."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from connectors.sandbox.mappings import SANDBOX_CREDENTIALS
from connectors.sandbox.server import SYSTEMS


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(url: str, method: str = "GET", *, headers=None, body: bytes | None = None, timeout=10):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def erp_token(sandbox) -> str:
    creds = SANDBOX_CREDENTIALS["erp"]
    form = urlencode({"grant_type": "client_credentials", **creds}).encode()
    resp = request(
        sandbox.url + "/erp/oauth/token",
        "POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form,
    )
    assert resp.status == 200, resp.body
    return resp.json()["access_token"]


def auth_headers(sandbox, system: str) -> dict[str, str]:
    creds = SANDBOX_CREDENTIALS[system]
    auth = SYSTEMS[system][1]
    if auth == "oauth2":
        return {"Authorization": f"Bearer {erp_token(sandbox)}"}
    if auth == "bearer":
        return {"Authorization": f"Bearer {creds['token']}"}
    if auth == "basic":
        raw = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}
    return {"X-Api-Key": creds["api_key"]}


def get(sandbox, system: str, endpoint: str, headers=None, timeout=10, **params) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    url = f"{sandbox.base_url(system)}/{endpoint}" + (f"?{query}" if query else "")
    if headers is None:
        headers = auth_headers(sandbox, system)
    return request(url, headers=headers, timeout=timeout)


def fetch_all(sandbox, system: str, resource: str, *, size: int = 7, updated_since=None):
    """Every record of a list endpoint, following cursors or pages; also the page count."""
    headers = auth_headers(sandbox, system)
    records, pages = [], 0
    if SYSTEMS[system][2] == "cursor":
        cursor = None
        while True:
            resp = get(
                sandbox,
                system,
                resource,
                headers=headers,
                limit=size,
                cursor=cursor,
                updated_since=None if cursor else updated_since,
            )
            assert resp.status == 200, resp.body
            body = resp.json()
            pages += 1
            records += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return records, pages
    page = 1
    while True:
        resp = get(
            sandbox,
            system,
            resource,
            headers=headers,
            page=page,
            per_page=size,
            updated_since=updated_since,
        )
        assert resp.status == 200, resp.body
        body = resp.json()
        pages += 1
        records += body["items"]
        if page >= body["total_pages"]:
            return records, pages
        page += 1
