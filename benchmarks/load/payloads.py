"""The write requests of the load test: ingest pushes and signed webhook deliveries.

Plain functions with no Django import: the locustfile builds its requests with them, and the
tests send the same requests through Django's test client to the real views. Every push gets
a fresh Idempotency-Key and external ids, every delivery a fresh event id, so no request of
a run collides with another (each one writes, none is a replay).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from connectors.webhooks import SIGNATURE_HEADER, signature_header

INGEST_PATH = "/api/v1/ingest/gl_lines/"


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready to send, with the name its statistics are grouped under."""

    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def gl_lines(
    *,
    tag: str,
    count: int,
    accounts: list[str],
    departments: list[str],
    posting_date: dt.date,
    currency: str = "USD",
) -> list[dict]:
    """``count`` ledger lines with external ids ``<tag>-<n>``; amounts as exact decimal text."""
    if count < 1 or not accounts or not departments:
        raise ValueError("need at least one line, one account and one department")
    return [
        {
            "external_id": f"{tag}-{n}",
            "account": accounts[n % len(accounts)],
            "department": departments[n % len(departments)],
            "posting_date": posting_date.isoformat(),
            # Cents from the tag and the line number: varied, exact, never zero.
            "amount": str(Decimal(100 + (n * 7919 + len(tag)) % 900_000).scaleb(-2)),
            "currency": currency,
            "description": f"Load test {tag} line {n}",
        }
        for n in range(count)
    ]


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def ingest_push(
    *,
    token: str,
    accounts: list[str],
    departments: list[str],
    posting_date: dt.date,
    lines: int = 20,
    tag: str | None = None,
) -> PreparedRequest:
    """``POST /api/v1/ingest/gl_lines/`` of ``lines`` new lines under a unique Idempotency-Key."""
    tag = tag or f"lt-{uuid.uuid4().hex}"
    records = gl_lines(
        tag=tag, count=lines, accounts=accounts, departments=departments, posting_date=posting_date
    )
    return PreparedRequest(
        name=INGEST_PATH,
        method="POST",
        path=INGEST_PATH,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": tag,
        },
        body=_json(records),
    )


def webhook_delivery(
    *,
    slug: str,
    secret: str,
    accounts: list[str],
    departments: list[str],
    posting_date: dt.date,
    lines: int = 5,
    event_id: str | None = None,
    timestamp: int | None = None,
) -> PreparedRequest:
    """A signed ``gl_lines`` event for ``/api/v1/webhooks/<slug>/`` with a unique event id."""
    event_id = event_id or f"lt-evt-{uuid.uuid4().hex}"
    body = _json(
        {
            "id": event_id,
            "type": "gl_lines",
            "data": gl_lines(
                tag=event_id,
                count=lines,
                accounts=accounts,
                departments=departments,
                posting_date=posting_date,
            ),
        }
    )
    return PreparedRequest(
        name="/api/v1/webhooks/<connector>/",
        method="POST",
        path=f"/api/v1/webhooks/{slug}/",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(secret=secret, body=body, timestamp=timestamp),
        },
        body=body,
    )
