"""Periodic tasks of the metrics app (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="metrics: nightly recompute",
        task="metrics.tasks.compute_metrics",
        crontab={"minute": "30", "hour": "2"},
        # The reports are monthly and daily figures read the next morning; connectors also
        # trigger a recompute after each successful sync, so nightly only has to catch changes
        # made outside syncs (imports, admin edits, FX rates) and roll the period over at the
        # day boundary. 02:30 runs after the nightly syncs and before anyone reads dashboards.
        why="Recomputes every metric snapshot and pushes the scorecard measurements.",
    ),
]
