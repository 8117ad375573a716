"""Periodic tasks of the close (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="closing: open last month's close",
        task="closing.tasks.close_open_due",
        crontab={"minute": "0", "hour": "6", "day_of_week": "*"},
        # Daily at 06:00 rather than on a fixed date: working day 1 moves with weekends, and
        # a day the scheduler missed is caught up the next morning (opening is idempotent).
        why="Opens the month-end close of last month on its first working day.",
    ),
]
