"""Periodic tasks of the operations app (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="operations: response time to the scorecard",
        task="operations.tasks.response_time_hourly",
        crontab={"minute": "5"},
        # The scorecard's response time is a rolling 24-hour p95 with an hourly cadence; at
        # five past, the web processes (flushing every FINHUB_TIMING_FLUSH_SECONDS) have
        # stored the hour that just ended.
        why="Pushes the p95 of financial data queries over 24 h (financial_query_response_time) "
        "and prunes request timings past FINHUB_TIMING_RETENTION_DAYS.",
    ),
]
