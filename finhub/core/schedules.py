"""Periodic tasks as data: each app lists its schedules in a ``schedules.py`` module.

``schedules_sync`` creates the django-celery-beat rows that are missing and leaves existing
ones alone, so an interval changed in the admin survives the next deploy.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None  # minute/hour/day_of_week/day_of_month/month_of_year
    kwargs: dict[str, object] = field(default_factory=dict)  # the task's JSON kwargs
    why: str = ""


SCHEDULES = [
    ScheduleSpec(
        name="core: scheduler heartbeat",
        task="finhub.core.tasks.heartbeat",
        every_seconds=30,
        kwargs={"source": "beat"},
        # /readyz calls the scheduler stale after 120 s: 30 s leaves three misses of slack.
        why="Proves beat and a worker are alive; /readyz reports its age.",
    ),
]
