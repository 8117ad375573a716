"""A connector's sync schedule: one django-celery-beat PeriodicTask, edited from the admin.

Beat reads PeriodicTask rows from the database (DatabaseScheduler) and reloads them when one
changes, so editing a connector's schedule changes when its next sync fires without a deploy.
The task is linked through ``Connector.periodic_task`` and named after the connector's slug.
"""

import json
from dataclasses import dataclass

from celery.schedules import crontab as celery_crontab
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from connectors.models import Connector

SYNC_TASK = "connectors.tasks.sync_schedule_fire"
NONE = "none"
INTERVAL = "interval"
CRONTAB = "crontab"
SCHEDULE_KINDS = [
    (NONE, "No schedule (manual syncs only)"),
    (INTERVAL, "Every N minutes"),
    (CRONTAB, "Crontab expression"),
]
# "m h dom mon dow", the order everyone knows from crontab(5).
CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
_CRONTAB_LABELS = {
    "minute": "minute (0-59)",
    "hour": "hour (0-23)",
    "day_of_month": "day of month (1-31)",
    "month_of_year": "month (1-12)",
    "day_of_week": "day of week (0-6 or sun-sat)",
}
_PERIOD_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class ConnectorSchedule:
    """What the admin form shows: the kind and its one parameter."""

    kind: str = NONE
    every_minutes: int | None = None
    crontab: str = ""


def periodic_task_name(connector: Connector) -> str:
    return f"connector sync: {connector.slug}"


def crontab_parse(expression: str) -> dict[str, str]:
    """``"m h dom mon dow"`` -> CrontabSchedule field values, or ValidationError naming the
    field that is wrong and why."""
    parts = (expression or "").split()
    if len(parts) != len(CRONTAB_FIELDS):
        raise ValidationError(
            f"Enter five fields separated by spaces: minute hour day-of-month month "
            f"day-of-week, e.g. '*/15 * * * *' or '0 6 * * mon-fri' "
            f"(got {len(parts)} field{'' if len(parts) == 1 else 's'}).",
            code="crontab_fields",
        )
    values = dict(zip(CRONTAB_FIELDS, parts, strict=True))
    for field, value in values.items():
        try:
            # Celery's own parser, one field at a time so the error can name the field.
            celery_crontab(**{field: value})
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"Invalid {_CRONTAB_LABELS[field]} {value!r}: {exc}", code="crontab_value"
            ) from exc
    return values


def connector_schedule(connector: Connector) -> ConnectorSchedule:
    """The connector's current schedule, read from its periodic task."""
    task = connector.periodic_task
    if task is None:
        return ConnectorSchedule()
    if task.interval_id is not None:
        interval = task.interval
        seconds = interval.every * _PERIOD_SECONDS.get(interval.period, 0)
        if seconds and seconds % 60 == 0:
            return ConnectorSchedule(kind=INTERVAL, every_minutes=seconds // 60)
    if task.crontab_id is not None:
        cron = task.crontab
        expression = " ".join(str(getattr(cron, field)) for field in CRONTAB_FIELDS)
        return ConnectorSchedule(kind=CRONTAB, crontab=expression)
    return ConnectorSchedule()


@transaction.atomic
def connector_schedule_set(
    *, connector: Connector, kind: str, every_minutes: int | None = None, crontab: str = ""
):
    """Create, update or delete the connector's periodic sync task; returns it (or None).

    The task keeps its last_run_at across edits, so beat measures the new interval from the
    last time it fired (an interval shortened below the time already elapsed fires at once).
    """
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    task = connector.periodic_task
    if kind == NONE:
        if task is not None:
            connector.periodic_task = None
            connector.save(update_fields=["periodic_task", "updated_at"])
            task.delete()
        return None

    if kind == INTERVAL:
        if not every_minutes or every_minutes < 1:
            raise ValidationError("The interval must be at least 1 minute.", code="interval")
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every_minutes, period=IntervalSchedule.MINUTES
        )
        schedule = {"interval": interval, "crontab": None}
    elif kind == CRONTAB:
        cron, _ = CrontabSchedule.objects.get_or_create(
            **crontab_parse(crontab), timezone=settings.CELERY_TIMEZONE
        )
        schedule = {"interval": None, "crontab": cron}
    else:
        raise ValidationError(f"Unknown schedule kind {kind!r}.", code="kind")

    if task is None:
        # A task left behind by a deleted connector with the same slug is taken over.
        task = PeriodicTask.objects.filter(name=periodic_task_name(connector)).first()
        task = task or PeriodicTask(name=periodic_task_name(connector))
    task.name = periodic_task_name(connector)
    task.task = SYNC_TASK
    task.kwargs = json.dumps({"connector_id": connector.pk})
    task.interval = schedule["interval"]
    task.crontab = schedule["crontab"]
    task.enabled = connector.enabled
    task.description = f"Scheduled sync of {connector.name} (edit it on the connector's admin)."
    task.save()
    if connector.periodic_task_id != task.pk:
        connector.periodic_task = task
        connector.save(update_fields=["periodic_task", "updated_at"])
    return task


def connector_schedule_delete(*, connector: Connector) -> None:
    """Remove the connector's periodic task (before the connector itself is deleted)."""
    connector_schedule_set(connector=connector, kind=NONE)
