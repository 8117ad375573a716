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
    ScheduleSpec(
        name="connectors: push API reliability",
        task="connectors.tasks.api_reliability_measure",
        crontab={"minute": "5", "hour": "0"},
        # Every finished sync pushes it too; the daily push keeps the 30-day window rolling
        # (old days leave it) and the scorecard fresh on days without a sync. Just after
        # midnight: the measurement is about the new day.
        why="Pushes API reliability over the last 30 days to the scorecard.",
    ),
]
