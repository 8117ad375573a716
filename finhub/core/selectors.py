"""Reads for the core app: readiness checks."""

import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone

from finhub.core.models import Heartbeat

logger = logging.getLogger(__name__)


def database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row: tuple[int] | None = cursor.fetchone()
            return row == (1,)
    except Exception as exc:  # any driver error means "not ready"
        # The class name only: driver messages can carry host names and user names.
        logger.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return False


def broker_ready() -> bool:
    from finhub.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return True
    except Exception as exc:  # any transport error means "not ready"
        logger.warning("readiness: broker unavailable (%s)", type(exc).__name__)
        return False


def scheduler_heartbeat_age_seconds() -> int | None:
    """Seconds since the beat heartbeat last ran, or None if it never has."""
    try:
        last_seen = Heartbeat.objects.filter(source="beat").values_list("last_seen", flat=True)
        last = last_seen.first()
    except Exception as exc:  # reported as "unknown"; readiness itself does not depend on it
        logger.warning("readiness: heartbeat unreadable (%s)", type(exc).__name__)
        return None
    if last is None:
        return None
    return int((timezone.now() - last).total_seconds())


def readiness_report() -> tuple[bool, dict[str, object]]:
    """(ready, report): ready when the database and the broker answer.

    The scheduler's heartbeat age is reported too but does not fail readiness: the web
    process can serve while a worker restarts. Nothing in the report names hosts or errors.
    """
    database = database_ready()
    broker = broker_ready()
    age = scheduler_heartbeat_age_seconds() if database else None
    stale_after = settings.FINHUB_HEARTBEAT_STALE_SECONDS
    scheduler = "unknown" if age is None else ("ok" if age <= stale_after else "stale")
    ready = database and broker
    return ready, {
        "status": "ok" if ready else "unavailable",
        "checks": {
            "database": "ok" if database else "unavailable",
            "broker": "ok" if broker else "unavailable",
            "scheduler": scheduler,
        },
        "scheduler_heartbeat_age_seconds": age,
    }
