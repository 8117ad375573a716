"""Periodic tasks of the reports app (synced by finhub.core.services.schedules_sync).

The pack schedules' own beat tasks are not listed here: each PackSchedule row creates and
updates its task when it is saved (reports.services.pack_schedule_save).
"""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="reports: prune the archive",
        task="reports.tasks.archive_prune",
        crontab={"minute": "15", "hour": "3"},
        # Retention is counted in days, so daily is exact enough; 03:15 is after the nightly
        # metrics run (02:30) and before the morning's scheduled packs (07:00 by default).
        why="Deletes archived report files and their delivery log older than "
        "FINHUB_REPORT_RETENTION_DAYS.",
    ),
]
