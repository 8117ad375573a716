"""Periodic tasks of alerting (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="alerts: evaluate and notify",
        task="alerts.tasks.evaluate_alerts",
        every_seconds=60,
        # Every minute: each rule keeps its own evaluation interval (next_evaluation_at), so
        # the tick only decides who is due; group wait / interval and retries need a clock
        # finer than the shortest of them.
        why="Evaluates the alert rules that are due and sends the notifications they call for.",
    ),
]
