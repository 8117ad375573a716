"""Background jobs of the operations app (thin: they call services)."""

from celery import shared_task

from operations.services import request_timings_flush, request_timings_prune, response_time_push


# expires: a run stuck behind a backlog is superseded by the next hour's.
@shared_task(name="operations.tasks.response_time_hourly", acks_late=True, expires=3600)
def response_time_hourly() -> dict[str, int | bool]:
    """Store this process's pending timings, push the scorecard's response time and drop
    timings past their retention; safe to run twice (the push records one value per hour)."""
    return {
        "flushed": request_timings_flush(),
        "pushed": response_time_push(),
        "pruned": request_timings_prune(),
    }
