"""Writes for connectors: API tokens, webhook secrets, idempotency keys, webhook events, the
source API call counts and the API reliability measurement."""

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors import crypto
from connectors.models import ApiToken, Connector, IdempotencyKey, SourceCallDay
from connectors.selectors import api_reliability_overall
from connectors.sync.calls import CallCounts

logger = logging.getLogger(__name__)

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


class IdempotencyClaimLost(Exception):
    """This request's claim was taken over by a retry (it ran past the claim timeout):
    its writes must be rolled back, the retry's are the ones kept."""


def idempotency_claim_timeout() -> timedelta:
    return timedelta(seconds=settings.FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS)


def idempotency_claim(*, token: ApiToken, key: str, fingerprint: str) -> IdempotencyClaim:
    """Claim ``key`` for this request with an INSERT the unique constraint arbitrates.

    Runs in its own (committed) transaction, so a concurrent request sees the claim at once.
    A claim still in progress after the claim timeout belongs to a request that died (its
    database connection crashed before it could complete or release the key): this request
    takes it over with a conditional UPDATE, so of several retries exactly one wins.
    """
    # At most: an expired row deleted, a takeover lost to another retry, the final look.
    for _attempt in range(3):
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
            now = timezone.now()
            if record.expires_at <= now:
                # Expired but not yet purged: it no longer binds the key.
                IdempotencyKey.objects.filter(pk=record.pk, expires_at__lte=now).delete()
                continue
            if record.fingerprint != fingerprint:
                return IdempotencyClaim("mismatch", record)
            if record.status == IdempotencyKey.Status.DONE:
                return IdempotencyClaim("replay", record)
            if now - record.created_at < idempotency_claim_timeout():
                return IdempotencyClaim("in_progress", record)
            if _idempotency_take_over(record=record, now=now):
                logger.warning(
                    "Idempotency-Key %r of token %s: took over a claim left in progress since "
                    "%s (its request died)",
                    key,
                    token.pk,
                    record.created_at.isoformat(),
                )
                return IdempotencyClaim("claimed", record)
            # Another retry took it over, or the request completed meanwhile: look again.
    raise RuntimeError("Could not claim the idempotency key")  # pragma: no cover - raced thrice


def _idempotency_take_over(*, record: IdempotencyKey, now) -> bool:
    """Renew a stale claim for this request; False when it changed since it was read."""
    from connectors.models import idempotency_expiry

    expires_at = idempotency_expiry()
    taken = IdempotencyKey.objects.filter(
        pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS, created_at=record.created_at
    ).update(created_at=now, expires_at=expires_at)
    if taken:
        record.created_at, record.expires_at = now, expires_at
    return bool(taken)


def idempotency_complete(*, record: IdempotencyKey, status: int, body) -> None:
    """Store the response to replay. Call it inside the transaction that writes the
    request's effects, so that a crash leaves both (the retry replays) or neither (the
    retry runs again). Raises IdempotencyClaimLost when a retry took the claim over: the
    caller's transaction must then roll back."""
    completed = IdempotencyKey.objects.filter(
        pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS, created_at=record.created_at
    ).update(status=IdempotencyKey.Status.DONE, response_status=status, response_body=body)
    if not completed:
        raise IdempotencyClaimLost(f"Idempotency-Key {record.key!r} was taken over by a retry.")


def idempotency_release(*, record: IdempotencyKey) -> None:
    """The request failed unexpectedly: drop its claim so a retry with the key can run (a
    completed key, or a claim a retry took over, is left alone)."""
    IdempotencyKey.objects.filter(
        pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS, created_at=record.created_at
    ).delete()


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


# --- API reliability ---------------------------------------------------------------------------

_COUNTED = ("calls", "succeeded", "retried_succeeded", "failed_source", "failed_finhub", "attempts")


def source_calls_record(*, connector_id: int, days: Mapping[dt.date, CallCounts]) -> None:
    """Add a client's call counts to the connector's days: per day one UPDATE adding in SQL
    (``F() + n``: concurrent clients of one connector never lose each other's counts), and
    an INSERT when the day has no row yet (a concurrent insert is caught and added to)."""
    for day, counts in days.items():
        if not counts.calls:
            continue
        values = {name: getattr(counts, name) for name in _COUNTED}
        add = {name: F(name) + value for name, value in values.items()}
        with transaction.atomic():
            if SourceCallDay.objects.filter(connector_id=connector_id, day=day).update(**add):
                continue
            try:
                with transaction.atomic():
                    SourceCallDay.objects.create(connector_id=connector_id, day=day, **values)
            except IntegrityError:  # created meanwhile by another client: add to it
                SourceCallDay.objects.filter(connector_id=connector_id, day=day).update(**add)


API_RELIABILITY_KEY = "api_reliability"
API_RELIABILITY_SOURCE = "auto:connectors.api_reliability"


def api_reliability_push(*, now: dt.datetime | None = None) -> bool:
    """Push API reliability over the last 30 days (all connectors) to the scorecard, about
    today. Returns whether a value was pushed: not when no call was made, nor when the
    programme has no such metric (a FinHub without the roadmap loaded is not an error)."""
    from roadmap.services import MeasurementError, measurement_record

    now = now or timezone.now()
    overall = api_reliability_overall(now=now)
    if overall.reliability_percent is None:
        return False
    note = (
        f"{overall.calls} calls over {overall.days} days, "
        f"{overall.failed_finhub} FinHub-side failures"
    )
    try:
        measurement_record(
            metric_key=API_RELIABILITY_KEY,
            value=overall.reliability_percent,
            measured_at=now,
            source=API_RELIABILITY_SOURCE,
            note=note,
            period=timezone.localdate(now).isoformat(),
        )
    except MeasurementError as exc:
        # Unknown key: the programme is not loaded (or has no such metric).
        logger.info("measurement %s not recorded: %s", API_RELIABILITY_KEY, exc)
        return False
    return True
