"""Celery tasks of the reports app: thin, safe to run twice (a schedule run is claimed)."""

from celery import shared_task

from reports import services


# A pack mail an hour late is still wanted; a backlog older than that is dropped (beat also
# sets the same expiry on the messages it sends, PeriodicTask.expire_seconds).
@shared_task(acks_late=True, expires=services.SCHEDULE_EXPIRE_SECONDS)
def pack_schedule_run(schedule_id: int) -> str:
    """Generate and mail the pack of one PackSchedule (its beat task calls this)."""
    return services.pack_schedule_run(schedule_id=schedule_id)


# Tomorrow's run deletes whatever today's missed: no point keeping a stale message.
@shared_task(acks_late=True, expires=6 * 3600)
def archive_prune() -> int:
    """Delete archived report files older than the retention (FINHUB_REPORT_RETENTION_DAYS)."""
    return services.archive_prune()
