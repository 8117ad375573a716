"""Celery tasks of the close: thin, safe to run twice (a task run is claimed first)."""

from celery import shared_task
from django.utils import timezone

from closing import computations, services


# acks_late: a worker lost before the claim leaves the message for another one; after the
# claim the task row says "running" and a redelivery does nothing (retried from the page).
@shared_task(acks_late=True)
def close_task_run(task_id: int) -> str:
    """Run the queued automated close task ``task_id``."""
    task = services.close_task_run(task_id=task_id)
    return task.status if task is not None else "not queued"


# expires: a daily tick stuck behind a backlog is superseded by the next day's.
@shared_task(acks_late=True, expires=12 * 3600)
def close_open_due() -> str:
    """Open last month's close from the default template once its first working day has
    come (idempotent: a close that exists is left alone)."""
    month = computations.close_month_due(timezone.localdate())
    if month is None:
        return "not yet"
    close, opened = services.close_open(month=month)
    return f"{close} {'opened' if opened else 'already open'}"
