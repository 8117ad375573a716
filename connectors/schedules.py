"""Periodic tasks of the connectors app (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="connectors: purge expired idempotency keys",
        task="connectors.tasks.idempotency_keys_purge_expired",
        every_seconds=3600,
        # Keys must live at least 24 h; hourly keeps the table near one day of keys without
        # a DELETE per request, and a missed run only delays the cleanup.
        why="Deletes Idempotency-Key records past their 24 h expiry.",
    ),
]
