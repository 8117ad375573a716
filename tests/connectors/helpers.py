"""Helpers shared by the connector and API tests: tokens, signed requests, sample records."""

import json

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from connectors.services import api_token_create
from tests.factories import ConnectorFactory


def make_token(
    connector=None,
    *,
    entities=("gl_lines",),
    can_write=True,
    can_read=False,
    scopes=(),
    name="integration",
):
    """An API token and its plaintext (``fh_…``)."""
    connector = connector or ConnectorFactory()
    return api_token_create(
        connector=connector,
        name=name,
        allowed_entities=list(entities),
        can_read=can_read,
        can_write=can_write,
        scopes=list(scopes),
    )


def bearer(plaintext: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def gl_line(external_id: str, amount="100.00", **fields) -> dict:
    return {
        "external_id": external_id,
        "account": "4000",
        "posting_date": "2026-01-15",
        "amount": amount,
        "currency": "EUR",
        **fields,
    }


def post_json(client, url: str, body, *, token: str | None = None, raw: str | None = None, **extra):
    """POST ``body`` as JSON (or ``raw`` text as is) with an optional bearer token."""
    headers = bearer(token) if token else {}
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers, **extra)


def reset_throttles() -> None:
    """Forget throttle counters (ids repeat across rolled-back tests on SQLite).

    On Redis only the throttle keys go: other processes may share that cache.
    """
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(None, write=True)
        for key in client.scan_iter(match=backend.make_key("throttle_*")):
            client.delete(key)
    else:
        backend.clear()
