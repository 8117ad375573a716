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
    ScheduleSpec(
        name="connectors: reap lost sync runs",
        task="connectors.tasks.sync_runs_reap",
        every_seconds=60,
        # A run is lost after FINHUB_SYNC_STALE_SECONDS (120 s) without a heartbeat; reaping
        # every minute re-queues it within 3 minutes of the worker's death, and each pass is
        # one indexed query when nothing is stale.
        why="Abandons sync runs whose worker stopped heartbeating and queues a retry that "
        "resumes from the last committed page.",
    ),
]
