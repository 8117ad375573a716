"""Background jobs for connectors (thin: they call services)."""

from celery import shared_task

from connectors.services import idempotency_keys_purge


@shared_task(acks_late=True, expires=3600)
def idempotency_keys_purge_expired() -> int:
    return idempotency_keys_purge()
