"""Writes for connectors: API tokens, webhook secrets, idempotency keys and webhook events."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connectors import crypto
from connectors.models import ApiToken, Connector, IdempotencyKey

TOKEN_PREFIX = "fh"  # noqa: S105 - the public marker of FinHub tokens, not a secret
# The prefix is 12 hex characters (fits ApiToken.prefix's 16, contains no "_"); the secret
# is 32 random bytes, url-safe base64.
_PREFIX_BYTES = 6
_SECRET_BYTES = 32
# last_used_at is informational: write it at most once a minute per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    """SHA-256 of the secret part: 256 random bits need no slow hash (nothing to brute-force)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_split(plaintext: str) -> tuple[str, str] | None:
    """``fh_<prefix>_<secret>`` -> (prefix, secret), or None when it is not shaped like one."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def api_token_create(
    *,
    connector: Connector,
    name: str,
    allowed_entities: list[str] | None = None,
    can_read: bool = False,
    can_write: bool = True,
    scopes: list[str] | None = None,
    created_by=None,
) -> tuple[ApiToken, str]:
    """Create a token; returns it and its plaintext, which is never stored nor shown again."""
    prefix = secrets.token_hex(_PREFIX_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    token = ApiToken.objects.create(
        connector=connector,
        name=name,
        prefix=prefix,
        key_hash=token_hash(secret),
        allowed_entities=list(allowed_entities or []),
        can_read=can_read,
        can_write=can_write,
        scopes=list(scopes or []),
        created_by=created_by,
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def api_token_issue(*, token: ApiToken) -> str:
    """Give an unsaved or existing token a fresh secret (admin add form); returns the plaintext."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    if not token.prefix:
        token.prefix = secrets.token_hex(_PREFIX_BYTES)
    token.key_hash = token_hash(secret)
    return f"{TOKEN_PREFIX}_{token.prefix}_{secret}"


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: the first revocation time is kept)."""
    if token.revoked_at is None:
        now = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Note that the token was used, at most once per LAST_USED_RESOLUTION (one cheap UPDATE)."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def token_matches(*, token: ApiToken, secret: str) -> bool:
    return hmac.compare_digest(token.key_hash, token_hash(secret))


# --- webhook secrets -----------------------------------------------------------------------


def connector_webhook_secret_rotate(*, connector: Connector) -> str:
    """Generate a new webhook signing secret; returns the plaintext, stored only encrypted."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    connector.webhook_secret_encrypted = crypto.encrypt(secret)
    connector.webhook_secret_set_at = timezone.now()
    connector.save(
        update_fields=["webhook_secret_encrypted", "webhook_secret_set_at", "updated_at"]
    )
    return secret


def connector_webhook_secret(*, connector: Connector) -> str | None:
    if not connector.webhook_secret_encrypted:
        return None
    return crypto.decrypt(connector.webhook_secret_encrypted)


# --- idempotency keys ------------------------------------------------------------------------


def request_fingerprint(*, method: str, full_path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(full_path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotencyClaim:
    """Outcome of claiming a key: ``claimed`` (run the request) or one of the refusals."""

    outcome: str  # "claimed" | "replay" | "in_progress" | "mismatch"
    record: IdempotencyKey


def idempotency_claim(*, token: ApiToken, key: str, fingerprint: str) -> IdempotencyClaim:
    """Claim ``key`` for this request with an INSERT the unique constraint arbitrates.

    Runs in its own (committed) transaction, so a concurrent request sees the claim at once.
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    token=token, key=key, fingerprint=fingerprint
                )
            return IdempotencyClaim("claimed", record)
        except IntegrityError:
            record = IdempotencyKey.objects.filter(token=token, key=key).first()
            if record is None:
                continue  # released or purged in between: claim again
            if record.expires_at <= timezone.now():
                # Expired but not yet purged: it no longer binds the key.
                IdempotencyKey.objects.filter(pk=record.pk, expires_at__lte=timezone.now()).delete()
                continue
            if record.fingerprint != fingerprint:
                return IdempotencyClaim("mismatch", record)
            if record.status == IdempotencyKey.Status.IN_PROGRESS:
                return IdempotencyClaim("in_progress", record)
            return IdempotencyClaim("replay", record)
    raise RuntimeError("Could not claim the idempotency key")  # pragma: no cover - twice raced


def idempotency_complete(*, record: IdempotencyKey, status: int, body) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        status=IdempotencyKey.Status.DONE, response_status=status, response_body=body
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """The request failed unexpectedly: drop the claim so a retry with the key can run."""
    IdempotencyKey.objects.filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def idempotency_keys_purge(*, now=None) -> int:
    """Delete expired keys; returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lt=now).delete()
    return deleted


# --- webhook events --------------------------------------------------------------------------


def webhook_event_process(
    *, connector: Connector, event_id: str, entity: str, records: list, request_id: str = ""
):
    """Apply a verified webhook event once: its id is recorded in the ingest's transaction.

    Returns the IngestResult, or None when the event id was already processed (nothing is
    written). Raises the engine's IngestRequestError (nothing written, id not recorded).
    """
    from connectors.models import WebhookEvent
    from records.ingestion.services import Actor, ingest_records

    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    connector=connector, event_id=event_id, type=entity
                )
        except IntegrityError:
            return None
        result = ingest_records(
            source=connector,
            entity=entity,
            records=records,
            actor=Actor(request_id=request_id, via="webhook"),
        )
        event.batch_id = result.batch_id
        event.result = {
            key: value
            for key, value in result.as_dict().items()
            if key not in ("errors", "waiting")  # the counts; the rows are in the batch
        }
        event.save(update_fields=["batch_id", "result"])
        records_pushed(connector_id=connector.pk, result=result)
    return result


def records_pushed(*, connector_id: int, result) -> None:
    """After a push (API or webhook) that changed records, ask for the same debounced
    recompute a sync asks for, so the pushed figures reach the dashboards without waiting
    for the nightly run. A dry run or a push that changed nothing asks for nothing."""
    from records.signals import records_synced

    if result.batch_id is not None and (result.created or result.updated):
        records_synced.send(sender=Connector, connector_id=connector_id)
