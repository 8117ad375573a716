"""Signed webhooks: verify ``X-FinHub-Signature: t=<unix time>,v1=<hex>`` over the raw body.

``v1`` is HMAC-SHA256 with the connector's webhook secret over ``f"{t}.{raw body}"``
(the Stripe scheme). A timestamp more than ``TOLERANCE_SECONDS`` from now, in either
direction, is refused so a captured delivery cannot be replayed later; within the window the
event id is what stops a replay (connectors.WebhookEvent). Several ``v1`` entries may be
sent (e.g. while a secret is rotated); one matching is enough. Pure functions: no database.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-FinHub-Signature"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature header is missing, malformed, stale or does not match."""


def compute_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on a delivery (used by tests and the docs)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(secret=secret, timestamp=timestamp, body=body)}"


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(f"Malformed {SIGNATURE_HEADER} header: expected t=…,v1=….")
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise SignatureError(f"Malformed {SIGNATURE_HEADER} timestamp.")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(f"{SIGNATURE_HEADER} must carry t=<unix time> and v1=<signature>.")
    return timestamp, signatures


def verify_signature(
    *, secret: str, header: str | None, body: bytes, now: float | None = None
) -> int:
    """Check the header against the body; returns the signed timestamp or raises."""
    if not header:
        raise SignatureError(f"Missing {SIGNATURE_HEADER} header.")
    timestamp, signatures = parse_signature_header(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError(
            f"Signature timestamp is more than {TOLERANCE_SECONDS // 60} minutes from the "
            "server's time; refusing a stale or replayed delivery."
        )
    expected = compute_signature(secret=secret, timestamp=timestamp, body=body)
    # compare_digest on every candidate (no early exit on the first mismatch).
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise SignatureError("Signature does not match the body.")
    return timestamp
