"""Periodic tasks of the records app (synced by finhub.core.services.schedules_sync)."""

from finhub.core.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="records: resolve pending references",
        task="records.tasks.pending_references_resolve_all",
        every_seconds=600,
        # Every write settles its pending references right after it commits; this sweep only
        # repairs what a process killed between a commit and that step left behind. A pass
        # reads the small pending-reference indexes (one query per reference field when
        # nothing is pending), so every 10 minutes is cheap, and bounds how long such a line
        # stays out of figures like budget vs actual.
        why="Resolves pending references whose target record exists (a backstop for a "
        "write interrupted after its commit).",
    ),
]
